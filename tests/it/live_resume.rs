//! Live-feed resume across writers: a capture committed after a client
//! resumed reaches it even when its id sorts below the client's
//! `Last-Event-ID` (ingest clocks interleave, writer batches commit in any
//! order), exactly once and in the same order on every feed.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use common::{Capture, PathId, Store};
use uuid::Uuid;

use crate::both_shapes;
use crate::live::SseClient;
use crate::support::{spawn_app, Shape};

/// A capture written straight into the store, as another writer's batch.
fn direct(path: &str, id: Uuid) -> Capture {
    Capture {
        id,
        path_id: PathId::parse(path).unwrap(),
        method: "POST".into(),
        subpath: "/direct".into(),
        query_string: String::new(),
        headers: Vec::new(),
        body: Bytes::from_static(b"late"),
        ip: "127.0.0.1".into(),
        received_at: DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap(),
    }
}

/// Issue 15: `a` sorts below `b` by id but commits after a client resumed
/// from `b` (another writer's batch whose announcement this process never
/// heard); the feed must still deliver it, before the next live capture.
async fn a_capture_committed_late_with_a_smaller_id_reaches_a_resumed_feed(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let store = Store::connect(&app.database_url).await.unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(a < b);
    store.insert_batch(&[direct(&path, b)]).await.unwrap();
    let route = format!("/api/paths/{path}/stream");
    let mut sse = SseClient::connect(&app, &route, Some(&b.to_string())).await;
    store.insert_batch(&[direct(&path, a)]).await.unwrap();
    let c = app.send(app.webhook("POST", &path, "/live")).await;
    assert_eq!(sse.next().await.id, a.to_string(), "the late capture");
    assert_eq!(sse.next().await.id, c);
    sse.assert_quiet().await;

    // The dashboard feed resumes the same way.
    let mut all = SseClient::connect(&app, "/api/stream", Some(&b.to_string())).await;
    assert_eq!(all.next().await.id, a.to_string());
    assert_eq!(all.next().await.id, c);
    all.assert_quiet().await;
    app.stop().await;
}

both_shapes!(a_capture_committed_late_with_a_smaller_id_reaches_a_resumed_feed,);
