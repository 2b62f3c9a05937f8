//! What exports say beyond the request itself: the answer the path gives,
//! binary header values marked as such, and masking that holds everywhere.

use serde_json::{json, Value};

use crate::support::{spawn_app_with, Flags, Shape};

async fn har_entries(app: &crate::support::App, path: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/paths/{path}/export?format=har"))
        .await;
    assert_eq!(r.status(), 200);
    let har: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    har["log"]["entries"].as_array().unwrap().clone()
}

async fn har_response_is_the_paths_answer_and_masked_content_type_stays_masked(shape: Shape) {
    let app = spawn_app_with(
        shape,
        Flags {
            query: &["--mask-headers", "content-type"],
            ..Flags::default()
        },
    )
    .await;
    let r = app
        .create_path(json!({"path_id": "answers_202", "response": {
            "status": 202, "headers": [["x-reply", "yes"]], "body": "queued"}}))
        .await;
    assert_eq!(r.status(), 201);
    app.wait_accepts("answers_202").await;
    let answered = app
        .webhook("POST", "answers_202", "")
        .header("content-type", "application/x-secret-kind")
        .header(
            "x-bin",
            reqwest::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 202);
    let id = app.wait_count("answers_202", 1).await.remove(0);
    let entries = har_entries(&app, "answers_202").await;
    let entry = entries
        .iter()
        .find(|e| e["_captureId"] == id.as_str())
        .expect("the capture is exported");
    assert_eq!(entry["response"]["status"], 202);
    assert_eq!(entry["response"]["statusText"], "Accepted");
    assert_eq!(
        entry["response"]["headers"],
        json!([{"name": "x-reply", "value": "yes"}])
    );
    assert_eq!(entry["request"]["postData"]["mimeType"], "[masked]");
    let har = entry.to_string();
    assert!(
        !har.contains("x-secret-kind"),
        "masked content type leaked: {har}"
    );
    let bin = entry["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "x-bin")
        .expect("binary header exported")
        .clone();
    assert_eq!(bin["_encoding"], "base64");
    assert_eq!(bin["value"], "//4=");

    let body = app
        .get(&format!("/api/paths/answers_202/logs/{id}/body"))
        .await;
    assert_eq!(body.headers()["content-type"], "application/octet-stream");
    app.stop().await;
}

crate::both_shapes!(har_response_is_the_paths_answer_and_masked_content_type_stays_masked);
