//! What an operator relies on: metrics and graceful shutdown.

use crate::both_shapes;
use crate::live::SseClient;
use crate::support::{spawn_app, Shape};

async fn metrics_expose_the_documented_series(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let sse = SseClient::connect(&app, &format!("/api/paths/{path}/stream"), None).await;
    app.send(app.webhook("POST", &path, "").body("m")).await;
    app.wait_count(&path, 1).await;
    let _ = app
        .webhook("POST", "no-such-path", "")
        .send()
        .await
        .unwrap();
    let scrape = |base: String| {
        let client = app.client.clone();
        async move {
            client
                .get(format!("{base}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let ingest = scrape(app.ingest.clone()).await;
    for series in [
        "cl_captures_received_total",
        "cl_captures_rejected_total{reason=\"unknown_path\"}",
        "cl_publish_duration_seconds_bucket",
    ] {
        assert!(ingest.contains(series), "ingest /metrics lacks {series}");
    }
    let query = scrape(app.api.clone()).await;
    for series in [
        "cl_captures_written_total",
        "cl_write_batch_size_bucket",
        "cl_write_duration_seconds_bucket",
        "cl_sse_clients",
    ] {
        assert!(query.contains(series), "query /metrics lacks {series}");
    }
    if matches!(shape, Shape::Split) {
        assert!(
            query.contains("cl_consumer_pending"),
            "query /metrics lacks cl_consumer_pending"
        );
    }
    drop(sse);
    app.stop().await;
}

/// Shutdown (SIGTERM's effect) in the middle of a burst: every webhook that
/// got a 2xx is stored; in the split shape, whatever the stream acknowledged
/// but query had not written yet is written by the next query to run.
async fn graceful_shutdown_under_load_loses_no_acknowledged_capture(shape: Shape) {
    let mut app = spawn_app(shape).await;
    let path = app.new_path().await;
    let client = app.client.clone();
    let url = format!("{}/webhook/{path}", app.ingest);
    let burst: Vec<_> = (0..600)
        .map(|i| {
            let req = client.post(&url).body(format!("{i}"));
            tokio::spawn(async move {
                let r = req.send().await.ok()?;
                if !r.status().is_success() {
                    return None;
                }
                let v: serde_json::Value = r.json().await.ok()?;
                Some(v["request_id"].as_str()?.to_owned())
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    app.stop_in_place().await;
    let mut acked = Vec::new();
    for t in burst {
        if let Some(id) = t.await.unwrap() {
            acked.push(id);
        }
    }
    assert!(
        !acked.is_empty(),
        "some webhooks were answered before shutdown"
    );

    let store = common::Store::connect(&app.database_url).await.unwrap();
    if let Some(stream) = &app.stream {
        // A fresh writer drains what JetStream acknowledged.
        let bus = common::Bus::jetstream(common::bus::JetStreamConfig::new(
            &testkit::nats_url(),
            stream,
        ))
        .await
        .unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let writer = tokio::spawn({
            let (bus, store, stop) = (bus.clone(), store.clone(), stop.clone());
            async move { bus.consume(store, stop).await }
        });
        let path_id = common::PathId::parse(&path).unwrap();
        for _ in 0..100 {
            let q = common::store::LogQuery {
                limit: 1000,
                ..Default::default()
            };
            if store.list_captures(&path_id, &q).await.unwrap().len() >= acked.len() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        stop.cancel();
        writer.await.unwrap().unwrap();
    }
    let path_id = common::PathId::parse(&path).unwrap();
    let q = common::store::LogQuery {
        limit: 1000,
        ..Default::default()
    };
    let stored: std::collections::HashSet<String> = store
        .list_captures(&path_id, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
    for id in &acked {
        assert!(
            stored.contains(id),
            "acknowledged capture {id} lost in shutdown"
        );
    }
}

both_shapes!(
    metrics_expose_the_documented_series,
    graceful_shutdown_under_load_loses_no_acknowledged_capture,
);
