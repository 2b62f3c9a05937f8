//! What a replay job adds up to (counts per status class, p50/p99), and
//! dry runs that send nothing.

use serde_json::{json, Value};

use crate::both_shapes;
use crate::replay::{finished_within, start};
use crate::support::{spawn_app, App, Shape};

async fn finished(app: &App, r: reqwest::Response) -> Value {
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    finished_within(app, job["job_id"].as_str().unwrap(), 800).await
}

async fn a_job_sums_up_its_answers_by_status_class_with_p50_and_p99(shape: Shape) {
    let app = spawn_app(shape).await;
    let from = app.new_path().await;
    let r = app
        .create_path(json!({"path_id": "busy", "response": {"status": 503}}))
        .await;
    assert_eq!(r.status(), 201);
    app.wait_accepts("busy").await;
    let ok = app.new_path().await;
    for i in 0..4 {
        app.send(app.webhook("POST", &from, "").body(format!("{i}")))
            .await;
    }
    app.wait_count(&from, 4).await;
    let job = finished(
        &app,
        start(
            &app,
            &from,
            json!({"target": format!("{}/webhook/busy", app.ingest)}),
        )
        .await,
    )
    .await;
    assert_eq!(job["summary"]["by_class"], json!({"5xx": 4}), "{job}");
    assert!(job["summary"]["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(
        job["summary"]["p99_ms"].as_f64().unwrap() >= job["summary"]["p50_ms"].as_f64().unwrap()
    );
    let job = finished(
        &app,
        start(
            &app,
            &from,
            json!({"target": format!("{}/webhook/{ok}", app.ingest)}),
        )
        .await,
    )
    .await;
    assert_eq!(job["summary"]["by_class"], json!({"2xx": 4}), "{job}");
    let job = finished(
        &app,
        start(&app, &from, json!({"target": "http://127.0.0.1:9/"})).await,
    )
    .await;
    assert_eq!(job["summary"]["by_class"], json!({"error": 4}), "{job}");
    assert!(job["summary"]["p50_ms"].is_null());
    app.stop().await;
}

async fn a_dry_run_counts_and_lists_what_would_be_sent_and_sends_nothing(shape: Shape) {
    let app = spawn_app(shape).await;
    let (from, to) = (app.new_path().await, app.new_path().await);
    for i in 0..25 {
        app.send(app.webhook("POST", &from, "").body(format!("{i}")))
            .await;
    }
    let mut oldest_first = app.wait_count(&from, 25).await;
    oldest_first.reverse();
    let target = format!("{}/webhook/{to}", app.ingest);
    let r = start(&app, &from, json!({"target": target, "dry_run": true})).await;
    assert_eq!(r.status(), 200);
    let dry: Value = r.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["total"], 25);
    let ids: Vec<&str> = dry["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert_eq!(ids, oldest_first[..20]);

    let unknown = "0190a5b2-0000-7000-8000-000000000000";
    let r = start(
        &app,
        &from,
        json!({"target": target, "dry_run": true, "ids": [oldest_first[3], unknown]}),
    )
    .await;
    let dry: Value = r.json().await.unwrap();
    assert_eq!(dry["total"], 1);
    assert_eq!(dry["not_found"], json!([unknown]));
    // A dry run is checked like a real one.
    let r = start(
        &app,
        &from,
        json!({"target": "http://10.1.2.3/", "dry_run": true}),
    )
    .await;
    assert_eq!(r.status(), 403);

    // Nothing was sent: a real job of one capture leaves exactly one.
    finished(
        &app,
        start(
            &app,
            &from,
            json!({"target": target, "ids": [oldest_first[0]]}),
        )
        .await,
    )
    .await;
    app.wait_count(&to, 1).await;
    assert_eq!(app.all_ids(&to).await.len(), 1);
    app.stop().await;
}

async fn results_record_each_answers_status_headers_body_and_time_paginated(shape: Shape) {
    let app = spawn_app(shape).await;
    let from = app.new_path().await;
    let r = app
        .create_path(json!({"path_id": "answers", "response": {
            "status": 202, "headers": [["x-reply", "yes"]], "body": "queued for later"}}))
        .await;
    assert_eq!(r.status(), 201);
    app.wait_accepts("answers").await;
    for i in 0..3 {
        app.send(app.webhook("POST", &from, "").body(format!("{i}")))
            .await;
    }
    let sent = app.wait_count(&from, 3).await;
    let target = format!("{}/webhook/answers", app.ingest);
    let job = finished(&app, start(&app, &from, json!({"target": target})).await).await;
    let job_id = job["job_id"].as_str().unwrap();
    let first = app
        .get_json(&format!("/api/replays/{job_id}/results?limit=2"))
        .await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = app
        .get_json(&format!(
            "/api/replays/{job_id}/results?limit=2&cursor={cursor}"
        ))
        .await;
    assert!(second["next_cursor"].is_null());
    let items: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .collect();
    assert_eq!(items.len(), 3);
    let mut ids: Vec<&str> = items
        .iter()
        .map(|i| i["capture_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = sent.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    for (n, item) in items.iter().enumerate() {
        assert_eq!(item["seq"], n + 1);
        assert_eq!(item["status"], 202, "{item}");
        assert_eq!(item["body"], "queued for later");
        assert_eq!(item["body_truncated"], false);
        assert!(item["latency_ms"].as_f64().unwrap() > 0.0);
        let reply = item["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "x-reply")
            .expect("the answer's headers");
        assert_eq!(reply[1], "yes");
    }
    let down = finished(
        &app,
        start(&app, &from, json!({"target": "http://127.0.0.1:9/"})).await,
    )
    .await;
    let page = app
        .get_json(&format!(
            "/api/replays/{}/results",
            down["job_id"].as_str().unwrap()
        ))
        .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .all(|i| i["status"].is_null() && i["error"].is_string()));
    let r = app
        .get(&format!("/api/replays/{job_id}/results?cursor=x"))
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .get("/api/replays/0190a5b2-0000-7000-8000-000000000000/results")
        .await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}

/// A target whose every answer is 100 KiB of bytes that are not UTF-8.
async fn long_answers() -> String {
    let app = axum::Router::new().fallback(|| async { vec![0xffu8; 100 << 10] });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn results_keep_the_first_64_kib_of_a_long_answer(shape: Shape) {
    let app = spawn_app(shape).await;
    let from = app.new_path().await;
    app.send(app.webhook("POST", &from, "").body("x")).await;
    app.wait_count(&from, 1).await;
    let target = long_answers().await;
    let job = finished(&app, start(&app, &from, json!({"target": target})).await).await;
    let page = app
        .get_json(&format!(
            "/api/replays/{}/results",
            job["job_id"].as_str().unwrap()
        ))
        .await;
    let item = &page["items"][0];
    assert_eq!(item["status"], 200);
    assert_eq!(item["body_truncated"], true);
    assert_eq!(item["body_encoding"], "base64");
    let kept = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        item["body_base64"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(kept, vec![0xffu8; 64 << 10]);
    app.stop().await;
}

both_shapes!(
    results_keep_the_first_64_kib_of_a_long_answer,
    results_record_each_answers_status_headers_body_and_time_paginated,
    a_job_sums_up_its_answers_by_status_class_with_p50_and_p99,
    a_dry_run_counts_and_lists_what_would_be_sent_and_sends_nothing,
);
