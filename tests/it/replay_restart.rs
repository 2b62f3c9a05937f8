//! A replay job survives its process only as a record: after a restart it
//! says it was interrupted.

use std::time::Duration;

use serde_json::{json, Value};

use crate::replay::{fill, start};

/// A job whose process stops is reported interrupted after a restart, never
/// as running or done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_by_a_restart_is_interrupted() {
    let dir = tempfile::Builder::new()
        .prefix("cl-replay-")
        .tempdir()
        .unwrap();
    let db = format!("sqlite://{}/app.db", dir.path().display());
    let app = crate::support::spawn_standalone_on(&db, None).await;
    let (a, b) = (app.new_path().await, app.new_path().await);
    fill(&app, &a, 10).await;
    let r = start(
        &app,
        &a,
        json!({"target": format!("{}/webhook/{b}", app.ingest), "rate": 1}),
    )
    .await;
    let job: Value = r.json().await.unwrap();
    let id = job["job_id"].as_str().unwrap().to_owned();
    // Stop it once it has sent something (at 1/s, far from done).
    let mut sent = 0;
    for _ in 0..100 {
        sent = app.get_json(&format!("/api/replays/{id}")).await["sent"]
            .as_u64()
            .unwrap_or(0);
        if sent > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sent > 0, "the job started sending");
    app.stop().await;
    let app = crate::support::spawn_standalone_on(&db, None).await;
    let job = app.get_json(&format!("/api/replays/{id}")).await;
    assert_eq!(job["state"], "interrupted", "{job}");
    assert!(job["sent"].as_u64().unwrap() < 10);
    app.stop().await;
}
