//! Live-feed resume across writers: a capture committed after a client
//! resumed reaches it even when its id sorts below the client's
//! `Last-Event-ID` (ingest clocks interleave, writer batches commit in any
//! order), exactly once and in the same order on every feed.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use common::{Capture, PathId, Store};
use futures::StreamExt as _;
use serde_json::Value;
use uuid::Uuid;

use crate::both_shapes;
use crate::live::SseClient;
use crate::support::{spawn_app, spawn_app_with, Flags, Shape};

/// A capture written straight into the store, as another writer's batch.
fn direct(path: &str, id: Uuid) -> Capture {
    Capture {
        id,
        path_id: PathId::parse(path).unwrap(),
        method: "POST".into(),
        subpath: "/direct".into(),
        query_string: String::new(),
        headers: Vec::new(),
        header_order: common::HeaderOrder::Grouped,
        body: Bytes::from_static(b"late"),
        ip: "127.0.0.1".into(),
        received_at: DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap(),
        signature: None,
        response: None,
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

/// Issue 15's topology: two ingests and two query processes (two writers
/// sharing the durable consumer). Feeds open on both query processes, and
/// each reconnects mid-stream with `Last-Event-ID` to the *other* process
/// while webhooks arrive through both ingests: every feed gets every capture
/// exactly once, all in one order, the store's position order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_on_two_queries_resuming_across_them_get_every_capture_once_in_one_order() {
    const N: usize = 600;
    let app = spawn_app_with(
        Shape::Split,
        Flags {
            ingests: 2,
            queries: 2,
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let path_route = format!("/api/paths/{path}/stream");
    let routes = [path_route.as_str(), "/api/stream"];
    // Opened (and positioned) before the first webhook, so all start at the
    // same place and must see the same sequence.
    let mut feeds = Vec::new();
    for i in 0..6 {
        let api = i % 2;
        let sse = SseClient::connect_at(&app, &app.apis[api], routes[i / 2 % 2], None).await;
        feeds.push((api, routes[i / 2 % 2], sse));
    }
    let readers = futures::future::join_all(feeds.into_iter().enumerate().map(
        |(i, (mut api, route, mut sse))| {
            let app = &app;
            async move {
                let mut ids: Vec<String> = Vec::with_capacity(N);
                // Each feed reconnects at its own points, to the other process.
                let breaks = [17 + 13 * i, 150 + 29 * i, 400 + 11 * i];
                while ids.len() < N {
                    ids.push(sse.next().await.id);
                    if breaks.contains(&ids.len()) {
                        drop(sse);
                        api = 1 - api;
                        let last = ids.last().map(String::as_str);
                        sse = SseClient::connect_at(app, &app.apis[api], route, last).await;
                    }
                }
                sse.assert_quiet().await;
                ids
            }
        },
    ));
    let sends = futures::stream::iter(0..N).map(|i| {
        let ingest = &app.ingests[i % 2];
        let req = app
            .client
            .post(format!("{ingest}/webhook/{path}"))
            .body(format!("{i}"));
        async move {
            for _ in 0..500 {
                let r = req.try_clone().unwrap().send().await.unwrap();
                match r.status().as_u16() {
                    200 => {
                        let v: Value = r.json().await.unwrap();
                        return v["request_id"].as_str().unwrap().to_owned();
                    }
                    // The second ingest may not have the path yet (polled).
                    404 => tokio::time::sleep(Duration::from_millis(10)).await,
                    s => panic!("webhook answered {s}"),
                }
            }
            panic!("path never reached ingest {ingest}");
        }
    });
    let sending = sends.buffer_unordered(32).collect::<Vec<String>>();
    let (feeds, acked) = futures::join!(readers, sending);
    let acked: HashSet<String> = acked.into_iter().collect();
    assert_eq!(acked.len(), N);

    // The order every feed must have: positions in the store.
    let store = Store::connect(&app.database_url).await.unwrap();
    let head = store.head().await.unwrap();
    let id = PathId::parse(&path).unwrap();
    let committed: Vec<String> = store
        .list_positions(Some(&id), 0, head, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, s)| s.id.to_string())
        .collect();
    assert_eq!(committed.len(), N);
    for (i, ids) in feeds.iter().enumerate() {
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), N, "feed {i}: no duplicates");
        assert!(ids.iter().all(|id| acked.contains(id)), "feed {i}");
        assert_eq!(ids, &committed, "feed {i}: position order");
    }
    app.stop().await;
}
