//! What tests ask of a running app: paths, webhooks, logs, waiting for
//! captures to be stored.

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::App;

impl App {
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
        self.wait_accepts_at(&self.ingest, path_id).await;
    }

    /// [`Self::wait_accepts`] on every ingest of the app.
    pub async fn wait_accepts_everywhere(&self, path_id: &str) {
        for ingest in &self.ingests {
            self.wait_accepts_at(ingest, path_id).await;
        }
    }

    pub async fn wait_accepts_at(&self, ingest: &str, path_id: &str) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = ingest.trim_start_matches("http://").to_owned();
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
