//! Live feeds over server-sent events, with gapless resume.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventsource_stream::Eventsource as _;

use futures::future::join_all;
use futures::StreamExt as _;
use serde_json::Value;

use crate::both_shapes;
use crate::support::{spawn_app, App, Shape};

/// One parsed server-sent event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: String,
    pub data: Value,
}

type Events = std::pin::Pin<
    Box<
        dyn futures::Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// An SSE reader over a streaming response (framing by eventsource-stream,
/// as the `forward` subcommand reads it).
pub struct SseClient {
    events: Events,
    /// The raw text as it arrives, once `until_end` asks for it (comments,
    /// which the parser drops, are what it looks for).
    raw: Arc<Mutex<Option<String>>>,
}

impl SseClient {
    pub async fn connect(app: &App, route: &str, last_event_id: Option<&str>) -> Self {
        Self::connect_at(app, &app.api, route, last_event_id).await
    }

    /// The same, through a given query process.
    pub async fn connect_at(
        app: &App,
        api: &str,
        route: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        let mut req = app
            .client
            .get(format!("{api}{route}"))
            .timeout(Duration::from_secs(600));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let raw = Arc::new(Mutex::new(None::<String>));
        let tee = raw.clone();
        let events = r
            .bytes_stream()
            .inspect(move |chunk| {
                if let (Ok(chunk), Some(raw)) = (chunk, tee.lock().unwrap().as_mut()) {
                    raw.push_str(&String::from_utf8_lossy(chunk));
                }
            })
            .eventsource();
        Self {
            events: Box::pin(events),
            raw,
        }
    }

    /// The next `request` event (comments, retry advice and keep-alives skipped).
    pub async fn next(&mut self) -> Sse {
        tokio::time::timeout(Duration::from_secs(20), self.next_inner())
            .await
            .expect("an event within 20 s")
    }

    async fn next_inner(&mut self) -> Sse {
        loop {
            let event = self.events.next().await.expect("stream open").unwrap();
            if event.event == "request" {
                return Sse {
                    id: event.id,
                    data: serde_json::from_str(&event.data).unwrap(),
                };
            }
        }
    }

    /// Everything the stream still carries, as text, until the server ends it.
    pub async fn until_end(mut self) -> String {
        *self.raw.lock().unwrap() = Some(String::new());
        let rest = async {
            while let Some(event) = self.events.next().await {
                event.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(20), rest)
            .await
            .expect("the server ends the stream within 20 s");
        let raw = self.raw.lock().unwrap().take();
        raw.unwrap_or_default()
    }

    /// Asserts nothing else arrives for a moment.
    pub async fn assert_quiet(&mut self) {
        let extra = tokio::time::timeout(Duration::from_millis(500), self.next_inner()).await;
        assert!(extra.is_err(), "unexpected event {:?}", extra.map(|e| e.id));
    }
}

async fn live_feed_delivers_in_order_and_resumes_without_gap_or_duplicate(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let route = format!("/api/paths/{path}/stream");
    let mut sse = SseClient::connect(&app, &route, None).await;
    let mut sent = Vec::new();
    for i in 0..50 {
        sent.push(
            app.send(app.webhook("POST", &path, "/live").body(format!("{i}")))
                .await,
        );
    }
    for id in &sent {
        let e = sse.next().await;
        assert_eq!(&e.id, id);
        assert_eq!(e.data["id"], id.as_str());
        assert_eq!(e.data["subpath"], "/live");
    }
    drop(sse);

    let mut missed = Vec::new();
    for i in 0..20 {
        missed.push(
            app.send(app.webhook("PUT", &path, "").body(format!("m{i}")))
                .await,
        );
    }
    // Make sure they are committed before reconnecting, as a real gap would be.
    app.wait_count(&path, 70).await;
    let mut resumed = SseClient::connect(&app, &route, sent.last().map(String::as_str)).await;
    for id in &missed {
        assert_eq!(&resumed.next().await.id, id);
    }
    let live = app.send(app.webhook("POST", &path, "")).await;
    assert_eq!(resumed.next().await.id, live);
    resumed.assert_quiet().await;

    // The query-parameter form, for clients that cannot set headers.
    let mut by_param =
        SseClient::connect(&app, &format!("{route}?last_event_id={}", missed[18]), None).await;
    assert_eq!(by_param.next().await.id, missed[19]);
    assert_eq!(by_param.next().await.id, live);
    app.stop().await;
}

async fn dashboard_feed_carries_every_path(shape: Shape) {
    let app = spawn_app(shape).await;
    let a = app.new_path().await;
    let b = app.new_path().await;
    let mut sse = SseClient::connect(&app, "/api/stream", None).await;
    let ia = app.send(app.webhook("POST", &a, "")).await;
    let ib = app.send(app.webhook("POST", &b, "")).await;
    let first = sse.next().await;
    let second = sse.next().await;
    assert_eq!((first.id, second.id), (ia, ib));
    assert_eq!(second.data["path_id"], b.as_str());
    app.stop().await;
}

async fn a_thousand_clients_each_receive_every_capture(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let route = format!("/api/paths/{path}/stream");
    let clients = join_all((0..1000).map(|_| SseClient::connect(&app, &route, None))).await;
    let mut sent = Vec::new();
    for i in 0..10 {
        sent.push(
            app.send(app.webhook("POST", &path, "").body(format!("{i}")))
                .await,
        );
    }
    let received = join_all(clients.into_iter().map(|mut c| async move {
        let mut ids = Vec::new();
        for _ in 0..10 {
            ids.push(c.next().await.id);
        }
        ids
    }))
    .await;
    for ids in received {
        assert_eq!(ids, sent);
    }
    app.stop().await;
}

async fn bad_resume_points_are_400(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let r = app
        .client
        .get(format!("{}/api/paths/{path}/stream", app.api))
        .header("last-event-id", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(app.get("/api/paths/nope/stream").await.status(), 404);
    app.stop().await;
}

/// Shutdown ends every open feed with a retry hint, so clients come back
/// (to another replica, or this one restarted) and resume.
async fn shutdown_ends_open_feeds_with_a_retry_hint(shape: Shape) {
    let mut app = spawn_app(shape).await;
    let path = app.new_path().await;
    let mut sse = SseClient::connect(&app, &format!("/api/paths/{path}/stream"), None).await;
    let id = app.send(app.webhook("POST", &path, "")).await;
    assert_eq!(sse.next().await.id, id);
    let rest = tokio::spawn(sse.until_end());
    app.stop_in_place().await;
    let rest = rest.await.unwrap();
    assert!(rest.contains(": shutting down"), "{rest:?}");
    assert!(rest.contains("retry: 2000"), "{rest:?}");
}

both_shapes!(
    shutdown_ends_open_feeds_with_a_retry_hint,
    live_feed_delivers_in_order_and_resumes_without_gap_or_duplicate,
    dashboard_feed_carries_every_path,
    a_thousand_clients_each_receive_every_capture,
    bad_resume_points_are_400,
);
