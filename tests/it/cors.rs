//! CORS for the API and live feeds (`--cors-origins`): preflights answered
//! for listed origins only, responses marked for them only, webhooks left
//! alone (an OPTIONS to a webhook URL is a capture like any other).

use reqwest::header::{HeaderMap, ORIGIN};
use reqwest::Method;

use crate::both_shapes;
use crate::support::{spawn_app, spawn_app_with, Flags, Shape};

const ALLOWED: &str = "http://allowed.example:3000";
const OTHER: &str = "http://other.example";

fn h<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

async fn cors_allows_listed_origins_on_the_api_and_live_feeds(shape: Shape) {
    let flags = Flags {
        query: &["--cors-origins", ALLOWED, "--api-token", "tok"],
        ..Flags::default()
    };
    let mut app = spawn_app_with(shape, flags).await;
    let bare = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        bare.request(Method::OPTIONS, format!("{}/api/paths", app.api))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, last-event-id",
            )
            .send()
    };
    // A preflight carries no token, and is answered anyway.
    let ok = preflight(ALLOWED).await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    let hs = ok.headers();
    assert_eq!(h(hs, "access-control-allow-origin"), ALLOWED);
    let methods = h(hs, "access-control-allow-methods").to_ascii_uppercase();
    for m in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed = h(hs, "access-control-allow-headers").to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "last-event-id",
        "x-read-token",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert_eq!(h(hs, "access-control-max-age"), "600");
    assert!(hs.get("access-control-allow-credentials").is_none());

    let refused = preflight(OTHER).await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    app.use_token("tok");
    let path = app.new_path().await;
    let get = |origin: &'static str, url: String| app.client.get(url).header(ORIGIN, origin).send();
    let listed = get(ALLOWED, format!("{}/api/paths", app.api))
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(h(listed.headers(), "access-control-allow-origin"), ALLOWED);
    let exposed = h(listed.headers(), "access-control-expose-headers").to_ascii_lowercase();
    assert!(exposed.contains("content-disposition"), "{exposed}");
    assert!(h(listed.headers(), "vary")
        .to_ascii_lowercase()
        .contains("origin"));
    let other = get(OTHER, format!("{}/api/paths", app.api)).await.unwrap();
    assert_eq!(other.status(), 200, "CORS is the browser's to enforce");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    for feed in [
        format!("/api/paths/{path}/stream"),
        "/api/stream".to_owned(),
    ] {
        let r = get(ALLOWED, format!("{}{feed}", app.api)).await.unwrap();
        assert_eq!(r.status(), 200, "{feed}");
        assert!(h(r.headers(), "content-type").starts_with("text/event-stream"));
        assert_eq!(
            h(r.headers(), "access-control-allow-origin"),
            ALLOWED,
            "{feed}"
        );
        let r = get(OTHER, format!("{}{feed}", app.api)).await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }

    // A preflight-shaped OPTIONS to a webhook URL is captured, untouched.
    let r = bare
        .request(
            Method::OPTIONS,
            format!("{}/webhook/{path}/cors?x=1", app.ingest),
        )
        .header(ORIGIN, ALLOWED)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "received");
    app.wait_count(&path, 1).await;
    let d = app.detail(&path, v["request_id"].as_str().unwrap()).await;
    assert_eq!(d["method"], "OPTIONS");
    assert_eq!(d["subpath"], "/cors");
    app.stop().await;
}

async fn cors_is_off_by_default(shape: Shape) {
    let app = spawn_app(shape).await;
    let r = app
        .client
        .request(Method::OPTIONS, format!("{}/api/paths", app.api))
        .header(ORIGIN, ALLOWED)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app.get("/api/paths").await;
    assert!(r.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

both_shapes!(
    cors_allows_listed_origins_on_the_api_and_live_feeds,
    cors_is_off_by_default
);
