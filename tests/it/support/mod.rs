//! `spawn_app`: the real service on port 0, in either shape, with its own
//! database (and stream), so tests run in parallel and read like user stories.

use std::time::Duration;

use callback_listener::config::{Cli, Command};
use callback_listener::roles;
use clap::Parser;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

mod requests;

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
            let dir = tempfile::Builder::new()
                .prefix("cl-app-")
                .tempdir()
                .unwrap();
            let db = format!("sqlite://{}/app.db", dir.path().display());
            database_url = db.clone();
            let (l, url) = listener().await;
            let mut args = vec!["standalone", "--database-url", &db, "--public-url", &url];
            args.extend_from_slice(flags.ingest);
            args.extend_from_slice(flags.query);
            let Command::Standalone(a) = parse(&args) else {
                unreachable!()
            };
            tasks.push(tokio::spawn(roles::standalone(a, l, shutdown.clone())));
            guards.push(Box::new(dir));
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
