//! Hostile HTTP: slow clients, oversized or contradictory requests, floods of
//! connections, and content that must never be served as a page.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{spawn_app, spawn_app_with, App, Flags, Shape};

fn addr(app: &App) -> String {
    app.ingest.trim_start_matches("http://").to_owned()
}

/// Writes `head` raw and returns whatever the server answers (until it
/// closes or 5 s pass), and how long it took.
async fn raw(app: &App, head: &[u8]) -> (String, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    s.write_all(head).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

#[tokio::test]
async fn slowloris_headers_are_cut_off() {
    let app = spawn_app_with(
        Shape::Standalone,
        Flags {
            ingest: &["--header-timeout", "1s"],
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(format!("POST /webhook/{path} HTTP/1.1\r\nhost: a\r\nx-slow: ").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(4), s.read_to_end(&mut buf)).await;
    assert!(
        closed.is_ok(),
        "connection still open after the header timeout"
    );
    assert!(app.all_ids(&path).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn slow_bodies_get_408_and_are_not_stored() {
    let app = spawn_app_with(
        Shape::Standalone,
        Flags {
            ingest: &["--body-timeout", "1s"],
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let head = format!(
        "POST /webhook/{path} HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\nonly ten b"
    );
    let (answer, took) = raw(&app, head.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"));
    assert!(took < Duration::from_secs(4));
    assert!(app.all_ids(&path).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_431() {
    let app = spawn_app(Shape::Standalone).await;
    let path = app.new_path().await;
    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let (answer, _) = raw(
        &app,
        format!("POST /webhook/{path} HTTP/1.1\r\nhost: a\r\n{many}content-length: 0\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let big = "v".repeat(100 << 10);
    let (answer, _) = raw(
        &app,
        format!(
            "POST /webhook/{path} HTTP/1.1\r\nhost: a\r\nx-big: {big}\r\ncontent-length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(80)]
    );
    assert!(app.all_ids(&path).await.is_empty());
    app.stop().await;
}

/// hyper follows Transfer-Encoding when both framings are present, drops
/// Content-Length before we see it, and closes the connection after the
/// answer (RFC 9112 6.3), so nothing can be smuggled behind the body;
/// contradictory Content-Lengths are refused outright.
#[tokio::test]
async fn conflicting_framing_cannot_smuggle_a_second_request() {
    let app = spawn_app(Shape::Standalone).await;
    let path = app.new_path().await;
    let smuggled =
        format!("POST /webhook/{path} HTTP/1.1\r\nhost: a\r\ncontent-length: 8\r\n\r\nsmuggled");
    let head = format!(
        "POST /webhook/{path} HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n{smuggled}"
    );
    let (answer, _) = raw(&app, head.as_bytes()).await;
    assert_eq!(
        answer.matches("HTTP/1.1 ").count(),
        1,
        "one answer, then the connection closed: {answer}"
    );
    assert!(answer.to_ascii_lowercase().contains("connection: close"));
    let ids = app.wait_count(&path, 1).await;
    assert_eq!(ids.len(), 1, "the smuggled request was not processed");
    assert_eq!(app.detail(&path, &ids[0]).await["body"], "hello");
    let dup = format!("POST /webhook/{path} HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!");
    let (answer, _) = raw(&app, dup.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(app.all_ids(&path).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn ten_thousand_idle_connections_do_not_stop_new_webhooks() {
    let app = spawn_app(Shape::Standalone).await;
    let path = app.new_path().await;
    // The idle clients live in another process: one process may not hold
    // both ends of 10,000 connections under this machine's descriptor limit.
    let script = format!(
        "import socket,sys,time\nss=[]\nfor _ in range(10000):\n    s=socket.create_connection(('{}',{}))\n    ss.append(s)\nprint('ready',flush=True)\ntime.sleep(60)\n",
        "127.0.0.1",
        addr(&app).rsplit(':').next().unwrap()
    );
    let mut idle = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3");
    let mut out = idle.stdout.take().unwrap();
    let mut ready = [0u8; 5];
    tokio::time::timeout(Duration::from_secs(60), out.read_exact(&mut ready))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&ready, b"ready");
    let start = Instant::now();
    let id = app
        .send(app.webhook("POST", &path, "").body("still served"))
        .await;
    assert!(start.elapsed() < Duration::from_secs(5));
    app.detail(&path, &id).await;
    idle.kill().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn the_connection_limit_holds_new_connections_until_one_frees() {
    let app = spawn_app_with(
        Shape::Standalone,
        Flags {
            ingest: &["--max-connections", "3"],
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    // The client's pooled connections count too: use fresh ones.
    let idle: Vec<TcpStream> =
        futures::future::join_all((0..3).map(|_| TcpStream::connect(addr(&app))))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = format!("{}/webhook/{path}", app.ingest);
    let waiting = tokio::spawn({
        let (fresh, url) = (fresh.clone(), url.clone());
        async move {
            fresh
                .post(url)
                .body("queued")
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a fourth connection was served past the limit of 3"
    );
    drop(idle);
    let status = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    app.stop().await;
}

async fn per_ip_rate_limit_answers_429_with_retry_after(shape: Shape) {
    let app = spawn_app_with(
        shape,
        Flags {
            ingest: &["--rate-limit", "2", "--rate-burst", "3"],
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..10 {
        let r = app.webhook("POST", &path, "").send().await.unwrap();
        match r.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                let after: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=2).contains(&after));
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(body["error"]["code"], "rate_limited");
            }
            s => panic!("unexpected {s}"),
        }
    }
    // The burst of 3 is shared with the probe that waited for the path.
    assert!(ok >= 2 && limited >= 5, "ok {ok}, limited {limited}");
    let stored = app.wait_count(&path, ok).await;
    assert_eq!(stored.len(), ok, "refused webhooks are not stored");
    app.stop().await;
}

async fn hostile_ids_and_stored_html_are_harmless(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    for hostile in [
        "%27%3B%20DROP%20TABLE%20captures--",
        "a%00b",
        "..%2F..",
        "%2A",
        "a.b",
    ] {
        let r = app
            .client
            .post(format!("{}/webhook/{hostile}", app.ingest))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{hostile}");
        let r = app.get(&format!("/api/paths/{hostile}/logs")).await;
        assert!(
            matches!(r.status().as_u16(), 400 | 404),
            "{hostile}: {}",
            r.status()
        );
    }
    let id = app
        .send(
            app.webhook("POST", &path, "")
                .header("content-type", "text/html")
                .body("<script>alert(1)</script>"),
        )
        .await;
    app.detail(&path, &id).await;
    let r = app.get(&format!("/api/paths/{path}/logs/{id}/body")).await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(
        app.all_ids(&path).await.len(),
        1,
        "the captures table is intact"
    );
    app.stop().await;
}

crate::both_shapes!(
    per_ip_rate_limit_answers_429_with_retry_after,
    hostile_ids_and_stored_html_are_harmless
);
