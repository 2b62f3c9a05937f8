//! Replay jobs through the API: exact requests, order and rate; bad input.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::both_shapes;
use crate::support::{spawn_app, App, Shape};

const METHODS: &[&str] = &["POST", "PUT", "PATCH", "DELETE", "PROPFIND", "POST"];

fn body_of(i: usize) -> Vec<u8> {
    match i % 5 {
        0 => Vec::new(),
        1 => format!("{{\"n\":{i},\"text\":\"caf\u{e9}\"}}").into_bytes(),
        2 => (0..(i * 7 % 300)).map(|b| (b * 31 % 256) as u8).collect(),
        3 => format!("a=1&b={i}&a=2").into_bytes(),
        _ => vec![0u8, 159, 146, 150, 255, b'\n', b'\r'],
    }
}

/// Sends `n` varied webhooks to `path` and returns their ids, oldest first.
pub(crate) async fn fill(app: &App, path: &str, n: usize) -> Vec<String> {
    let sent: Vec<usize> = futures::stream::iter(0..n)
        .map(|i| async move {
            let rest = if i % 3 == 0 {
                String::new()
            } else {
                format!("/s/{i}/x")
            };
            let query = if i % 4 == 0 {
                String::new()
            } else {
                format!("?i={i}&x=a%20b&x=2&empty=")
            };
            let req = app
                .webhook(METHODS[i % METHODS.len()], path, &format!("{rest}{query}"))
                .header("x-dup", "one")
                .header("x-seq", i.to_string())
                .header("x-dup", "two")
                .header(
                    "x-bin",
                    reqwest::header::HeaderValue::from_bytes(&[b'a', 0xff, b'z']).unwrap(),
                )
                .header("connection", "keep-alive")
                .body(body_of(i));
            app.send(req).await;
            i
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(sent.len(), n);
    let mut ids = app.wait_count(path, n).await;
    ids.reverse();
    ids
}

fn body_bytes(d: &Value) -> Vec<u8> {
    match d["body"].as_str() {
        Some(text) => text.as_bytes().to_vec(),
        None => base64::engine::general_purpose::STANDARD
            .decode(d["body_base64"].as_str().unwrap_or_default())
            .unwrap(),
    }
}

/// Headers by name (values in order), leaving out those replay rewrites.
fn headers(d: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for pair in d["headers"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap().to_owned();
        if matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "x-callbacklistener-replay-of"
        ) {
            continue;
        }
        out.entry(name).or_default().push(pair[1].clone());
    }
    out
}

fn header(d: &Value, name: &str) -> Option<String> {
    d["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str().map(str::to_owned))
}

pub(crate) async fn start(app: &App, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/paths/{path}/replay", app.api))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Polls the job until it is no longer queued or running (30 s at most).
async fn finished(app: &App, job_id: &str) -> Value {
    finished_within(app, job_id, 1200).await
}

/// The same, at most `polls` times 25 ms.
pub(crate) async fn finished_within(app: &App, job_id: &str, polls: u32) -> Value {
    for _ in 0..polls {
        let job = app.get_json(&format!("/api/replays/{job_id}")).await;
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("replay job {job_id} never finished");
}

async fn replay_of_500_captures_is_exact_in_order_and_at_the_requested_rate(shape: Shape) {
    let app = spawn_app(shape).await;
    let (a, b) = (app.new_path().await, app.new_path().await);
    let originals = fill(&app, &a, 500).await;

    let target = format!("{}/webhook/{b}", app.ingest);
    // In order means one request at a time, so the rate must leave room for
    // each round trip; the split shape's includes a JetStream ack.
    let rate = match shape {
        Shape::Standalone => 200.0,
        Shape::Split => 50.0,
    };
    let started = Instant::now();
    let r = start(
        &app,
        &a,
        json!({"target": target, "keep_order": true, "rate": rate, "filter": {}}),
    )
    .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["total"], 500);
    let job = finished(&app, job["job_id"].as_str().unwrap()).await;
    let wall = started.elapsed();
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["sent"], 500);
    assert_eq!(job["succeeded"], 500, "{}", job["results"][0]);
    assert_eq!(job["failed"], 0);
    assert_eq!(job["results"].as_array().unwrap().len(), 500);
    // 500 requests at `rate`/s: the last goes out after 499/rate s.
    let expected = 499.0 / rate;
    let created =
        chrono::DateTime::parse_from_rfc3339(job["created_at"].as_str().unwrap()).unwrap();
    let ended = chrono::DateTime::parse_from_rfc3339(job["finished_at"].as_str().unwrap()).unwrap();
    let took = (ended - created).to_std().unwrap().as_secs_f64();
    // Paced: never faster than the rate. (No upper bound: a loaded machine
    // may be slower, which is not what this checks.)
    assert!(
        took >= expected * 0.9,
        "job took {took} s, expected at least {expected} s"
    );
    assert!(wall.as_secs_f64() >= expected * 0.9, "wall time {wall:?}");

    let mut replayed = app.wait_count(&b, 500).await;
    replayed.reverse();
    let mut order = Vec::new();
    for (orig_id, copy_id) in originals.iter().zip(&replayed) {
        let orig = app.detail(&a, orig_id).await;
        let copy = app.detail(&b, copy_id).await;
        let of = header(&copy, "x-callbacklistener-replay-of").expect("replay-of header");
        order.push(of.clone());
        assert_eq!(&of, orig_id, "replayed out of order");
        assert_eq!(copy["method"], orig["method"]);
        assert_eq!(copy["subpath"], orig["subpath"]);
        assert_eq!(copy["query_string"], orig["query_string"]);
        assert_eq!(body_bytes(&copy), body_bytes(&orig), "body of {orig_id}");
        assert_eq!(headers(&copy), headers(&orig), "headers of {orig_id}");
        assert_eq!(
            header(&copy, "host").unwrap(),
            app.ingest.trim_start_matches("http://")
        );
    }
    assert_eq!(order, originals);
    app.stop().await;
}

async fn bad_replay_input_gets_clear_errors(shape: Shape) {
    let app = spawn_app(shape).await;
    let a = app.new_path().await;
    let ok = format!("{}/webhook/{a}", app.ingest);
    let cases = [
        (
            json!({"target": "http://10.1.2.3:80/x"}),
            403,
            "target_not_allowed",
        ),
        (
            json!({"target": "http://169.254.169.254/latest"}),
            403,
            "target_not_allowed",
        ),
        (json!({"target": "not a url"}), 400, "invalid_target"),
        (json!({"target": "ftp://127.0.0.1/"}), 400, "invalid_target"),
        (
            json!({"target": ok, "rate": 0}),
            400,
            "invalid_replay_options",
        ),
        (
            json!({"target": ok, "rate": 1001}),
            400,
            "invalid_replay_options",
        ),
        (
            json!({"target": ok, "concurrency": 0}),
            400,
            "invalid_replay_options",
        ),
        (
            json!({"target": ok, "concurrency": 65}),
            400,
            "invalid_replay_options",
        ),
        (
            json!({"target": ok, "timing_factor": 0}),
            400,
            "invalid_replay_options",
        ),
        (json!({"target": ok, "ids": [], }), 400, "invalid_selection"),
        (
            json!({"target": ok, "ids": ["x"], "filter": {}}),
            400,
            "invalid_selection",
        ),
        (
            json!({"target": ok, "filter": {"since": "yesterday"}}),
            400,
            "invalid_time",
        ),
        (
            json!({"target": ok, "headers": [["bad name", "v"]]}),
            400,
            "invalid_headers",
        ),
    ];
    for (body, status, code) in cases {
        let r = start(&app, &a, body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{body}: {v}");
    }
    let r = start(&app, &a, json!({"target": "http://10.1.2.3/"})).await;
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowlist"),
        "{v}"
    );
    let r = start(&app, "no-such-path", json!({"target": ok})).await;
    assert_eq!(r.status(), 404);
    let r = app
        .get("/api/replays/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}

async fn unknown_ids_are_listed_and_the_rest_replayed(shape: Shape) {
    let app = spawn_app(shape).await;
    let (a, b) = (app.new_path().await, app.new_path().await);
    let ids = fill(&app, &a, 3).await;
    let missing = "01900000-0000-7000-8000-000000000000";
    let r = start(
        &app,
        &a,
        json!({
            "target": format!("{}/webhook/{b}", app.ingest),
            "ids": [ids[2], missing, ids[0], "not-a-uuid"],
            "headers": [["x-seq", "overridden"], ["x-extra", "1"]],
        }),
    )
    .await;
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let job = finished(&app, job["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "done");
    assert_eq!(job["total"], 4);
    assert_eq!(job["succeeded"], 2);
    let mut not_found: Vec<&str> = job["not_found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    not_found.sort();
    assert_eq!(not_found, vec![missing, "not-a-uuid"]);
    let copies = app.wait_count(&b, 2).await;
    let copy = app.detail(&b, &copies[0]).await;
    assert_eq!(header(&copy, "x-seq").as_deref(), Some("overridden"));
    assert_eq!(header(&copy, "x-extra").as_deref(), Some("1"));
    app.stop().await;
}

async fn target_down_records_each_error_and_the_job_completes(shape: Shape) {
    let app = spawn_app(shape).await;
    let a = app.new_path().await;
    fill(&app, &a, 5).await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = start(
        &app,
        &a,
        json!({"target": format!("http://127.0.0.1:{port}/hook"), "concurrency": 2}),
    )
    .await;
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let job = finished(&app, job["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "done");
    assert_eq!(job["sent"], 5);
    assert_eq!(job["failed"], 5);
    assert_eq!(job["errors"], 5);
    for result in job["results"].as_array().unwrap() {
        assert!(result["status"].is_null());
        assert!(
            result["error"].as_str().unwrap().contains("connection"),
            "{result}"
        );
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("cl_replay_jobs_total{state=\"done\"}"),
        "replay jobs are counted"
    );
    app.stop().await;
}

async fn a_job_can_be_cancelled(shape: Shape) {
    let app = spawn_app(shape).await;
    let (a, b) = (app.new_path().await, app.new_path().await);
    fill(&app, &a, 20).await;
    let r = start(
        &app,
        &a,
        json!({"target": format!("{}/webhook/{b}", app.ingest), "rate": 2}),
    )
    .await;
    let job: Value = r.json().await.unwrap();
    let id = job["job_id"].as_str().unwrap();
    // Cancel a job that is under way: once it has sent something.
    for _ in 0..400 {
        let job = app.get_json(&format!("/api/replays/{id}")).await;
        if job["sent"].as_u64().unwrap() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let r = app
        .client
        .delete(format!("{}/api/replays/{id}", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let job = finished(&app, id).await;
    assert_eq!(job["state"], "cancelled");
    // Not a synchronisation: a cancelled job must stay still this long
    // (at 2/s it would have sent 3 more).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = app.get_json(&format!("/api/replays/{id}")).await;
    assert_eq!(later["state"], "cancelled");
    let sent = later["sent"].as_u64().unwrap();
    assert!(sent < 20, "{sent} sent after cancel");
    app.stop().await;
}

both_shapes!(
    replay_of_500_captures_is_exact_in_order_and_at_the_requested_rate,
    bad_replay_input_gets_clear_errors,
    unknown_ids_are_listed_and_the_rest_replayed,
    target_down_records_each_error_and_the_job_completes,
    a_job_can_be_cancelled,
);
