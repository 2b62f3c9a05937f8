//! Signing profiles: set and shown by fingerprint only, bad ones refused,
//! and a verdict for every capture of a path with a profile.

use chrono::{DateTime, Duration, Utc};
use common::signing::{SigningProfile, SigningSpec};
use common::Header;
use serde_json::{json, Value};

use crate::both_shapes;
use crate::live::SseClient;
use crate::support::{spawn_app, App, Shape};

pub const PROD_STRIPE: &str = "whsec_production_stripe_secret_1234";
pub const PROD_STANDARD: &str = "whsec_cHJvZHVjdGlvbi1zdGFuZGFyZC13ZWJob29rcw==";

pub fn profile(provider: &str, secret: &str) -> SigningProfile {
    SigningProfile::from_spec(&SigningSpec {
        provider: provider.into(),
        secret: Some(secret.into()),
        ..Default::default()
    })
    .unwrap()
}

/// The headers a sender of `provider` would add to `body` at `at`, starting
/// from `base` (e.g. a `webhook-id`).
pub fn signed(
    provider: &str,
    secret: &str,
    base: &[(&str, &str)],
    body: &[u8],
    at: DateTime<Utc>,
) -> Vec<(String, String)> {
    let mut headers: Vec<Header> = base
        .iter()
        .map(|(n, v)| Header {
            name: (*n).into(),
            value: bytes::Bytes::copy_from_slice(v.as_bytes()),
        })
        .collect();
    profile(provider, secret)
        .resign(&mut headers, body, at)
        .unwrap();
    headers
        .into_iter()
        .map(|h| (h.name, String::from_utf8(h.value.to_vec()).unwrap()))
        .collect()
}

pub async fn post_signed(
    app: &App,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> String {
    let mut req = app.webhook("POST", path, "").body(body.to_owned());
    for (n, v) in headers {
        req = req.header(n.as_str(), v.as_str());
    }
    app.send(req).await
}

async fn patch(app: &App, path: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(format!("{}/api/paths/{path}", app.api))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn signing_profile_is_shown_by_fingerprint_only_and_can_be_changed_or_removed(shape: Shape) {
    let app = spawn_app(shape).await;
    let r = app
        .create_path(json!({"path_id": "stripe_in", "signing": {"provider": "stripe", "secret": PROD_STRIPE}}))
        .await;
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(!text.contains(PROD_STRIPE), "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(created["signing"]["provider"], "stripe");
    let first = created["signing"]["secret_fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.len(), 8);
    assert_eq!(
        app.get_json("/api/paths/stripe_in").await["signing"],
        created["signing"]
    );

    let r = patch(
        &app,
        "stripe_in",
        json!({"signing": {"provider": "stripe", "secret": "whsec_other"}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await.unwrap();
    assert_ne!(changed["signing"]["secret_fingerprint"], first.as_str());
    // Other settings leave the profile alone.
    let r = patch(&app, "stripe_in", json!({"ttl_seconds": 60})).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["signing"],
        changed["signing"]
    );

    let r = patch(&app, "stripe_in", json!({"signing": null})).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap().get("signing").is_none());
    assert!(app
        .get_json("/api/paths/stripe_in")
        .await
        .get("signing")
        .is_none());
    app.stop().await;
}

async fn bad_signing_profiles_are_refused_and_change_nothing(shape: Shape) {
    let app = spawn_app(shape).await;
    let bad = [
        json!({"provider": "paypal", "secret": "x"}),
        json!({"provider": "standard-webhooks", "secret": "whsec_not*base64!"}),
        json!({"provider": "github", "secret": ""}),
        json!({"provider": "stripe"}),
        json!({"provider": "hmac", "secret": "k"}),
    ];
    for (i, signing) in bad.iter().enumerate() {
        let id = format!("refused_{i}");
        let r = app
            .create_path(json!({"path_id": id, "signing": signing}))
            .await;
        assert_eq!(r.status(), 400, "{signing}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_signing", "{e}");
        assert_eq!(app.get(&format!("/api/paths/{id}")).await.status(), 404);
    }
    let r = app
        .create_path(json!({"path_id": "kept", "signing": {"provider": "slack", "secret": "s1"}}))
        .await;
    let before: Value = r.json().await.unwrap();
    for signing in &bad {
        let r = patch(&app, "kept", json!({"ttl_seconds": 5, "signing": signing})).await;
        assert_eq!(r.status(), 400, "{signing}");
    }
    let after = app.get_json("/api/paths/kept").await;
    assert_eq!(after["signing"], before["signing"]);
    assert!(
        after.get("ttl_seconds").is_none(),
        "nothing changed: {after}"
    );
    app.stop().await;
}

async fn every_capture_gets_a_verdict_on_arrival_filterable_and_exported(shape: Shape) {
    let app = spawn_app(shape).await;
    let r = app
        .create_path(
            json!({"path_id": "judged", "signing": {"provider": "stripe", "secret": PROD_STRIPE}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    app.wait_accepts("judged").await;
    let plain = app.new_path().await;
    let mut live = SseClient::connect(&app, "/api/paths/judged/stream", None).await;

    let body = r#"{"id":"evt_1","type":"charge.succeeded"}"#;
    let now = Utc::now();
    let good = signed("stripe", PROD_STRIPE, &[], body.as_bytes(), now);
    let old = signed(
        "stripe",
        PROD_STRIPE,
        &[],
        body.as_bytes(),
        now - Duration::minutes(10),
    );
    let cases = [
        ("valid", good.clone(), body),
        (
            "invalid",
            good.clone(),
            r#"{"id":"evt_1","type":"charge.refunded"}"#,
        ),
        ("stale", old, body),
        ("missing", vec![], body),
    ];
    let mut ids = Vec::new();
    for (verdict, headers, body) in &cases {
        // The sender's answer is the usual one whatever the verdict (send checks 200).
        let id = post_signed(&app, "judged", headers, body).await;
        let detail = app.detail("judged", &id).await;
        assert_eq!(detail["signature"], *verdict, "{detail}");
        assert_eq!(detail["body"], *body, "captured as sent");
        let event = live.next().await;
        assert_eq!(event.id, id);
        assert_eq!(event.data["signature"], *verdict);
        ids.push(id);
    }
    let unjudged = post_signed(&app, &plain, &good, body).await;
    assert!(app
        .detail(&plain, &unjudged)
        .await
        .get("signature")
        .is_none());

    let page = app.get_json("/api/paths/judged/logs").await;
    let verdicts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["signature"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["missing", "stale", "invalid", "valid"]);
    let invalid = app
        .get_json("/api/paths/judged/logs?signature=invalid")
        .await;
    let items = invalid["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], ids[1].as_str());
    let r = app.get("/api/paths/judged/logs?signature=maybe").await;
    assert_eq!(r.status(), 400);

    let r = app.get("/api/paths/judged/export?format=har").await;
    let har: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let exported: Vec<&str> = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_signature"].as_str().unwrap())
        .collect();
    assert_eq!(exported, ["missing", "stale", "invalid", "valid"]);
    app.stop().await;
}

both_shapes!(
    signing_profile_is_shown_by_fingerprint_only_and_can_be_changed_or_removed,
    bad_signing_profiles_are_refused_and_change_nothing,
    every_capture_gets_a_verdict_on_arrival_filterable_and_exported,
);
