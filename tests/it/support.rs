//! `spawn_app`: the real service on port 0, in either shape, with its own
//! database (and stream), so tests run in parallel and read like user stories.

use std::time::Duration;

use callback_listener::config::{Cli, Command};
use callback_listener::roles;
use clap::Parser;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Standalone,
    /// One ingest and one query process against NATS JetStream and Postgres.
    Split,
}

pub struct App {
    /// Where webhooks go (ingest).
    pub ingest: String,
    /// Where the API is (query).
    pub api: String,
    /// Every ingest and every query process (split topologies may have several).
    pub ingests: Vec<String>,
    pub apis: Vec<String>,
    pub client: reqwest::Client,
    /// The split shape's Postgres database.
    database: Option<String>,
    /// The store's URL and (split) the stream name, to inspect after a stop.
    pub database_url: String,
    pub stream: Option<String>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _guards: Vec<Box<dyn std::any::Any + Send>>,
}

async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

fn parse(args: &[&str]) -> Command {
    let mut argv = vec!["callback-listener"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).unwrap().command.unwrap()
}

pub async fn spawn_app(shape: Shape) -> App {
    spawn_app_with(shape, Flags::default()).await
}

/// Extra flags for the processes that take them (standalone takes both).
#[derive(Debug, Default, Clone, Copy)]
pub struct Flags<'a> {
    pub ingest: &'a [&'a str],
    pub query: &'a [&'a str],
    /// Split only: how many ingest and query processes (default one each).
    pub ingests: usize,
    pub queries: usize,
    /// Split only: another NATS server than the shared one.
    pub nats_url: Option<&'a str>,
}

pub async fn spawn_app_with(shape: Shape, flags: Flags<'_>) -> App {
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let mut guards: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
    let mut database = None;
    let database_url: String;
    let mut stream_name = None;
    let (ingests, apis) = match shape {
        Shape::Standalone => {
            let dir = std::env::temp_dir().join(testkit::unique("cl-app-"));
            let db = format!("sqlite://{}/app.db", dir.display());
            database_url = db.clone();
            let (l, url) = listener().await;
            let mut args = vec!["standalone", "--database-url", &db, "--public-url", &url];
            args.extend_from_slice(flags.ingest);
            args.extend_from_slice(flags.query);
            let Command::Standalone(a) = parse(&args) else {
                unreachable!()
            };
            tasks.push(tokio::spawn(roles::standalone(a, l, shutdown.clone())));
            guards.push(Box::new(DirGuard(dir)));
            (vec![url.clone()], vec![url])
        }
        Shape::Split => {
            let db = testkit::TestDb::new().await;
            database = Some(db.name.clone());
            database_url = db.url.clone();
            let stream = testkit::TestStream::new().await;
            stream_name = Some(stream.name.clone());
            let nats = flags
                .nats_url
                .map(str::to_owned)
                .unwrap_or_else(testkit::nats_url);
            let (mut ingests, mut apis) = (Vec::new(), Vec::new());
            let mut ingest_listeners = Vec::new();
            for _ in 0..flags.ingests.max(1) {
                let (l, url) = listener().await;
                ingest_listeners.push(l);
                ingests.push(url);
            }
            for _ in 0..flags.queries.max(1) {
                let (ql, query_url) = listener().await;
                let mut q = vec![
                    "query",
                    "--database-url",
                    &db.url,
                    "--nats-url",
                    &nats,
                    "--stream",
                    &stream.name,
                    "--public-url",
                    &ingests[0],
                ];
                q.extend_from_slice(flags.query);
                let Command::Query(qa) = parse(&q) else {
                    unreachable!()
                };
                tasks.push(tokio::spawn(roles::query(qa, ql, shutdown.clone())));
                apis.push(query_url);
            }
            for il in ingest_listeners {
                let mut i = vec!["ingest", "--nats-url", &nats, "--stream", &stream.name];
                i.extend_from_slice(flags.ingest);
                let Command::Ingest(ia) = parse(&i) else {
                    unreachable!()
                };
                tasks.push(tokio::spawn(roles::ingest(ia, il, shutdown.clone())));
            }
            guards.push(Box::new(stream));
            guards.push(Box::new(db));
            (ingests, apis)
        }
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let app = App {
        ingest: ingests[0].clone(),
        api: apis[0].clone(),
        ingests,
        apis,
        client,
        database,
        database_url,
        stream: stream_name,
        shutdown,
        tasks,
        _guards: guards,
    };
    app.wait_ready().await;
    app
}

/// A standalone app on a given SQLite database (kept after it stops, so a
/// second app can reopen it) and, optionally, an already-bound listener (to
/// come back on the same port).
pub async fn spawn_standalone_on(database_url: &str, listener: Option<TcpListener>) -> App {
    let shutdown = CancellationToken::new();
    let l = match listener {
        Some(l) => l,
        None => TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let url = format!("http://{}", l.local_addr().unwrap());
    let args = [
        "standalone",
        "--database-url",
        database_url,
        "--public-url",
        &url,
    ];
    let Command::Standalone(a) = parse(&args) else {
        unreachable!()
    };
    let task = tokio::spawn(roles::standalone(a, l, shutdown.clone()));
    let app = App {
        ingest: url.clone(),
        api: url.clone(),
        ingests: vec![url.clone()],
        apis: vec![url],
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        database: None,
        database_url: database_url.to_owned(),
        stream: None,
        shutdown,
        tasks: vec![task],
        _guards: Vec::new(),
    };
    app.wait_ready().await;
    app
}

struct DirGuard(std::path::PathBuf);
impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl App {
    pub fn database_name(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// Sends `Authorization: Bearer <token>` on every request from now on.
    pub fn use_token(&mut self, token: &str) {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        self.client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .default_headers(headers)
            .build()
            .unwrap();
    }

    async fn wait_ready(&self) {
        for base in self.ingests.iter().chain(&self.apis) {
            let url = format!("{base}/health/ready");
            let mut ready = false;
            // Generous: the whole suite runs its topologies in parallel on 2 cores.
            for _ in 0..600 {
                if let Ok(r) = self.client.get(&url).send().await {
                    if r.status().is_success() {
                        ready = true;
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(ready, "{url} never became ready");
        }
    }

    /// Stops every process gracefully and waits for them.
    pub async fn stop(mut self) {
        self.stop_in_place().await;
    }

    /// Stops the processes but keeps the database and stream for inspection.
    pub async fn stop_in_place(&mut self) {
        self.shutdown.cancel();
        for t in self.tasks.drain(..) {
            t.await.unwrap().unwrap();
        }
    }

    pub async fn create_path(&self, body: Value) -> Response {
        self.client
            .post(format!("{}/api/paths", self.api))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a path with a fresh random id and returns the id.
    pub async fn new_path(&self) -> String {
        let r = self.create_path(json!({})).await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        let id = v["path_id"].as_str().unwrap().to_owned();
        self.wait_accepts(&id).await;
        id
    }

    /// Waits until ingest knows the path (immediate in standalone; through
    /// the registry in the split shape). The probe declares an oversized body,
    /// so a known path answers 413 and nothing is captured.
    pub async fn wait_accepts(&self, path_id: &str) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.ingest.trim_start_matches("http://").to_owned();
        for _ in 0..100 {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let probe = format!(
                "POST /webhook/{path_id} HTTP/1.1\r\nhost: t\r\ncontent-length: 999999999999\r\n\r\n"
            );
            s.write_all(probe.as_bytes()).await.unwrap();
            let mut head = [0u8; 12];
            s.read_exact(&mut head).await.unwrap();
            match &head[9..12] {
                b"413" => return,
                b"404" => tokio::time::sleep(Duration::from_millis(20)).await,
                other => panic!("probe answered {}", String::from_utf8_lossy(other)),
            }
        }
        panic!("ingest never accepted path {path_id}");
    }

    pub fn webhook(&self, method: &str, path_id: &str, rest: &str) -> reqwest::RequestBuilder {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        self.client
            .request(method, format!("{}/webhook/{path_id}{rest}", self.ingest))
    }

    /// Sends and returns the capture id from the answer.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> String {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "received");
        v["request_id"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path_and_query: &str) -> Response {
        self.client
            .get(format!("{}{path_and_query}", self.api))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path_and_query: &str) -> Value {
        let r = self.get(path_and_query).await;
        assert_eq!(r.status(), 200, "GET {path_and_query}");
        r.json().await.unwrap()
    }

    /// The whole capture, once it is visible through the API (immediately in
    /// standalone; after the writer commits in the split shape).
    pub async fn detail(&self, path_id: &str, id: &str) -> Value {
        // Up to 20 s: after a NATS outage the writer's consumer restarts with
        // a backoff of up to 5 s, and the suite shares 2 cores.
        for _ in 0..800 {
            let r = self.get(&format!("/api/paths/{path_id}/logs/{id}")).await;
            if r.status() == 200 {
                return r.json().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("capture {id} never became visible");
    }

    /// Every capture id of a path, newest first, walking all pages.
    pub async fn all_ids(&self, path_id: &str) -> Vec<String> {
        self.all_ids_at(&self.api, path_id).await
    }

    /// The same, read through a given query process.
    pub async fn all_ids_at(&self, api: &str, path_id: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("/api/paths/{path_id}/logs?limit=500&cursor={c}"),
                None => format!("/api/paths/{path_id}/logs?limit=500"),
            };
            let r = self.client.get(format!("{api}{q}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "GET {q}");
            let page: Value = r.json().await.unwrap();
            ids.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return ids,
            }
        }
    }

    /// Waits until the path holds `n` captures (the split shape writes
    /// asynchronously after the ack) and returns their ids.
    pub async fn wait_count(&self, path_id: &str, n: usize) -> Vec<String> {
        self.wait_count_at(&self.api, path_id, n).await
    }

    pub async fn wait_count_at(&self, api: &str, path_id: &str, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for _ in 0..600 {
            ids = self.all_ids_at(api, path_id).await;
            if ids.len() >= n {
                return ids;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} captures, found {}", ids.len());
    }
}

/// Instantiates each listed async test once per shape.
#[macro_export]
macro_rules! both_shapes {
    ($($test:ident),* $(,)?) => {
        mod standalone {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::support::Shape::Standalone).await;
                }
            )*
        }
        mod split {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::support::Shape::Split).await;
                }
            )*
        }
    };
}
