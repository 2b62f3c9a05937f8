//! Each role's /metrics holds that role's series and not the other's. The
//! in-process test apps share one process-wide recorder, so this starts the
//! real binary, one process per role.

use std::time::Duration;

use super::{ready, scrape, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_and_query_each_expose_their_own_series() {
    let db = testkit::TestDb::new().await;
    let stream = testkit::TestStream::new().await;
    let nats = testkit::nats_url();
    let shared = [
        ("CL_NATS_URL", nats.as_str()),
        ("CL_STREAM", stream.name.as_str()),
    ];
    let (qport, iport) = (testkit::free_port(), testkit::free_port());
    let mut query_env = shared.to_vec();
    query_env.push(("CL_DATABASE_URL", db.url.as_str()));
    let _query = start("query", qport, &query_env);
    let _ingest = start("ingest", iport, &shared);
    let (api, ingest) = (
        format!("http://127.0.0.1:{qport}"),
        format!("http://127.0.0.1:{iport}"),
    );
    let client = reqwest::Client::new();
    ready(&client, &api).await;
    ready(&client, &ingest).await;

    let r = client
        .post(format!("{api}/api/paths"))
        .json(&serde_json::json!({"path_id": "per_role"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mut answered = false;
    for _ in 0..200 {
        let r = client
            .post(format!("{ingest}/webhook/per_role"))
            .body("{}")
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(answered, "ingest learned the path");
    let mut written = String::new();
    for _ in 0..200 {
        written = scrape(&client, &api).await;
        if written.contains("cl_captures_written_total") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let ingest_metrics = scrape(&client, &ingest).await;
    assert!(ingest_metrics.contains("cl_captures_received_total"));
    assert!(ingest_metrics.contains("cl_publish_duration_seconds_bucket"));
    for theirs in [
        "cl_captures_written_total",
        "cl_write_batch_size",
        "cl_sse_clients",
    ] {
        assert!(
            !ingest_metrics.contains(theirs),
            "ingest /metrics shows query's {theirs}"
        );
    }
    assert!(written.contains("cl_captures_written_total"));
    assert!(written.contains("cl_write_duration_seconds_bucket"));
    for theirs in ["cl_captures_received_total", "cl_publish_duration_seconds"] {
        assert!(
            !written.contains(theirs),
            "query /metrics shows ingest's {theirs}"
        );
    }
}
