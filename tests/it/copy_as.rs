//! "Copy as" from the API: each curl command, run with bash (real curl),
//! sends the capture again, and the new capture matches the old one in
//! method, subpath, raw query, headers other than hop-by-hop ones (and the
//! Host and Content-Length curl computes), and body bytes.

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::both_shapes;
use crate::support::{spawn_app, App, Shape};

const DROPPED: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// Sends one request exactly as given and returns the capture id.
async fn send_raw(app: &App, head: &str, body: &[u8]) -> String {
    let addr = app.ingest.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let v: Value = serde_json::from_str(json).unwrap();
    v["request_id"].as_str().unwrap().to_owned()
}

fn kept_headers(d: &Value) -> Vec<Value> {
    d["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| !DROPPED.contains(&h[0].as_str().unwrap().to_ascii_lowercase().as_str()))
        .cloned()
        .collect()
}

async fn body(app: &App, path: &str, id: &str) -> Vec<u8> {
    let r = app.get(&format!("/api/paths/{path}/logs/{id}/body")).await;
    r.bytes().await.unwrap().to_vec()
}

/// Copies the capture as curl, runs it, and compares the two captures.
async fn replays_exactly(
    app: &App,
    path: &str,
    head: &str,
    wire: &[u8],
    body_bytes: &[u8],
) -> String {
    let original = send_raw(app, head, wire).await;
    app.wait_count(path, 1).await;
    let r = app
        .get(&format!("/api/paths/{path}/logs/{original}/curl"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let command = r.text().await.unwrap();
    for hop in ["Transfer-Encoding", "Content-Length", "Connection:"] {
        assert!(!command.contains(hop), "{hop} in {command}");
    }
    // Options for the run go after the curl line's arguments; a
    // here-document's body must stay last, so they go on the curl line.
    let script = match command.split_once(" \\\n") {
        Some((first, rest)) => format!("{first} -sS -o /dev/null --max-time 20 \\\n{rest}"),
        None => format!("{command} -sS -o /dev/null --max-time 20"),
    };
    // From a file: a 200 KiB command is itself too long for `bash -c`'s
    // one argument (a terminal paste has no such limit).
    let file = std::env::temp_dir().join(format!("cl-curl-{original}.sh"));
    std::fs::write(&file, &script).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("bash")
            .arg(&file)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&file);
        out
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "bash failed: {}\n{command}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = app.wait_count(path, 2).await;
    let copy = ids.into_iter().find(|i| *i != original).unwrap();
    let (a, b) = (
        app.detail(path, &original).await,
        app.detail(path, &copy).await,
    );
    for field in ["method", "subpath", "query_string"] {
        assert_eq!(a[field], b[field], "{field}\n{command}");
    }
    assert_eq!(kept_headers(&a), kept_headers(&b), "{command}");
    assert_eq!(
        body(app, path, &original).await,
        body(app, path, &copy).await
    );
    assert_eq!(body(app, path, &copy).await, body_bytes.to_vec());
    command
}

async fn copied_curl_commands_reproduce_their_captures(shape: Shape) {
    let app = spawn_app(shape).await;

    // Chunked with an empty body: no body is announced, the command ends.
    let p = app.new_path().await;
    let head = format!(
        "POST /webhook/{p}/hooks/chunked?a=1&b=%20x&arr[]=2&a=3 HTTP/1.1\r\nHost: h\r\n\
         Transfer-Encoding: chunked\r\nX-Mixed: A\r\nUser-Agent: Sender/1\r\nx-mixed: it's\r\n\
         X-Empty: \r\nConnection: close\r\n\r\n"
    );
    let cmd = replays_exactly(&app, &p, &head, b"0\r\n\r\n", b"").await;
    assert!(!cmd.contains("--data"), "{cmd}");

    // A 200 KiB JSON body: too big for one argument, so a here-document.
    let p = app.new_path().await;
    let json = format!(
        "{{\"pad\":\"{}\",\"q\":\"it's $HOME\"}}",
        "x".repeat(200 << 10)
    );
    let head = format!(
        "POST /webhook/{p}/big HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        json.len()
    );
    let cmd = replays_exactly(&app, &p, &head, json.as_bytes(), json.as_bytes()).await;
    assert!(cmd.contains("base64 -d <<'CL_BODY'"), "here-document");

    // Every byte value.
    let p = app.new_path().await;
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let head = format!(
        "PUT /webhook/{p} HTTP/1.1\r\nHost: h\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        binary.len()
    );
    replays_exactly(&app, &p, &head, &binary, &binary).await;

    // A leading '@' is not a file name to read.
    let p = app.new_path().await;
    let at = b"@/etc/passwd";
    let head = format!(
        "POST /webhook/{p}/at HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        at.len()
    );
    replays_exactly(&app, &p, &head, at, at).await;

    // A small text body with quotes and shell characters goes inline.
    let p = app.new_path().await;
    let text = b"a='1' \"b\" $(rm -rf /) `x` \\ \n\ttab";
    let head = format!(
        "PATCH /webhook/{p}/t?x=%27 HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        text.len()
    );
    let cmd = replays_exactly(&app, &p, &head, text, text).await;
    assert!(cmd.contains("--data-binary '"), "{cmd}");
    app.stop().await;
}

async fn httpie_and_fetch_carry_the_same_request(shape: Shape) {
    let app = spawn_app(shape).await;
    let p = app.new_path().await;
    let head = format!(
        "POST /webhook/{p}/gh?x=1 HTTP/1.1\r\nHost: h\r\nX-GitHub-Event: push\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let id = send_raw(&app, &head, b"8\r\n{\"a\":\"b\"\r\n1\r\n}\r\n0\r\n\r\n").await;
    app.wait_count(&p, 1).await;
    let url = format!("{}/webhook/{p}/gh?x=1", app.ingest);
    let get = |kind: &str| format!("/api/paths/{p}/logs/{id}/{kind}");
    let httpie = app.get(&get("httpie")).await.text().await.unwrap();
    assert!(httpie.starts_with("http --path-as-is"), "{httpie}");
    assert!(httpie.contains(&format!("POST '{url}'")), "{httpie}");
    assert!(httpie.contains("X-GitHub-Event:push"), "{httpie}");
    assert!(httpie.contains(r#"--raw '{"a":"b"}'"#), "{httpie}");
    assert!(!httpie.contains("Transfer-Encoding"), "{httpie}");
    let fetch = app.get(&get("fetch")).await.text().await.unwrap();
    assert!(
        fetch.starts_with(&format!("await fetch(\"{url}\"")),
        "{fetch}"
    );
    assert!(fetch.contains(r#"method: "POST""#), "{fetch}");
    assert!(fetch.contains(r#"["X-GitHub-Event", "push"]"#), "{fetch}");
    assert!(fetch.contains(r#"body: "{\"a\":\"b\"}""#), "{fetch}");
    assert!(!fetch.contains("Transfer-Encoding"), "{fetch}");

    // Another target keeps the subpath and raw query.
    let r = app
        .get(&format!(
            "/api/paths/{p}/logs/{id}/curl?url=http://localhost:3000/local"
        ))
        .await;
    let curl = r.text().await.unwrap();
    assert!(
        curl.contains("http://localhost:3000/local/gh?x=1"),
        "{curl}"
    );
    let bad = app
        .get(&format!("/api/paths/{p}/logs/{id}/curl?url=ftp://x"))
        .await;
    assert_eq!(bad.status(), 400);
    let v: Value = bad.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_url");
    let missing = app
        .get(&format!(
            "/api/paths/{p}/logs/0190a0a0-0000-7000-8000-000000000000/curl"
        ))
        .await;
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

both_shapes!(
    copied_curl_commands_reproduce_their_captures,
    httpie_and_fetch_carry_the_same_request
);
