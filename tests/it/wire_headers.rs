//! Header lines exactly as on the wire: the order across names and the case
//! of each name, for requests pipelined on one keep-alive connection with
//! fixed-length, chunked and empty bodies.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::both_shapes;
use crate::support::{spawn_app, App, Shape};

/// (subpath, header lines as sent, framing and body bytes, the body stored)
type Request = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
    &'static str,
);

fn requests() -> Vec<Request> {
    vec![
        (
            "/fixed",
            vec![
                ("Host", "t"),
                ("X-Dup", "1"),
                ("x-other", "o"),
                ("X-DUP", "2"),
                ("Content-Type", "text/plain"),
                ("Content-Length", "5"),
                ("x-dup", "3"),
            ],
            "hello",
            "hello",
        ),
        (
            "/chunked",
            vec![
                ("host", "t"),
                ("Transfer-Encoding", "chunked"),
                ("X-Mixed-Case", "a"),
                ("X-Hub-Signature-256", "sha256=00"),
                ("x-mixed-case", "b"),
            ],
            "2\r\nab\r\n3;ext=1\r\ncde\r\n0\r\n\r\n",
            "abcde",
        ),
        (
            "/empty",
            vec![
                ("HOST", "t"),
                ("X-Last", "z"),
                ("Content-Length", "0"),
                ("Connection", "close"),
                ("Stripe-Signature", "t=1,v1=ab"),
            ],
            "",
            "",
        ),
    ]
}

async fn pipeline(app: &App, path: &str) -> String {
    let mut wire = Vec::new();
    for (subpath, lines, body, _) in requests() {
        wire.extend_from_slice(format!("POST /webhook/{path}{subpath} HTTP/1.1\r\n").as_bytes());
        for (name, value) in &lines {
            wire.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(body.as_bytes());
    }
    let addr = app.ingest.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // All three in one write: the server reads them back to back.
    s.write_all(&wire).await.unwrap();
    let mut answers = Vec::new();
    s.read_to_end(&mut answers).await.unwrap();
    String::from_utf8_lossy(&answers).into_owned()
}

async fn header_lines_are_kept_as_on_the_wire(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let answers = pipeline(&app, &path).await;
    assert_eq!(
        answers.matches("HTTP/1.1 200 OK").count(),
        3,
        "three answers on one connection: {answers}"
    );
    app.wait_count(&path, 3).await;
    let page = app.get_json(&format!("/api/paths/{path}/logs")).await;
    for (subpath, lines, _, stored) in requests() {
        let summary = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["subpath"] == subpath)
            .unwrap_or_else(|| panic!("{subpath} captured"));
        let id = summary["id"].as_str().unwrap();
        let d = app.detail(&path, id).await;
        let expected: Vec<Value> = lines.iter().map(|(n, v)| json!([n, v])).collect();
        assert_eq!(d["headers"], Value::Array(expected), "{subpath}");
        assert_eq!(d["header_order"], "wire", "{subpath}");
        let body = app
            .get(&format!("/api/paths/{path}/logs/{id}/body"))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(body, stored.as_bytes(), "{subpath}");
    }

    // The HAR export lists them the same way.
    let har = app
        .get_json(&format!("/api/paths/{path}/export?format=har"))
        .await;
    let entry = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["url"].as_str().unwrap().ends_with("/fixed"))
        .unwrap()
        .clone();
    let names: Vec<&str> = entry["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Host",
            "X-Dup",
            "x-other",
            "X-DUP",
            "Content-Type",
            "Content-Length",
            "x-dup"
        ]
    );

    // Header search still matches whatever case was sent.
    let found = app
        .get_json(&format!("/api/paths/{path}/logs?header=x-mixed-case:b"))
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["subpath"], "/chunked");
    app.stop().await;
}

/// After a request asking for a protocol upgrade the recorder stops
/// following the connection (the bytes after it might be another protocol):
/// later requests on it are captured with hyper's grouping, and say so.
async fn captures_the_recorder_cannot_vouch_for_say_grouped(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let wire = format!(
        "POST /webhook/{path}/first HTTP/1.1\r\nHost: t\r\nUpgrade: example\r\nContent-Length: 0\r\n\r\n\
         POST /webhook/{path}/second HTTP/1.1\r\nHost: t\r\nX-B: 1\r\nX-A: 2\r\nx-b: 3\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let addr = app.ingest.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(wire.as_bytes()).await.unwrap();
    let mut answers = Vec::new();
    s.read_to_end(&mut answers).await.unwrap();
    let answers = String::from_utf8_lossy(&answers);
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 2, "{answers}");
    app.wait_count(&path, 2).await;
    let page = app.get_json(&format!("/api/paths/{path}/logs")).await;
    let id_of = |subpath: &str| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["subpath"] == subpath)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = app.detail(&path, &id_of("/first")).await;
    assert_eq!(first["header_order"], "wire");
    assert_eq!(first["headers"][1], json!(["Upgrade", "example"]));
    let second = app.detail(&path, &id_of("/second")).await;
    assert_eq!(second["header_order"], "grouped");
    let names: Vec<&str> = second["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap())
        .collect();
    // hyper groups by lower-cased name in first-seen order.
    assert_eq!(
        names,
        ["host", "x-b", "x-b", "x-a", "content-length", "connection"]
    );
    app.stop().await;
}

both_shapes!(
    header_lines_are_kept_as_on_the_wire,
    captures_the_recorder_cannot_vouch_for_say_grouped,
);
