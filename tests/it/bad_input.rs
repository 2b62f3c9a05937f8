//! Every bad input gets a clear JSON error and changes nothing else.

use serde_json::{json, Value};

use crate::both_shapes;
use crate::support::{spawn_app, spawn_app_with, App, Flags, Shape};

async fn assert_error(r: reqwest::Response, status: u16, code: &str) {
    assert_eq!(r.status(), status);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

/// What a test checks is unchanged: the paths and one path's captures.
async fn snapshot(app: &App, path: &str) -> (Value, Vec<String>) {
    let mut paths = app.get_json("/api/paths").await;
    paths["items"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|p| p["path_id"].as_str().unwrap().to_owned());
    (paths, app.all_ids(path).await)
}

async fn invalid_path_ids_are_refused(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    app.send(app.webhook("POST", &path, "")).await;
    app.wait_count(&path, 1).await;
    let before = snapshot(&app, &path).await;
    for bad in ["a.b", "a b", "*", ">", "a*b", &"x".repeat(65), "", "ü"] {
        assert_error(
            app.create_path(json!({"path_id": bad})).await,
            400,
            "invalid_path_id",
        )
        .await;
    }
    assert_error(
        app.create_path(json!({"path_id": 5})).await,
        400,
        "invalid_json",
    )
    .await;
    assert_error(
        app.create_path(json!({"path": "x"})).await,
        400,
        "invalid_json",
    )
    .await;
    assert_error(
        app.create_path(json!({"path_id": path})).await,
        409,
        "path_taken",
    )
    .await;
    let malformed = app
        .client
        .post(format!("{}/api/paths", app.api))
        .header("content-type", "application/json")
        .body("{\"path_id\":")
        .send()
        .await
        .unwrap();
    assert_error(malformed, 400, "invalid_json").await;
    let not_json = app
        .client
        .post(format!("{}/api/paths", app.api))
        .header("content-type", "text/plain")
        .body("path_id=x")
        .send()
        .await
        .unwrap();
    assert_error(not_json, 415, "unsupported_media_type").await;
    assert_eq!(snapshot(&app, &path).await, before);
    app.stop().await;
}

async fn unknown_things_are_404(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let id = app.send(app.webhook("POST", &path, "")).await;
    app.detail(&path, &id).await;
    let before = snapshot(&app, &path).await;
    assert_error(
        app.webhook("POST", "no-such-path", "")
            .send()
            .await
            .unwrap(),
        404,
        "path_not_found",
    )
    .await;
    assert_error(
        app.webhook("POST", "bad.id", "/x").send().await.unwrap(),
        404,
        "path_not_found",
    )
    .await;
    assert_error(
        app.get("/api/paths/no-such-path").await,
        404,
        "path_not_found",
    )
    .await;
    assert_error(
        app.get("/api/paths/no-such-path/logs").await,
        404,
        "path_not_found",
    )
    .await;
    let unknown = uuid_v7_like(&id);
    assert_error(
        app.get(&format!("/api/paths/{path}/logs/{unknown}")).await,
        404,
        "request_not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/paths/{path}/logs/not-a-uuid")).await,
        400,
        "invalid_request_id",
    )
    .await;
    assert_error(app.get("/api/nope").await, 404, "route_not_found").await;
    let wrong_method = app
        .client
        .put(format!("{}/api/paths", app.api))
        .send()
        .await
        .unwrap();
    assert_error(wrong_method, 405, "method_not_allowed").await;
    let del = app
        .client
        .delete(format!("{}/api/paths/no-such-path", app.api))
        .send()
        .await
        .unwrap();
    assert_error(del, 404, "path_not_found").await;
    assert_eq!(snapshot(&app, &path).await, before);
    app.stop().await;
}

/// Another id of the same shape that was never issued.
fn uuid_v7_like(id: &str) -> String {
    let last = id.chars().last().unwrap();
    let swapped = if last == '0' { '1' } else { '0' };
    format!("{}{swapped}", &id[..id.len() - 1])
}

async fn bad_log_queries_are_400(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    for (q, code) in [
        ("cursor=garbage", "invalid_cursor"),
        (
            "cursor=%27%3B%20drop%20table%20captures--",
            "invalid_cursor",
        ),
        ("limit=0", "invalid_limit"),
        ("limit=501", "invalid_limit"),
        ("limit=-1", "invalid_query"),
        ("limit=ten", "invalid_query"),
        ("since=yesterday", "invalid_time"),
        ("until=2026-13-01T00:00:00Z", "invalid_time"),
        ("method=P%20OST", "invalid_method"),
    ] {
        assert_error(
            app.get(&format!("/api/paths/{path}/logs?{q}")).await,
            400,
            code,
        )
        .await;
    }
    app.stop().await;
}

async fn oversized_bodies_are_413_and_not_stored(shape: Shape) {
    let app = spawn_app_with(
        shape,
        Flags {
            ingest: &["--max-body-bytes", "1024"],
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    app.send(app.webhook("POST", &path, "").body(vec![b'a'; 1024]))
        .await;
    app.wait_count(&path, 1).await;
    let before = snapshot(&app, &path).await;
    assert_error(
        app.webhook("POST", &path, "")
            .body(vec![b'a'; 1025])
            .send()
            .await
            .unwrap(),
        413,
        "body_too_large",
    )
    .await;
    // Chunked, so the limit is found while reading rather than from
    // Content-Length. On a raw socket: the whole request is written before
    // the answer is read, so the 413 is always seen (an HTTP client may
    // report the early close instead).
    let mut wire =
        format!("POST /webhook/{path} HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n")
            .into_bytes();
    for _ in 0..4 {
        wire.extend_from_slice(b"200\r\n");
        wire.extend_from_slice(&[b'b'; 512]);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_exchange(&app, &wire).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");
    // Give a wrongly accepted capture time to show up before comparing.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(snapshot(&app, &path).await, before);
    app.stop().await;
}

/// Writes `wire` on a fresh connection, then reads the answer until the
/// server closes or a second has passed without more bytes.
async fn raw_exchange(app: &crate::support::App, wire: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = app.ingest.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // The server may answer and close before reading everything.
    let _ = s.write_all(wire).await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) =
        tokio::time::timeout(std::time::Duration::from_secs(1), s.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

both_shapes!(
    invalid_path_ids_are_refused,
    unknown_things_are_404,
    bad_log_queries_are_400,
    oversized_bodies_are_413_and_not_stored,
);
