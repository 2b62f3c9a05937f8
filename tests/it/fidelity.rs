//! A capture is the request exactly as sent.

use std::io::Write as _;

use base64::Engine as _;
use futures::future::join_all;
use serde_json::Value;

use crate::both_shapes;
use crate::support::{spawn_app, App, Shape};

/// The exact body bytes, read back through the raw body endpoint and the
/// detail JSON.
async fn body_of(app: &App, path: &str, id: &str) -> (Vec<u8>, Value) {
    let detail = app.detail(path, id).await;
    let raw = app.get(&format!("/api/paths/{path}/logs/{id}/body")).await;
    assert_eq!(raw.status(), 200);
    let raw = raw.bytes().await.unwrap().to_vec();
    let from_json = match detail["body_encoding"].as_str().unwrap() {
        "utf8" => detail["body"].as_str().unwrap().as_bytes().to_vec(),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(detail["body_base64"].as_str().unwrap())
            .unwrap(),
        other => panic!("unknown encoding {other}"),
    };
    assert_eq!(raw, from_json, "raw body and detail JSON agree");
    (raw, detail)
}

async fn bodies_are_kept_byte_for_byte(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let invalid_utf8 = b"caf\xe9 \xff\xfe".to_vec();
    let mut gz = Vec::new();
    {
        // A minimal gzip stream of "hello" (stored block), built by hand so
        // the test needs no compressor: ingest must keep it compressed.
        gz.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
            .unwrap();
        gz.write_all(&[1, 5, 0, 0xfa, 0xff]).unwrap();
        gz.write_all(b"hello").unwrap();
        gz.write_all(&[0x86, 0xa6, 0x10, 0x36, 5, 0, 0, 0]).unwrap();
    }
    let big: Vec<u8> = (0..15 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("binary", all_bytes, Some("application/octet-stream")),
        ("invalid utf-8", invalid_utf8, Some("text/plain")),
        ("empty", Vec::new(), None),
        ("gzip", gz, Some("application/json")),
        ("15 MiB", big, Some("application/octet-stream")),
    ];
    for (name, body, content_type) in cases {
        let mut req = app.webhook("POST", &path, "").body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if name == "gzip" {
            req = req.header("content-encoding", "gzip");
        }
        let id = app.send(req).await;
        let (got, detail) = body_of(&app, &path, &id).await;
        assert!(
            got == body,
            "{name}: body differs ({} vs {} bytes)",
            got.len(),
            body.len()
        );
        assert_eq!(detail["body_size"], body.len(), "{name}");
    }
    app.stop().await;
}

async fn duplicate_headers_and_query_parameters_keep_their_order(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let req = app
        .webhook("POST", &path, "/hooks?b=2&a=1&b=3&empty=&flag&sp=a+b%20c")
        .header("x-dup", "first")
        .header("x-other", "o")
        .header("x-dup", "second")
        .header("x-dup", "third")
        .body("{}");
    let id = app.send(req).await;
    let d = app.detail(&path, &id).await;
    assert_eq!(d["query_string"], "b=2&a=1&b=3&empty=&flag&sp=a+b%20c");
    let params: Vec<(String, String)> = serde_json::from_value(d["query_params"].clone()).unwrap();
    let expected = [
        ("b", "2"),
        ("a", "1"),
        ("b", "3"),
        ("empty", ""),
        ("flag", ""),
        ("sp", "a b c"),
    ];
    assert_eq!(params, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    let dups: Vec<&str> = d["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0] == "x-dup")
        .map(|h| h[1].as_str().unwrap())
        .collect();
    assert_eq!(dups, ["first", "second", "third"]);
    assert!(d["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h[0] == "x-other" && h[1] == "o"));
    app.stop().await;
}

async fn non_utf8_header_values_are_kept_losslessly(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let value = reqwest::header::HeaderValue::from_bytes(b"caf\xe9").unwrap();
    let id = app
        .send(app.webhook("POST", &path, "").header("x-latin1", value))
        .await;
    let d = app.detail(&path, &id).await;
    let h = d["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "x-latin1")
        .unwrap();
    assert_eq!(
        h[1]["base64"],
        base64::engine::general_purpose::STANDARD.encode(b"caf\xe9")
    );
    app.stop().await;
}

async fn every_method_is_captured_including_extensions(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let methods = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PURGE", "PROPFIND", "MKCOL",
        "X-CUSTOM",
    ];
    for m in methods {
        let r = app.webhook(m, &path, "/m").send().await.unwrap();
        assert_eq!(r.status(), 200, "{m}");
    }
    let ids = app.wait_count(&path, methods.len()).await;
    let page = app
        .get_json(&format!("/api/paths/{path}/logs?limit=50"))
        .await;
    let mut seen: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["method"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    let mut want: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(ids.len(), methods.len());
    app.stop().await;
}

async fn subpaths_are_kept_as_sent(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    for (rest, subpath) in [
        ("", ""),
        ("/", "/"),
        ("/github/push", "/github/push"),
        ("/a%20b/c%2Fd", "/a%20b/c%2Fd"),
    ] {
        let id = app.send(app.webhook("POST", &path, rest)).await;
        let d = app.detail(&path, &id).await;
        assert_eq!(d["subpath"], subpath, "{rest:?}");
        assert_eq!(d["method"], "POST");
        assert_eq!(d["ip"], "127.0.0.1");
    }
    app.stop().await;
}

async fn two_thousand_concurrent_webhooks_are_stored_exactly_once(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let sends = (0..2000).map(|i| {
        let req = app
            .webhook("POST", &path, "")
            .body(format!("{{\"n\":{i}}}"));
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["request_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    });
    let mut acked: Vec<String> = join_all(sends).await;
    let mut stored = app.wait_count(&path, 2000).await;
    assert_eq!(stored.len(), 2000, "no capture doubled");
    acked.sort();
    stored.sort();
    assert_eq!(acked, stored);
    app.stop().await;
}

both_shapes!(
    bodies_are_kept_byte_for_byte,
    duplicate_headers_and_query_parameters_keep_their_order,
    non_utf8_header_values_are_kept_losslessly,
    every_method_is_captured_including_extensions,
    subpaths_are_kept_as_sent,
    two_thousand_concurrent_webhooks_are_stored_exactly_once,
);
