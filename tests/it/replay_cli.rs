//! The `replay` (from JetStream, no database) and `forward` (live feed)
//! subcommands, run in-process against a recording target.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use bytes::Bytes;
use callback_listener::cli;
use callback_listener::config::{Cli, Command};
use chrono::Utc;
use clap::Parser;
use common::bus::JetStreamConfig;
use common::{Bus, Capture, Header, PathId};
use tokio_util::sync::CancellationToken;

use crate::support::spawn_standalone_on;

/// What the target received, in arrival order.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    uri: String,
    replay_of: String,
    seq: Option<String>,
    body: Bytes,
}

/// A tiny HTTP server that records every request; returns its base URL.
async fn recorder() -> (String, Arc<Mutex<Vec<Received>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let seen = seen.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let header = |n: &str| parts.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
            seen.lock().unwrap().push(Received {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                replay_of: header("x-callbacklistener-replay-of").unwrap_or_default(),
                seq: header("x-seq"),
                body,
            });
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, log)
}

fn parse(args: &[&str]) -> Command {
    let mut argv = vec!["callback-listener"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).unwrap().command.unwrap()
}

fn capture(path: &PathId, i: usize, received_at: chrono::DateTime<Utc>, body: Bytes) -> Capture {
    Capture {
        id: uuid::Uuid::now_v7(),
        path_id: path.clone(),
        method: if i.is_multiple_of(2) { "POST" } else { "PUT" }.into(),
        subpath: format!("/s/{i}"),
        query_string: format!("i={i}&x=1&x=2"),
        headers: vec![
            Header {
                name: "x-seq".into(),
                value: Bytes::from(i.to_string()),
            },
            Header {
                name: "content-type".into(),
                value: Bytes::from_static(b"application/octet-stream"),
            },
        ],
        header_order: common::HeaderOrder::Grouped,
        body,
        ip: "10.0.0.1".into(),
        received_at,
        signature: None,
        response: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_replays_a_time_range_from_jetstream_without_a_database() {
    let stream = testkit::TestStream::new().await;
    let nats = testkit::nats_url();
    let bus = Bus::jetstream(JetStreamConfig::new(&nats, &stream.name))
        .await
        .unwrap();
    let (path, other) = (
        PathId::parse("cli_a").unwrap(),
        PathId::parse("cli_b").unwrap(),
    );
    let now = Utc::now();
    let old = now - chrono::Duration::hours(2);
    let inside = now - chrono::Duration::minutes(30);
    let mut expected = Vec::new();
    for i in 0..30 {
        let (at, p) = match i % 3 {
            0 => (old, &path),
            1 => (inside + chrono::Duration::milliseconds(i as i64), &path),
            _ => (inside, &other),
        };
        // One body too large for a NATS message travels out of band.
        let body = if i == 4 {
            Bytes::from(
                (0..(2 << 20))
                    .map(|b: u32| (b % 251) as u8)
                    .collect::<Vec<_>>(),
            )
        } else {
            Bytes::from(vec![i as u8, 0xff, b'\n', 0])
        };
        let c = capture(p, i, at, body);
        if i % 3 == 1 {
            expected.push(c.clone());
        }
        bus.publish(c).await.unwrap();
    }

    let (target, log) = recorder().await;
    let since = (now - chrono::Duration::hours(1)).to_rfc3339();
    let until = (now - chrono::Duration::minutes(1)).to_rfc3339();
    let Command::Replay(args) = parse(&[
        "replay",
        "--nats-url",
        &nats,
        "--stream",
        &stream.name,
        "--path",
        "cli_a",
        "--to",
        &format!("{target}/base/"),
        "--since",
        &since,
        "--until",
        &until,
        "--keep-order",
        "--rate",
        "100",
        "--header",
        "x-extra: yes",
        "--quiet",
    ]) else {
        unreachable!()
    };
    let summary: cli::replay::Summary = tokio::time::timeout(
        Duration::from_secs(60),
        cli::replay::run(args, CancellationToken::new()),
    )
    .await
    .expect("replay finishes")
    .unwrap();
    assert_eq!(summary.tally.sent, 10, "{summary}");
    assert_eq!(summary.tally.succeeded, 10);
    assert!(summary.p50_ms.is_some() && summary.p99_ms.is_some());

    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), expected.len());
    for (r, c) in got.iter().zip(&expected) {
        assert_eq!(r.replay_of, c.id.to_string());
        assert_eq!(r.method, c.method);
        assert_eq!(r.uri, format!("/base{}?{}", c.subpath, c.query_string));
        assert_eq!(r.body, c.body, "body of {}", c.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_delivers_every_capture_once_in_order_across_a_server_restart() {
    let dir = tempfile::Builder::new()
        .prefix("cl-forward-")
        .tempdir()
        .unwrap();
    let db = format!("sqlite://{}/app.db", dir.path().display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = spawn_standalone_on(&db, Some(listener)).await;
    let path = app.new_path().await;

    let (target, log) = recorder().await;
    let Command::Forward(args) = parse(&[
        "forward", "--server", &app.api, "--path", &path, "--to", &target,
    ]) else {
        unreachable!()
    };
    let stop = CancellationToken::new();
    let forward = tokio::spawn(cli::forward::run(args, stop.clone()));
    // Forward follows the feed from "now": probes (left out of the checks
    // below, they carry no x-seq) until one arrives say it is following.
    let sequenced = |log: &Mutex<Vec<Received>>| {
        let log = log.lock().unwrap();
        log.iter().filter(|r| r.seq.is_some()).count()
    };
    let mut following = false;
    for _ in 0..100 {
        app.send(app.webhook("POST", &path, "/probe")).await;
        for _ in 0..10 {
            following = !log.lock().unwrap().is_empty();
            if following {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if following {
            break;
        }
    }
    assert!(following, "forward never delivered a probe");

    let count = |n: usize| {
        let log = log.clone();
        async move {
            for _ in 0..400 {
                if sequenced(&log) >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("target got {} of {n}", sequenced(&log));
        }
    };
    let mut ids = Vec::new();
    for i in 0..20 {
        let req = app
            .webhook("POST", &path, &format!("/hook?i={i}"))
            .header("x-seq", i.to_string())
            .body(format!("payload {i}"));
        ids.push(app.send(req).await);
    }
    count(20).await;

    // The server goes away for 5 s, then comes back on the same port and
    // database; captures keep coming, some before forward reconnects.
    app.stop().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let app = spawn_standalone_on(&db, Some(listener)).await;
    for i in 20..40 {
        let req = app
            .webhook("POST", &path, &format!("/hook?i={i}"))
            .header("x-seq", i.to_string())
            .body(format!("payload {i}"));
        ids.push(app.send(req).await);
    }
    count(40).await;
    // Nothing more arrives late (no doubles).
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    forward.await.unwrap().unwrap();

    let got: Vec<Received> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.seq.is_some())
        .cloned()
        .collect();
    assert_eq!(got.len(), 40);
    for (i, (r, id)) in got.iter().zip(&ids).enumerate() {
        assert_eq!(&r.replay_of, id);
        assert_eq!(r.seq.as_deref(), Some(i.to_string().as_str()));
        assert_eq!(r.uri, format!("/hook?i={i}"));
        assert_eq!(r.body, Bytes::from(format!("payload {i}")));
    }
    app.stop().await;
}
