//! Paths users shape: custom responses, retention, search and export
//! (access control and masking: `access.rs`).

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::both_shapes;
use crate::support::{spawn_app, spawn_app_with, App, Flags, Shape};

async fn patch(app: &App, path: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(format!("{}/api/paths/{path}", app.api))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn custom_response_reaches_senders_within_a_second_of_the_patch(shape: Shape) {
    // Two ingests in the split shape: the change must reach each of them.
    let app = spawn_app_with(
        shape,
        Flags {
            ingests: 2,
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let custom = json!({"status": 201, "headers": [["x-custom", "yes"], ["content-type", "application/json"]], "body": "{\"ok\":true}"});
    let r = patch(&app, &path, json!({"response": custom})).await;
    assert_eq!(r.status(), 200);
    let patched = Instant::now();
    for ingest in &app.ingests {
        loop {
            let r = app
                .client
                .post(format!("{ingest}/webhook/{path}"))
                .body("x")
                .send()
                .await
                .unwrap();
            if r.status() == 201 {
                assert_eq!(r.headers()["x-custom"], "yes");
                assert_eq!(r.text().await.unwrap(), "{\"ok\":true}");
                break;
            }
            assert!(
                patched.elapsed() < Duration::from_secs(1),
                "custom response not live on {ingest} within 1 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Still captured, and clearing it restores the default answer.
    assert!(!app.all_ids(&path).await.is_empty() || !app.wait_count(&path, 1).await.is_empty());
    assert_eq!(
        patch(&app, &path, json!({"response": null})).await.status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(1);
    while app
        .webhook("POST", &path, "")
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A delay is honoured, after the capture is durable.
    let r = app
        .create_path(json!({"response": {"status": 202, "delay_ms": 300}}))
        .await;
    let delayed: Value = r.json().await.unwrap();
    let delayed = delayed["path_id"].as_str().unwrap().to_owned();
    app.wait_accepts(&delayed).await;
    let start = Instant::now();
    assert_eq!(
        app.webhook("POST", &delayed, "")
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    assert!(start.elapsed() >= Duration::from_millis(300));
    app.stop().await;
}

async fn bad_path_settings_are_400_and_change_nothing(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let before = app.get_json(&format!("/api/paths/{path}")).await;
    let big = "x".repeat(64 * 1024 + 1);
    for (body, code) in [
        (json!({"response": {"status": 99}}), "invalid_response"),
        (json!({"response": {"status": 600}}), "invalid_response"),
        (
            json!({"response": {"status": 200, "body": big}}),
            "invalid_response",
        ),
        (
            json!({"response": {"status": 200, "delay_ms": 30001}}),
            "invalid_response",
        ),
        (
            json!({"response": {"status": 200, "headers": [["bad name", "v"]]}}),
            "invalid_response",
        ),
        (
            json!({"response": {"status": 200, "headers": [["x-ok", "line\nbreak"]]}}),
            "invalid_response",
        ),
        (
            json!({"response": {"status": 200, "headers": [["content-length", "999"]], "body": "ok"}}),
            "invalid_response",
        ),
        (
            json!({"response": {"status": 200, "headers": [["Transfer-Encoding", "chunked"]]}}),
            "invalid_response",
        ),
        (
            json!({"response": {"status": 200, "headers": [["Connection", "close"]]}}),
            "invalid_response",
        ),
        (json!({"response": {"status": "200"}}), "invalid_json"),
        (json!({"max_requests": 0}), "invalid_max_requests"),
        (json!({"ttl_seconds": 0}), "invalid_ttl"),
        (json!({"unknown": 1}), "invalid_json"),
    ] {
        assert_eq!(
            error_code(patch(&app, &path, body.clone()).await).await,
            (400, code.to_owned()),
            "{body}"
        );
    }
    assert_eq!(app.get_json(&format!("/api/paths/{path}")).await, before);
    let r = app
        .create_path(json!({"path_id": "never", "response": {"status": 1000}}))
        .await;
    assert_eq!(error_code(r).await, (400, "invalid_response".to_owned()));
    assert_eq!(app.get("/api/paths/never").await.status(), 404);
    app.stop().await;
}

async fn max_requests_keeps_the_newest(shape: Shape) {
    let app = spawn_app_with(
        shape,
        Flags {
            query: &["--retention-interval", "200ms"],
            ..Flags::default()
        },
    )
    .await;
    let r = app.create_path(json!({"max_requests": 100})).await;
    let path = r.json::<Value>().await.unwrap()["path_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_accepts(&path).await;
    let mut sent = Vec::new();
    for i in 0..150 {
        sent.push(
            app.send(app.webhook("POST", &path, "").body(format!("{i}")))
                .await,
        );
    }
    // Exactly the newest 100, once every write and pruning pass is done (in
    // the split shape 100 rows can be seen while the last writes still come).
    let newest: Vec<String> = sent.iter().rev().take(100).cloned().collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ids = app.all_ids(&path).await;
    while ids != newest {
        assert!(
            Instant::now() < deadline,
            "not the newest 100: {} captures, newest stored: {}",
            ids.len(),
            ids.first() == newest.first()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        ids = app.all_ids(&path).await;
    }
    // Clearing a path keeps the path.
    let r = app
        .client
        .delete(format!("{}/api/paths/{path}/logs", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(app.all_ids(&path).await.is_empty());
    assert_eq!(app.get(&format!("/api/paths/{path}")).await.status(), 200);
    app.stop().await;
}

async fn logs_search_by_header_and_body_text(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let push = app
        .send(
            app.webhook("POST", &path, "")
                .header("x-github-event", "push")
                .body("{\"Action\":\"Opened 100%\"}"),
        )
        .await;
    let issue = app
        .send(
            app.webhook("POST", &path, "")
                .header("x-github-event", "issues")
                .body("it's closed"),
        )
        .await;
    let put = app
        .send(app.webhook("PUT", &path, "").body("opened again"))
        .await;
    app.wait_count(&path, 3).await;
    let ids = |v: Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let q = |s: &str| format!("/api/paths/{path}/logs?{s}");
    assert_eq!(
        ids(app.get_json(&q("header=x-github-event")).await),
        [issue.as_str(), push.as_str()]
    );
    assert_eq!(
        ids(app.get_json(&q("header=X-GitHub-Event:push")).await),
        [push.as_str()]
    );
    assert_eq!(
        ids(app.get_json(&q("q=OPENED")).await),
        [put.as_str(), push.as_str()]
    );
    assert_eq!(
        ids(app.get_json(&q("q=opened&method=POST")).await),
        [push.as_str()]
    );
    assert_eq!(ids(app.get_json(&q("q=100%25")).await), [push.as_str()]);
    assert_eq!(ids(app.get_json(&q("q=it%27s")).await), [issue.as_str()]);
    assert!(ids(app.get_json(&q("q=%25%27%22%5C")).await).is_empty());
    assert_eq!(
        ids(app.get_json(&q("q=opened&limit=1")).await),
        [put.as_str()]
    );
    for bad in [
        "header=bad%20name",
        "header=",
        "q=",
        "q=a%00b",
        &format!("q={}", "x".repeat(257)),
    ] {
        assert_eq!(app.get(&q(bad)).await.status(), 400, "{bad}");
    }
    app.stop().await;
}

async fn har_export_round_trips_fifty_captures(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let mut sent = Vec::new();
    for i in 0..50 {
        let (method, body): (&str, Vec<u8>) = match i % 3 {
            0 => ("POST", format!("{{\"n\":{i}}}").into_bytes()),
            1 => ("PUT", vec![0xff, 0x00, i as u8]),
            _ => ("GET", Vec::new()),
        };
        let rest = format!("/sub/{i}?i={i}&dup=a&dup=b");
        let id = app
            .send(
                app.webhook(method, &path, &rest)
                    .header("x-n", i.to_string())
                    .header("x-n", "again")
                    .body(body.clone()),
            )
            .await;
        sent.push((id, method, rest, body));
    }
    app.wait_count(&path, 50).await;
    let r = app
        .get(&format!("/api/paths/{path}/export?format=har"))
        .await;
    assert_eq!(r.status(), 200);
    let har: Value = serde_json::from_slice(&r.bytes().await.unwrap()).expect("valid JSON");
    // HAR 1.2 structure.
    assert_eq!(har["log"]["version"], "1.2");
    assert!(har["log"]["creator"]["name"].is_string());
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 50);
    for e in entries {
        for key in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(e.get(key).is_some(), "entry lacks {key}");
        }
        for key in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        ] {
            assert!(e["request"].get(key).is_some(), "request lacks {key}");
        }
        chrono::DateTime::parse_from_rfc3339(e["startedDateTime"].as_str().unwrap()).unwrap();
    }
    // Re-import: the same methods, URLs, headers and bodies.
    for (e, (id, method, rest, body)) in entries.iter().zip(sent.iter().rev()) {
        assert_eq!(e["_captureId"], id.as_str());
        assert_eq!(e["request"]["method"], *method);
        assert_eq!(
            e["request"]["url"],
            format!("{}/webhook/{path}{rest}", app.ingest)
        );
        let xn: Vec<&str> = e["request"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["name"] == "x-n")
            .map(|h| h["value"].as_str().unwrap())
            .collect();
        assert_eq!(xn.len(), 2);
        assert_eq!(xn[1], "again");
        let got = match e["request"].get("postData") {
            None => Vec::new(),
            Some(p) if p["encoding"] == "base64" => base64::engine::general_purpose::STANDARD
                .decode(p["text"].as_str().unwrap())
                .unwrap(),
            Some(p) => p["text"].as_str().unwrap().as_bytes().to_vec(),
        };
        assert_eq!(&got, body);
    }
    let nd = app
        .get(&format!(
            "/api/paths/{path}/export?format=ndjson&method=PUT"
        ))
        .await;
    assert_eq!(nd.status(), 200);
    let text = nd.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 17, "filters apply to exports");
    assert!(lines
        .iter()
        .all(|l| l["method"] == "PUT" && l["body_encoding"] == "base64"));
    assert_eq!(
        app.get(&format!("/api/paths/{path}/export?format=xml"))
            .await
            .status(),
        400
    );
    app.stop().await;
}

both_shapes!(
    custom_response_reaches_senders_within_a_second_of_the_patch,
    bad_path_settings_are_400_and_change_nothing,
    max_requests_keeps_the_newest,
    logs_search_by_header_and_body_text,
    har_export_round_trips_fifty_captures,
);
