//! The `replay` and `forward` subcommands re-sign for the target's secret
//! when given `--sign-provider` / `--sign-secret`.

use std::time::Duration;

use bytes::Bytes;
use callback_listener::cli;
use callback_listener::config::{Cli, Command};
use chrono::Utc;
use clap::Parser;
use common::bus::JetStreamConfig;
use common::{Bus, Capture, Header, PathId};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::signatures::{post_signed, signed, PROD_STANDARD, PROD_STRIPE};
use crate::support::{spawn_app, App, Shape};

const STAGING: &str = "whsec_cli_staging_secret";

fn parse(args: &[&str]) -> Command {
    let mut argv = vec!["callback-listener"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).unwrap().command.unwrap()
}

async fn staging_path(app: &App, id: &str, provider: &str, secret: &str) {
    let r = app
        .create_path(json!({"path_id": id, "signing": {"provider": provider, "secret": secret}}))
        .await;
    assert_eq!(r.status(), 201);
    app.wait_accepts(id).await;
}

async fn all_valid(app: &App, path: &str, n: usize) {
    for id in app.wait_count(path, n).await {
        let d = app.detail(path, &id).await;
        assert_eq!(d["signature"], "valid", "{d}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_replay_from_jetstream_re_signs_for_the_staging_secret() {
    let staging_secret = "whsec_c3RhZ2luZy1jbGkta2V5LWJ5dGVz";
    let app = spawn_app(Shape::Standalone).await;
    staging_path(&app, "cli_staging", "standard-webhooks", staging_secret).await;
    let stream = testkit::TestStream::new().await;
    let nats = testkit::nats_url();
    let bus = Bus::jetstream(JetStreamConfig::new(&nats, &stream.name))
        .await
        .unwrap();
    let old = Utc::now() - chrono::Duration::minutes(10);
    for i in 0..3 {
        let body = format!("{{\"n\":{i}}}");
        let id = format!("msg_cli_{i}");
        let headers = signed(
            "standard-webhooks",
            PROD_STANDARD,
            &[("webhook-id", &id)],
            body.as_bytes(),
            old,
        );
        bus.publish(Capture {
            id: uuid::Uuid::now_v7(),
            path_id: PathId::parse("cli_prod").unwrap(),
            method: "POST".into(),
            subpath: String::new(),
            query_string: String::new(),
            headers: headers
                .into_iter()
                .map(|(name, v)| Header {
                    name,
                    value: Bytes::from(v),
                })
                .collect(),
            header_order: common::HeaderOrder::Grouped,
            body: Bytes::from(body),
            ip: "10.0.0.1".into(),
            received_at: old,
            signature: None,
            response: None,
        })
        .await
        .unwrap();
    }
    let target = format!("{}/webhook/cli_staging", app.ingest);
    let Command::Replay(args) = parse(&[
        "replay",
        "--nats-url",
        &nats,
        "--stream",
        &stream.name,
        "--path",
        "cli_prod",
        "--to",
        &target,
        "--sign-provider",
        "standard-webhooks",
        "--sign-secret",
        staging_secret,
        "--quiet",
    ]) else {
        unreachable!()
    };
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        cli::replay::run(args, CancellationToken::new()),
    )
    .await
    .expect("replay finishes")
    .unwrap();
    assert_eq!(summary.tally.succeeded, 3, "{summary}");
    all_valid(&app, "cli_staging", 3).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_forward_re_signs_for_the_staging_secret() {
    let app = spawn_app(Shape::Standalone).await;
    staging_path(&app, "fwd_prod", "stripe", PROD_STRIPE).await;
    staging_path(&app, "fwd_staging", "stripe", STAGING).await;
    let target = format!("{}/webhook/fwd_staging", app.ingest);
    let Command::Forward(args) = parse(&[
        "forward",
        "--server",
        &app.api,
        "--path",
        "fwd_prod",
        "--to",
        &target,
        "--sign-provider",
        "stripe",
        "--sign-secret",
        STAGING,
    ]) else {
        unreachable!()
    };
    let stop = CancellationToken::new();
    let forward = tokio::spawn(cli::forward::run(args, stop.clone()));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let old = Utc::now() - chrono::Duration::minutes(10);
    for i in 0..3 {
        let body = format!("{{\"charge\":{i}}}");
        let headers = signed("stripe", PROD_STRIPE, &[], body.as_bytes(), old);
        post_signed(&app, "fwd_prod", &headers, &body).await;
    }
    all_valid(&app, "fwd_staging", 3).await;
    stop.cancel();
    forward.await.unwrap().unwrap();
    app.stop().await;
}

#[test]
fn cli_signing_options_are_checked_and_the_secret_never_printed() {
    let Command::Replay(args) = parse(&[
        "replay",
        "--path",
        "p",
        "--to",
        "http://127.0.0.1:1/",
        "--sign-provider",
        "stripe",
        "--sign-secret",
        "sk_hidden",
    ]) else {
        unreachable!()
    };
    assert!(!format!("{args:?}").contains("sk_hidden"));
    assert!(args.signing.profile().unwrap().is_some());
    let Command::Replay(args) = parse(&[
        "replay",
        "--path",
        "p",
        "--to",
        "http://127.0.0.1:1/",
        "--sign-provider",
        "nope",
        "--sign-secret",
        "x",
    ]) else {
        unreachable!()
    };
    assert!(args.signing.profile().is_err());
}
