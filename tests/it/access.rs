//! Who may read what: the API token, private paths' read tokens, and
//! masking that holds in every output.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_shapes;
use crate::shaping::error_code;
use crate::support::{spawn_app, spawn_app_with, Flags, Shape};

async fn api_token_guards_the_api_but_not_webhooks(shape: Shape) {
    let mut app = spawn_app_with(
        shape,
        Flags {
            query: &["--api-token", "s3cret-token"],
            ..Flags::default()
        },
    )
    .await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret-token"),
        Some("Bearer s3cret-tokenX"),
    ] {
        let mut req = app.client.get(format!("{}/api/paths", app.api));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"callback-listener\""
        );
    }
    assert_eq!(app.get("/health/ready").await.status(), 200);
    app.use_token("s3cret-token");
    let path = app.new_path().await;
    let plain = reqwest::Client::new();
    let r = plain
        .post(format!("{}/webhook/{path}", app.ingest))
        .body("open")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "webhooks stay open");
    let sse = plain
        .get(format!(
            "{}/api/paths/{path}/stream?access_token=s3cret-token",
            app.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse.status(),
        200,
        "EventSource can pass the token as a parameter"
    );
    drop(sse);
    app.stop().await;
}

/// Without CL_API_TOKEN the API is open, and a client that sends some
/// bearer token anyway (one meant for a proxy, say) is served as before
/// keys existed; only a key-shaped token is looked up (and must be live).
async fn an_open_service_ignores_tokens_that_are_not_keys(shape: Shape) {
    let app = spawn_app(shape).await;
    let open = |token: &'static str| {
        app.client
            .get(format!("{}/api/paths", app.api))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(open("some-proxy-token").await.unwrap().status(), 200);
    let unknown_key = open("clk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.unwrap();
    assert_eq!(unknown_key.status(), 401);
}

async fn private_paths_need_their_read_token(shape: Shape) {
    let app = spawn_app(shape).await;
    let r = app.create_path(json!({"private": true})).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let path = created["path_id"].as_str().unwrap().to_owned();
    let token = created["read_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 24);
    app.wait_accepts(&path).await;
    let id = app
        .send(app.webhook("POST", &path, "").body("secret"))
        .await;
    for route in [
        format!("/api/paths/{path}"),
        format!("/api/paths/{path}/logs"),
        format!("/api/paths/{path}/logs/{id}"),
        format!("/api/paths/{path}/export?format=ndjson"),
    ] {
        assert_eq!(
            error_code(app.get(&route).await).await,
            (404, "path_not_found".to_owned()),
            "{route}"
        );
        let wrong = app
            .client
            .get(format!("{}{route}", app.api))
            .header("x-read-token", "nope")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 404);
    }
    let listed = app.get_json("/api/paths").await;
    assert!(!listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["path_id"] == path.as_str()));
    let mut ok = false;
    for _ in 0..100 {
        let r = app
            .client
            .get(format!("{}/api/paths/{path}/logs/{id}", app.api))
            .header("x-read-token", &token)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let d: Value = r.json().await.unwrap();
            assert_eq!(d["body"], "secret");
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ok);
    let by_param = app
        .get(&format!("/api/paths/{path}?read_token={token}"))
        .await;
    assert_eq!(by_param.status(), 200);
    let view: Value = by_param.json().await.unwrap();
    assert_eq!(view["private"], true);
    assert!(
        view.get("read_token").is_none(),
        "the token is shown only once"
    );
    app.stop().await;
}

async fn sensitive_headers_are_masked_everywhere(shape: Shape) {
    let app = spawn_app_with(
        shape,
        Flags {
            query: &["--mask-headers", "Authorization,x-api-key"],
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let id = app
        .send(
            app.webhook("POST", &path, "")
                .header("authorization", "Bearer sk_live_123")
                .header("x-api-key", "k")
                .header("x-plain", "p"),
        )
        .await;
    let d = app.detail(&path, &id).await;
    let value = |name: &str| {
        d["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == name)
            .unwrap()[1]
            .clone()
    };
    assert_eq!(value("authorization"), "[masked]");
    assert_eq!(value("x-api-key"), "[masked]");
    assert_eq!(value("x-plain"), "p");
    let har = app
        .get(&format!("/api/paths/{path}/export?format=har"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!har.contains("sk_live_123") && har.contains("[masked]"));
    app.stop().await;
}

both_shapes!(
    api_token_guards_the_api_but_not_webhooks,
    an_open_service_ignores_tokens_that_are_not_keys,
    private_paths_need_their_read_token,
    sensitive_headers_are_masked_everywhere,
);
