//! Per-path `forward_url`: the server re-sends each new capture, retrying,
//! and records every attempt.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_shapes;
use crate::support::{spawn_app, App, Shape};

async fn forwards_of(app: &App, path: &str) -> Vec<Value> {
    app.get_json(&format!("/api/paths/{path}/forwards")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn new_captures_are_forwarded_exactly_and_recorded(shape: Shape) {
    let app = spawn_app(shape).await;
    let target = app.new_path().await;
    let target_url = format!("{}/webhook/{target}", app.ingest);
    let r = app.create_path(json!({"forward_url": target_url})).await;
    assert_eq!(r.status(), 201);
    let source: Value = r.json().await.unwrap();
    assert_eq!(source["forward_url"], target_url.as_str());
    let source = source["path_id"].as_str().unwrap().to_owned();
    app.wait_accepts(&source).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let body = vec![i as u8, 0xff, b'x'];
        let id = app
            .send(
                app.webhook("PUT", &source, &format!("/gh/{i}?n={i}"))
                    .header("x-n", i.to_string())
                    .body(body.clone()),
            )
            .await;
        sent.push((id, i, body));
    }
    let arrived = app.wait_count(&target, 5).await;
    assert_eq!(arrived.len(), 5);
    for id in arrived {
        let d = app.detail(&target, &id).await;
        let of = d["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "x-callbacklistener-replay-of")
            .unwrap()[1]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, i, body) = sent
            .iter()
            .find(|(sid, _, _)| *sid == of)
            .expect("names its original");
        assert_eq!(d["method"], "PUT");
        assert_eq!(d["subpath"], format!("/gh/{i}"));
        assert_eq!(d["query_string"], format!("n={i}"));
        let got = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            d["body_base64"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(&got, body);
    }
    let attempts = forwards_of(&app, &source).await;
    assert_eq!(attempts.len(), 5);
    assert!(attempts
        .iter()
        .all(|a| a["status"] == 200 && a["attempt"] == 1));
    // Each attempt keeps what the target answered: here, ingest's receipt.
    for a in &attempts {
        let answer = &a["answer"];
        assert!(
            answer["headers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h[0] == "content-type" && h[1] == "application/json"),
            "{a}"
        );
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["status"], "received", "{a}");
        assert_eq!(answer["body_truncated"], false);
    }
    app.stop().await;
}

async fn a_down_target_is_retried_and_each_attempt_recorded(shape: Shape) {
    let app = spawn_app(shape).await;
    // Nothing listens on port 9 of loopback.
    let r = app
        .create_path(json!({"forward_url": "http://127.0.0.1:9/"}))
        .await;
    let path = r.json::<Value>().await.unwrap()["path_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_accepts(&path).await;
    let id = app.send(app.webhook("POST", &path, "").body("x")).await;
    let mut attempts = Vec::new();
    for _ in 0..100 {
        attempts = forwards_of(&app, &path).await;
        if attempts.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(attempts.len() >= 2, "retried: {attempts:?}");
    assert!(attempts.iter().all(|a| a["capture_id"] == id.as_str()
        && a["error"].is_string()
        && a["status"].is_null()));
    app.stop().await;
}

async fn bad_forward_urls_are_refused(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let patch = |body: Value| {
        app.client
            .patch(format!("{}/api/paths/{path}", app.api))
            .json(&body)
            .send()
    };
    let r = patch(json!({"forward_url": "not a url"})).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = patch(json!({"forward_url": "http://10.1.2.3/hook"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forward_not_allowed");
    let view = app.get_json(&format!("/api/paths/{path}")).await;
    assert!(view.get("forward_url").is_none(), "nothing changed");
    let r = app
        .create_path(json!({"forward_url": "http://169.254.169.254/"}))
        .await;
    assert_eq!(r.status(), 403);
    app.stop().await;
}

both_shapes!(
    new_captures_are_forwarded_exactly_and_recorded,
    a_down_target_is_retried_and_each_attempt_recorded,
    bad_forward_urls_are_refused,
);
