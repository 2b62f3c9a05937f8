//! The split shape against NATS servers that demand credentials or TLS, as
//! production ones do (private servers made in the test), and the startup
//! error a wrong credential gives.

use std::path::Path;
use std::time::Duration;

use callback_listener::config::{Cli, Command};
use callback_listener::roles;
use clap::Parser;
use tokio_util::sync::CancellationToken;

use crate::support::{spawn_app_with, Flags, Shape};

fn file(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// One webhook in, found in the logs: the whole split path works.
async fn round_trip(url: &str, flags: &[&str]) {
    let app = spawn_app_with(
        Shape::Split,
        Flags {
            ingest: flags,
            query: flags,
            nats_url: Some(url),
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let id = app
        .send(app.webhook("POST", &path, "/auth").body("secured"))
        .await;
    let ids = app.wait_count(&path, 1).await;
    assert_eq!(ids, vec![id]);
    app.stop().await;
}

/// What the ingest role says when it cannot start, within a bound.
async fn startup_error(args: &[&str]) -> String {
    let mut argv = vec!["callback-listener", "ingest"];
    argv.extend_from_slice(args);
    let Some(Command::Ingest(ingest)) = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let started = roles::ingest(ingest, listener, CancellationToken::new());
    let result = tokio::time::timeout(Duration::from_secs(30), started)
        .await
        .expect("a wrong credential must fail promptly, not hang");
    format!(
        "{:#}",
        result.expect_err("a wrong credential must not start")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_shape_connects_with_a_credentials_file() {
    let trust = testkit::Trust::new();
    let server = testkit::NatsServer::start_with(&trust.server_config()).await;
    let creds = file(server.files(), "user.creds", &trust.user_creds());
    round_trip(&server.url(), &["--nats-creds", &creds]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentials_file_the_server_does_not_trust_is_a_clear_startup_error() {
    let trust = testkit::Trust::new();
    let server = testkit::NatsServer::start_with(&trust.server_config()).await;
    let creds = file(
        server.files(),
        "stranger.creds",
        &testkit::Trust::stranger_creds(),
    );
    let error = startup_error(&["--nats-url", &server.url(), "--nats-creds", &creds]).await;
    assert!(
        error.contains("refused the credentials file (CL_NATS_CREDS)"),
        "{error}"
    );
    let missing = startup_error(&[
        "--nats-url",
        &server.url(),
        "--nats-creds",
        "/nonexistent.creds",
    ])
    .await;
    assert!(
        missing.contains("reading the NATS credentials file /nonexistent.creds"),
        "{missing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_shape_connects_over_mutual_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let certs = testkit::Certs::generate(dir.path());
    let server = testkit::NatsServer::start_with(&certs.server_config()).await;
    let (ca, cert, key) = (
        certs.ca.display().to_string(),
        certs.client_cert.display().to_string(),
        certs.client_key.display().to_string(),
    );
    let url = format!("tls://127.0.0.1:{}", server.port);
    let flags = [
        "--nats-tls-ca",
        &ca,
        "--nats-tls-cert",
        &cert,
        "--nats-tls-key",
        &key,
    ];
    round_trip(&url, &flags).await;

    // Without the client certificate the server refuses the handshake.
    let error = startup_error(&["--nats-url", &url, "--nats-tls-ca", &ca]).await;
    assert!(error.contains("TLS with NATS"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_from_a_mounted_file_works_and_never_shows_in_metrics_or_errors() {
    let token = "t0ken-that-must-stay-secret";
    let server =
        testkit::NatsServer::start_with(&format!("authorization {{ token: {token:?} }}\n")).await;
    let token_file = file(server.files(), "token", &format!("{token}\n"));
    let app = spawn_app_with(
        Shape::Split,
        Flags {
            ingest: &["--nats-token-file", &token_file],
            query: &["--nats-token-file", &token_file],
            nats_url: Some(&server.url()),
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    app.send(app.webhook("POST", &path, "").body("x")).await;
    app.wait_count(&path, 1).await;
    for base in app.ingests.iter().chain(&app.apis) {
        let metrics = app
            .client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!metrics.contains(token), "{base}/metrics shows the token");
    }
    app.stop().await;

    let wrong = file(server.files(), "wrong", "not-the-token");
    let url_with_password = format!("nats://user:hunter2@127.0.0.1:{}", server.port);
    let error = startup_error(&["--nats-url", &server.url(), "--nats-token-file", &wrong]).await;
    assert!(
        error.contains("refused the token (CL_NATS_TOKEN)"),
        "{error}"
    );
    assert!(!error.contains("not-the-token"), "{error}");
    let error = startup_error(&["--nats-url", &url_with_password]).await;
    assert!(!error.contains("hunter2"), "{error}");
}
