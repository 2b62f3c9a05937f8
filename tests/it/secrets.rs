//! Signing secrets are write-only: no API answer, export, live event or log
//! line of the service carries one, nor (split shape) anything on NATS.
//!
//! Log lines: the whole test binary's tracing output, at debug for the
//! service's crates, sqlx and tower-http, goes through a writer that looks
//! for the secrets in each line (installed once, as the global subscriber).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use chrono::Utc;
use serde_json::{json, Value};

use crate::both_shapes;
use crate::live::SseClient;
use crate::signatures::{post_signed, signed};
use crate::support::{spawn_app, App, Shape};

const VERIFY: &str = "whsec_d2F0Y2gtdmVyaWZ5LXNlY3JldC1rZXk="; // "watch-verify-secret-key"
const CHANGED: &str = "whsec_d2F0Y2gtY2hhbmdlZC1zZWNyZXQta2V5"; // "watch-changed-secret-key"
const FORWARD: &str = "sk_watch_forward_secret_0001";
const HMAC: &str = "sk_watch_hmac_secret_0002";
const REPLAY: &str = "sk_watch_replay_secret_0003";
const REFUSED: &str = "sk_watch_refused_secret_0004";
const REFUSED_WHSEC: &str = "whsec_sk_watch_not*base64";
/// Logged by the test itself, to prove the watch sees log lines.
const CANARY: &str = "cl-log-watch-canary";

fn secrets() -> Vec<String> {
    let mut all: Vec<String> = [
        VERIFY,
        CHANGED,
        FORWARD,
        HMAC,
        REPLAY,
        REFUSED,
        REFUSED_WHSEC,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in [VERIFY, CHANGED] {
        let raw = &s["whsec_".len()..];
        all.push(raw.to_owned());
        let key = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap();
        all.push(String::from_utf8(key).unwrap());
    }
    all
}

#[derive(Default)]
struct LogWatch {
    bytes: AtomicUsize,
    canaries: AtomicUsize,
    hits: Mutex<Vec<String>>,
}

struct WatchWriter(Arc<LogWatch>);

impl std::io::Write for WatchWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.bytes.fetch_add(buf.len(), Ordering::Relaxed);
        let line = String::from_utf8_lossy(buf);
        if line.contains(CANARY) {
            self.0.canaries.fetch_add(1, Ordering::Relaxed);
        }
        if secrets().iter().any(|s| line.contains(s.as_str())) {
            self.0.hits.lock().unwrap().push(line.into_owned());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_watch() -> Arc<LogWatch> {
    static WATCH: OnceLock<Arc<LogWatch>> = OnceLock::new();
    WATCH
        .get_or_init(|| {
            let watch = Arc::new(LogWatch::default());
            let writer = watch.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(
                    "info,common=trace,query=trace,ingest=trace,callback_listener=trace,\
                     sqlx=debug,tower_http=debug",
                )
                .with_ansi(false)
                .with_writer(move || WatchWriter(writer.clone()))
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in the test binary");
            watch
        })
        .clone()
}

fn assert_clean(what: &str, text: &str) {
    for s in secrets() {
        assert!(!text.contains(&s), "{what} carries a secret: {text}");
    }
}

async fn text(what: &str, r: reqwest::Response) -> String {
    let body = r.text().await.unwrap();
    assert_clean(what, &body);
    body
}

async fn nats_carries_no_secret(app: &App) {
    let Some(stream) = &app.stream else { return };
    let client = async_nats::connect(testkit::nats_url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    for name in [stream.clone(), format!("KV_{stream}_PATHS")] {
        let mut s = js.get_stream(&name).await.unwrap();
        let state = s.info().await.unwrap().state.clone();
        assert!(state.last_sequence > 0, "{name} is empty");
        for seq in state.first_sequence..=state.last_sequence {
            if let Ok(m) = s.get_raw_message(seq).await {
                assert_clean(
                    &format!("{name} message {seq}"),
                    &String::from_utf8_lossy(&m.payload),
                );
                assert_clean(
                    &format!("{name} headers {seq}"),
                    &format!("{:?}", m.headers),
                );
            }
        }
    }
}

async fn secrets_never_appear_in_answers_exports_live_events_logs_or_nats(shape: Shape) {
    let watch = log_watch();
    let app = spawn_app(shape).await;
    let r = app
        .create_path(
            json!({"path_id": "to", "signing": {"provider": "hmac", "secret": HMAC,
            "header": "x-signature", "prefix": "sha256="}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    text("create", r).await;
    let r = app
        .create_path(json!({
            "path_id": "watched",
            "signing": {"provider": "standard-webhooks", "secret": VERIFY},
            "forward_url": format!("{}/webhook/to", app.ingest),
            "forward_signing": {"provider": "hmac", "secret": FORWARD, "header": "x-signature"},
        }))
        .await;
    assert_eq!(r.status(), 201);
    text("create", r).await;
    for bad in [
        json!({"provider": "nope", "secret": REFUSED}),
        json!({"provider": "standard-webhooks", "secret": REFUSED_WHSEC}),
        json!({"provider": "stripe", "secret": REFUSED, "header": "x"}),
    ] {
        let r = app
            .create_path(json!({"path_id": "refused", "signing": bad}))
            .await;
        assert_eq!(r.status(), 400);
        text("refusal", r).await;
    }
    app.wait_accepts("watched").await;
    app.wait_accepts("to").await;

    let mut path_feed = SseClient::connect(&app, "/api/paths/watched/stream", None).await;
    let mut all_feed = SseClient::connect(&app, "/api/stream", None).await;
    let body = r#"{"type":"user.created"}"#;
    let headers = signed(
        "standard-webhooks",
        VERIFY,
        &[("webhook-id", "msg_w")],
        body.as_bytes(),
        Utc::now(),
    );
    let id = post_signed(&app, "watched", &headers, body).await;
    assert_eq!(app.detail("watched", &id).await["signature"], "valid");
    for feed in [&mut path_feed, &mut all_feed] {
        let event = feed.next().await;
        assert_clean("live event", &event.data.to_string());
    }
    app.wait_count("to", 1).await;

    let r = app
        .client
        .patch(format!("{}/api/paths/watched", app.api))
        .json(&json!({"signing": {"provider": "standard-webhooks", "secret": CHANGED}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    text("patch", r).await;
    let r = app
        .client
        .post(format!("{}/api/paths/watched/replay", app.api))
        .json(&json!({"target": format!("{}/webhook/to", app.ingest),
            "signing": {"provider": "hmac", "secret": REPLAY, "header": "x-signature"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let job: Value = serde_json::from_str(&text("replay start", r).await).unwrap();
    let job_id = job["job_id"].as_str().unwrap();
    app.wait_count("to", 2).await;

    for route in [
        "/api/paths".to_owned(),
        "/api/paths/watched".to_owned(),
        "/api/paths/to".to_owned(),
        "/api/paths/watched/logs".to_owned(),
        format!("/api/paths/watched/logs/{id}"),
        "/api/paths/to/logs".to_owned(),
        "/api/paths/watched/export?format=har".to_owned(),
        "/api/paths/watched/export?format=ndjson".to_owned(),
        "/api/paths/to/export?format=ndjson".to_owned(),
        "/api/paths/watched/forwards".to_owned(),
        format!("/api/replays/{job_id}"),
    ] {
        let r = app.get(&route).await;
        assert_eq!(r.status(), 200, "{route}");
        text(&route, r).await;
    }
    let copies = app.all_ids("to").await;
    for copy in &copies {
        assert_clean("copy", &app.detail("to", copy).await.to_string());
    }
    nats_carries_no_secret(&app).await;
    app.stop().await;

    tracing::info!(target: "callback_listener", "{CANARY}");
    assert!(
        watch.canaries.load(Ordering::Relaxed) > 0,
        "the watch sees log lines"
    );
    assert!(watch.bytes.load(Ordering::Relaxed) > 0);
    let hits = watch.hits.lock().unwrap().clone();
    assert!(hits.is_empty(), "log lines carry a secret: {hits:#?}");
}

both_shapes!(secrets_never_appear_in_answers_exports_live_events_logs_or_nats);
