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
    drop(sse);
    app.stop().await;
}

both_shapes!(metrics_expose_the_documented_series);
