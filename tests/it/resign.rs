//! Replay into staging, re-signed: captures signed with the production
//! secret and timestamped ten minutes ago arrive at a path verifying with
//! the staging secret as `valid`, bodies byte-identical.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::{json, Value};

use crate::both_shapes;
use crate::replay::{finished_within, start};
use crate::signatures::{post_signed, signed, PROD_STANDARD, PROD_STRIPE};
use crate::support::{spawn_app, App, Shape};

const STAGING_STRIPE: &str = "whsec_staging_stripe_secret_5678";
const STAGING_STANDARD: &str = "whsec_c3RhZ2luZy1zdGFuZGFyZC13ZWJob29rcy1rZXk=";

async fn finished(app: &App, job_id: &str) -> Value {
    finished_within(app, job_id, 800).await
}

fn header<'a>(d: &'a Value, name: &str) -> Option<&'a str> {
    d["headers"]
        .as_array()?
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
}

async fn path_with(app: &App, id: &str, provider: &str, secret: &str) {
    let r = app
        .create_path(json!({"path_id": id, "signing": {"provider": provider, "secret": secret}}))
        .await;
    assert_eq!(r.status(), 201);
    app.wait_accepts(id).await;
}

async fn captures_replayed_into_staging_verify_under_the_staging_secret(shape: Shape) {
    let app = spawn_app(shape).await;
    let ten_minutes_ago = Utc::now() - chrono::Duration::minutes(10);
    for (provider, prod, staging) in [
        ("stripe", PROD_STRIPE, STAGING_STRIPE),
        ("standard-webhooks", PROD_STANDARD, STAGING_STANDARD),
    ] {
        let (a, b) = (
            format!("{}_prod", &provider[..6]),
            format!("{}_staging", &provider[..6]),
        );
        path_with(&app, &a, provider, prod).await;
        path_with(&app, &b, provider, staging).await;
        let mut originals = HashMap::new();
        for i in 0..5 {
            let body = format!(
                "{{\"id\":\"evt_{i}\",\"amount\":{}, \"note\":\"caf\u{e9}\"}}",
                i * 100
            );
            let msg_id = format!("msg_{i}");
            let headers = signed(
                provider,
                prod,
                &[("webhook-id", &msg_id)],
                body.as_bytes(),
                ten_minutes_ago,
            );
            let id = post_signed(&app, &a, &headers, &body).await;
            let d = app.detail(&a, &id).await;
            assert_eq!(d["signature"], "stale", "ten minutes old: {d}");
            originals.insert(id, d);
        }
        let target = format!("{}/webhook/{b}", app.ingest);
        let r = start(
            &app,
            &a,
            json!({"target": target, "signing": {"provider": provider, "secret": staging}}),
        )
        .await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        let job: Value = r.json().await.unwrap();
        let job = finished(&app, job["job_id"].as_str().unwrap()).await;
        assert_eq!(job["state"], "done", "{job}");
        assert_eq!(job["succeeded"], 5, "{job}");
        assert_eq!(job["options"]["signing"]["provider"], provider);

        let copies = app.wait_count(&b, 5).await;
        for copy_id in &copies {
            let copy = app.detail(&b, copy_id).await;
            assert_eq!(copy["signature"], "valid", "{copy}");
            let of = header(&copy, "x-callbacklistener-replay-of").unwrap();
            let orig = &originals[of];
            assert_eq!(copy["body"], orig["body"], "body byte-identical");
            assert_eq!(copy["body_size"], orig["body_size"]);
            if provider == "standard-webhooks" {
                assert_eq!(header(&copy, "webhook-id"), header(orig, "webhook-id"));
                assert_ne!(
                    header(&copy, "webhook-timestamp"),
                    header(orig, "webhook-timestamp")
                );
            }
        }
    }
    app.stop().await;
}

async fn re_signing_needs_a_secret_and_a_capture_it_cannot_sign_fails_alone(shape: Shape) {
    let app = spawn_app(shape).await;
    path_with(&app, "std_prod", "standard-webhooks", PROD_STANDARD).await;
    path_with(&app, "std_staging", "standard-webhooks", STAGING_STANDARD).await;
    let target = format!("{}/webhook/std_staging", app.ingest);
    for signing in [
        json!({"provider": "standard-webhooks"}),
        json!({"provider": "standard-webhooks", "secret": ""}),
        json!({"provider": "nope", "secret": "x"}),
    ] {
        let r = start(
            &app,
            "std_prod",
            json!({"target": target, "signing": signing}),
        )
        .await;
        assert_eq!(r.status(), 400, "{signing}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_signing");
    }

    let now = Utc::now();
    let body = r#"{"type":"invoice.paid"}"#;
    let good = signed(
        "standard-webhooks",
        PROD_STANDARD,
        &[("webhook-id", "msg_1")],
        body.as_bytes(),
        now,
    );
    post_signed(&app, "std_prod", &good, body).await;
    let lacking = post_signed(&app, "std_prod", &[], body).await;
    post_signed(&app, "std_prod", &good, body).await;
    app.wait_count("std_prod", 3).await;
    let r = start(
        &app,
        "std_prod",
        json!({"target": target, "signing": {"provider": "standard-webhooks", "secret": STAGING_STANDARD}}),
    )
    .await;
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let job = finished(&app, job["job_id"].as_str().unwrap()).await;
    assert_eq!(job["succeeded"], 2, "{job}");
    assert_eq!(job["failed"], 1, "{job}");
    let failed: Vec<&Value> = job["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["error"].is_string())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["capture_id"], lacking.as_str());
    assert!(
        failed[0]["error"].as_str().unwrap().contains("webhook-id"),
        "{job}"
    );
    app.wait_count("std_staging", 2).await;
    app.stop().await;
}

async fn forward_url_re_signs_with_the_paths_forward_profile(shape: Shape) {
    let app = spawn_app(shape).await;
    path_with(&app, "fwd_to", "stripe", STAGING_STRIPE).await;
    let r = app
        .create_path(json!({
            "path_id": "fwd_from",
            "signing": {"provider": "stripe", "secret": PROD_STRIPE},
            "forward_url": format!("{}/webhook/fwd_to", app.ingest),
            "forward_signing": {"provider": "stripe", "secret": STAGING_STRIPE},
        }))
        .await;
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains(STAGING_STRIPE) && !text.contains(PROD_STRIPE),
        "{text}"
    );
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["forward_signing"]["provider"], "stripe");
    app.wait_accepts("fwd_from").await;
    let old = Utc::now() - chrono::Duration::minutes(10);
    let body = r#"{"id":"evt_fwd"}"#;
    let headers = signed("stripe", PROD_STRIPE, &[], body.as_bytes(), old);
    let id = post_signed(&app, "fwd_from", &headers, body).await;
    assert_eq!(app.detail("fwd_from", &id).await["signature"], "stale");
    let copy = app.wait_count("fwd_to", 1).await;
    let d = app.detail("fwd_to", &copy[0]).await;
    assert_eq!(d["signature"], "valid", "{d}");
    assert_eq!(d["body"], body);
    app.stop().await;
}

async fn replay_can_re_sign_with_the_profile_stored_on_a_path(shape: Shape) {
    let app = spawn_app(shape).await;
    path_with(&app, "slack_prod", "slack", "prod-slack-secret").await;
    path_with(&app, "slack_staging", "slack", "staging-slack-secret").await;
    let plain = app.new_path().await;
    let old = Utc::now() - chrono::Duration::minutes(10);
    let body = "token=x&command=%2Fdeploy";
    let headers = signed("slack", "prod-slack-secret", &[], body.as_bytes(), old);
    post_signed(&app, "slack_prod", &headers, body).await;
    app.wait_count("slack_prod", 1).await;
    let target = format!("{}/webhook/slack_staging", app.ingest);
    for (signing_path, code) in [(plain.as_str(), 400), ("no_such_path", 404)] {
        let r = start(
            &app,
            "slack_prod",
            json!({"target": target, "signing_path": signing_path}),
        )
        .await;
        assert_eq!(r.status(), code, "{signing_path}");
    }
    let both = json!({"target": target, "signing_path": "slack_staging",
        "signing": {"provider": "slack", "secret": "x"}});
    assert_eq!(start(&app, "slack_prod", both).await.status(), 400);
    let r = start(
        &app,
        "slack_prod",
        json!({"target": target, "signing_path": "slack_staging"}),
    )
    .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let copy = app.wait_count("slack_staging", 1).await;
    let d = app.detail("slack_staging", &copy[0]).await;
    assert_eq!(d["signature"], "valid", "{d}");
    assert_eq!(d["body"], body);
    app.stop().await;
}

both_shapes!(
    replay_can_re_sign_with_the_profile_stored_on_a_path,
    forward_url_re_signs_with_the_paths_forward_profile,
    captures_replayed_into_staging_verify_under_the_staging_secret,
    re_signing_needs_a_secret_and_a_capture_it_cannot_sign_fails_alone,
);
