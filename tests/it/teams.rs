//! Teams on one deployment (issue 19): workspaces with their own keys see
//! only their own paths, through every route of the OpenAPI document; each
//! scope allows exactly its routes; revocation reaches every query process
//! within a second; a workspace over its webhook rate is refused while
//! another is not; the audit log says who did what.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_shapes;
use crate::support::{spawn_app_with, App, Flags, Shape};

const ADMIN: &str = "admin-s3cret";

/// Two ingests and two query processes; the app's own helpers (waiting
/// for captures) use the administrator's token.
async fn deployment(shape: Shape) -> App {
    let mut app = spawn_app_with(
        shape,
        Flags {
            query: &["--api-token", ADMIN, "--quota-interval", "200ms"],
            ingests: 2,
            queries: 2,
            ..Flags::default()
        },
    )
    .await;
    app.use_token(ADMIN);
    app
}

/// One request with this token (or none), against one query process.
async fn call(
    app: &App,
    api: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let client = reqwest::Client::new();
    let mut req = client.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{api}{path}"),
    );
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.timeout(Duration::from_secs(20)).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let live = headers.get("content-type").is_some_and(|v| {
        v.to_str()
            .unwrap_or_default()
            .starts_with("text/event-stream")
    });
    // A live feed never ends: its status and headers are the answer.
    let text = if live {
        String::new()
    } else {
        r.text().await.unwrap_or_default()
    };
    let _ = app;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    )
}

async fn as_admin(app: &App, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (s, v, _) = call(app, &app.api, Some(ADMIN), method, path, body).await;
    (s, v)
}

/// A workspace with a key of each scope.
struct Team {
    name: String,
    keys: std::collections::HashMap<&'static str, String>,
    key_ids: std::collections::HashMap<&'static str, String>,
}

async fn team(app: &App, name: &str, quotas: Value) -> Team {
    let (s, v) = as_admin(
        app,
        "POST",
        "/api/workspaces",
        Some(json!({"name": name, "quotas": quotas})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let mut keys = std::collections::HashMap::new();
    let mut key_ids = std::collections::HashMap::new();
    for scope in ["read", "write", "replay", "admin"] {
        let (s, v) = as_admin(
            app,
            "POST",
            &format!("/api/workspaces/{name}/keys"),
            Some(json!({"name": format!("{scope} key"), "scope": scope})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        keys.insert(scope, v["key"].as_str().unwrap().to_owned());
        key_ids.insert(scope, v["id"].as_str().unwrap().to_owned());
    }
    Team {
        name: name.into(),
        keys,
        key_ids,
    }
}

impl Team {
    fn key(&self, scope: &str) -> &str {
        &self.keys[scope]
    }
}

/// A path of the team's, with one capture and one replay job.
async fn path_of(app: &App, t: &Team) -> (String, String, String) {
    let (s, v, _) = call(
        app,
        &app.api,
        Some(t.key("write")),
        "POST",
        "/api/paths",
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["workspace"], t.name.as_str());
    let path = v["path_id"].as_str().unwrap().to_owned();
    app.wait_accepts_everywhere(&path).await;
    let capture = app
        .send(app.webhook("POST", &path, "").body("{\"n\":1}"))
        .await;
    app.wait_count(&path, 1).await;
    // Nobody listens there: the job exists, and sends nothing anywhere.
    let target = "http://127.0.0.1:9/".to_owned();
    let (s, v, _) = call(
        app,
        &app.api,
        Some(t.key("replay")),
        "POST",
        &format!("/api/paths/{path}/replay"),
        Some(json!({"target": target, "ids": [capture]})),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    (path, capture, v["job_id"].as_str().unwrap().to_owned())
}

/// Every (method, route) of the OpenAPI document under /api.
async fn api_routes(app: &App) -> Vec<(String, String)> {
    let (_, doc) = as_admin(app, "GET", "/api/openapi.json", None).await;
    let mut out = Vec::new();
    for (route, item) in doc["paths"].as_object().unwrap() {
        if !route.starts_with("/api/") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                out.push((method.to_uppercase(), route.clone()));
            }
        }
    }
    out.push(("GET".into(), "/api/openapi.json".into()));
    out
}

fn fill(route: &str, path: &str, capture: &str, job: &str, ws: &str, key_id: &str) -> String {
    // The export's format is required; asking without it is a 400 for any path.
    let route = if route.ends_with("/export") {
        format!("{route}?format=ndjson")
    } else {
        route.to_owned()
    };
    route
        .replace("{path_id}", path)
        .replace("{request_id}", capture)
        .replace("{job_id}", job)
        .replace("{workspace}", ws)
        .replace("{key_id}", key_id)
}

/// A body each route would accept, so that what answers is the access
/// check, not the body's.
fn body_for(method: &str, route: &str) -> Option<Value> {
    if !matches!(method, "POST" | "PUT" | "PATCH") {
        return None;
    }
    Some(match route {
        r if r.ends_with("/replay") => json!({"target": "http://127.0.0.1:9/", "dry_run": true}),
        r if r.ends_with("/keys") => json!({"name": "probe", "scope": "read"}),
        "/api/workspaces" => json!({"name": "probe"}),
        "/api/workspaces/{workspace}" => json!({"quotas": {}}),
        _ => json!({}),
    })
}

async fn two_workspaces_cannot_reach_each_other_through_any_route(shape: Shape) {
    let app = deployment(shape).await;
    let a = team(&app, "team-a", json!({})).await;
    let b = team(&app, "team-b", json!({})).await;
    let (pa, _, _) = path_of(&app, &a).await;
    let (pb, cb, jb) = path_of(&app, &b).await;
    let before = app.all_ids(&pb).await;
    for (method, route) in api_routes(&app).await {
        let url = fill(&route, &pb, &cb, &jb, &b.name, &b.key_ids["read"]);
        let (status, body, _) = call(
            &app,
            &app.api,
            Some(a.key("admin")),
            &method,
            &url,
            body_for(&method, &route),
        )
        .await;
        let shows_b = body.to_string().contains(&pb)
            || body.to_string().contains(&cb)
            || body.to_string().contains(&jb);
        let administrators = route == "/api/workspaces"
            || (method == "PATCH" && route == "/api/workspaces/{workspace}");
        if administrators {
            // The same 403 whatever the workspace: nothing is revealed.
            assert_eq!(status, 403, "{method} {url}: the administrator's alone");
        } else if route.contains('{') {
            assert_eq!(status, 404, "{method} {url} by another workspace: {body}");
        } else {
            assert!(!shows_b, "{method} {url} shows team b's things: {body}");
        }
    }
    // Nothing of b changed: its path, captures and keys are as they were.
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(b.key("read")),
        "GET",
        &format!("/api/paths/{pb}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(app.all_ids(&pb).await, before);
    // And b's list shows b's path, not a's.
    let (_, list, _) = call(
        &app,
        &app.api,
        Some(b.key("read")),
        "GET",
        "/api/paths",
        None,
    )
    .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&pb.as_str()) && !ids.contains(&pa.as_str()),
        "{ids:?}"
    );
    // The all-paths live feed of a shows a's captures only.
    let feed = reqwest::Client::new()
        .get(format!("{}/api/stream", app.api))
        .bearer_auth(a.key("read"))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let other = app.send(app.webhook("POST", &pb, "").body("b")).await;
    let own = app.send(app.webhook("POST", &pa, "").body("a")).await;
    let mut seen = String::new();
    let mut feed = feed;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains(&own) {
        assert!(
            Instant::now() < deadline,
            "a's capture never came on a's feed"
        );
        match tokio::time::timeout(Duration::from_secs(20), feed.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("feed ended: {other:?}"),
        }
    }
    assert!(!seen.contains(&other), "b's capture on a's feed");
}

async fn each_scope_allows_exactly_its_routes(shape: Shape) {
    let app = deployment(shape).await;
    let a = team(&app, "scoped", json!({})).await;
    let (path, capture, job) = path_of(&app, &a).await;
    let need = |method: &str, route: &str| -> &'static str {
        match (method, route) {
            ("POST" | "GET", "/api/workspaces") | ("PATCH", "/api/workspaces/{workspace}") => {
                "administrator"
            }
            (_, r) if r.starts_with("/api/workspaces/") => "admin",
            ("POST", "/api/paths/{path_id}/replay")
            | ("DELETE", "/api/replays/{job_id}")
            | ("POST", "/api/replays/{job_id}/cancel") => "replay",
            ("GET", _) => "read",
            _ => "write",
        }
    };
    let allows = |scope: &str, need: &str| match (scope, need) {
        (_, "administrator") => false,
        ("admin", _) | (_, "read") => true,
        (s, n) => s == n,
    };
    for scope in ["read", "write", "replay", "admin"] {
        for (method, route) in api_routes(&app).await {
            // Routes that delete what the next checks need go last.
            if method == "DELETE" && (route == "/api/paths/{path_id}" || route.contains("{key_id}"))
            {
                continue;
            }
            let url = fill(&route, &path, &capture, &job, &a.name, &a.key_ids["read"]);
            let (status, body, _) = call(
                &app,
                &app.api,
                Some(a.key(scope)),
                &method,
                &url,
                body_for(&method, &route),
            )
            .await;
            let n = need(&method, &route);
            if allows(scope, n) {
                assert_ne!(status, 403, "{scope} may {method} {route}: {body}");
            } else {
                assert_eq!(status, 403, "{scope} may not {method} {route}: {body}");
                assert_eq!(body["error"]["code"], "insufficient_scope");
                let named = if n == "administrator" {
                    "administrator"
                } else {
                    n
                };
                assert!(
                    body["error"]["message"].as_str().unwrap().contains(named),
                    "{body}"
                );
            }
        }
    }
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "DELETE",
        &format!("/api/paths/{path}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
}

async fn a_revoked_key_is_refused_by_every_query_process_within_a_second(shape: Shape) {
    let app = deployment(shape).await;
    let a = team(&app, "revoking", json!({})).await;
    let key = a.key("read");
    for api in &app.apis {
        let (s, _, _) = call(&app, api, Some(key), "GET", "/api/paths", None).await;
        assert_eq!(s, 200);
    }
    let (s, v) = as_admin(
        &app,
        "DELETE",
        &format!("/api/workspaces/{}/keys/{}", a.name, a.key_ids["read"]),
        None,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let revoked = Instant::now();
    for api in &app.apis {
        loop {
            let (s, body, headers) = call(&app, api, Some(key), "GET", "/api/paths", None).await;
            if s == 401 {
                assert!(headers.contains_key("www-authenticate"));
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("revoked"),
                    "{body}"
                );
                break;
            }
            assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "{api} still takes the key"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Listed as revoked, with its prefix, never the key.
    let (_, list) = as_admin(
        &app,
        "GET",
        &format!("/api/workspaces/{}/keys", a.name),
        None,
    )
    .await;
    let listed = list.to_string();
    assert!(!listed.contains(key), "a key is never shown again");
    let k = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == a.key_ids["read"].as_str())
        .unwrap();
    assert!(k["revoked_at"].is_string());
    assert!(key.starts_with(k["prefix"].as_str().unwrap()));
    assert!(k["last_used_at"].is_string(), "{k}");
}

async fn bad_keys_and_names_are_refused_and_change_nothing(shape: Shape) {
    let app = deployment(shape).await;
    let a = team(&app, "strict", json!({"max_paths": 1})).await;
    let b = team(&app, "other", json!({})).await;
    // Unknown, malformed, expired keys: 401 with WWW-Authenticate.
    let (s, v) = as_admin(
        &app,
        "POST",
        "/api/workspaces/strict/keys",
        Some(json!({"name": "short", "scope": "read", "expires_in_seconds": 1})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let expiring = v["key"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for bad in [
        "clk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not-a-key",
        expiring.as_str(),
    ] {
        let (s, body, headers) = call(&app, &app.api, Some(bad), "GET", "/api/paths", None).await;
        assert_eq!(s, 401, "{bad}: {body}");
        assert!(headers.contains_key("www-authenticate"));
    }
    let (s, _, _) = call(&app, &app.api, None, "GET", "/api/paths", None).await;
    assert_eq!(s, 401, "no token at all");
    // The path quota: one path, then 403 quota_exceeded.
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "POST",
        "/api/paths",
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, body, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "POST",
        "/api/paths",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("quota_exceeded")),
        "{body}"
    );
    // A workspace admin acting on another workspace: 404, as if it did not exist.
    for (method, route) in [
        ("GET", "/api/workspaces/other"),
        ("GET", "/api/workspaces/other/keys"),
        ("POST", "/api/workspaces/other/keys"),
        ("GET", "/api/workspaces/other/audit"),
    ] {
        let (s, body, _) = call(
            &app,
            &app.api,
            Some(a.key("admin")),
            method,
            route,
            Some(json!({"name": "x", "scope": "admin"})),
        )
        .await;
        assert_eq!(s, 404, "{method} {route}: {body}");
    }
    let (s, body, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "POST",
        "/api/paths",
        Some(json!({"workspace": "other"})),
    )
    .await;
    assert_eq!(s, 404, "{body}");
    // Malformed names: 400.
    for body in [
        json!({"name": "Bad Name"}),
        json!({"name": ""}),
        json!({"name": "x".repeat(64)}),
    ] {
        let (s, v) = as_admin(&app, "POST", "/api/workspaces", Some(body.clone())).await;
        assert_eq!(s, 400, "{body}: {v}");
    }
    let (s, v) = as_admin(
        &app,
        "POST",
        "/api/workspaces/strict/keys",
        Some(json!({"name": "", "scope": "read"})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = as_admin(
        &app,
        "POST",
        "/api/workspaces/strict/keys",
        Some(json!({"name": "k", "scope": "root"})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    // None of it changed anything: b's keys are the four it was given.
    let (_, keys) = as_admin(&app, "GET", "/api/workspaces/other/keys", None).await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 4);
    let _ = b;
    let (_, ws) = as_admin(&app, "GET", "/api/workspaces", None).await;
    let names: Vec<&str> = ws["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "other", "strict"]);
}

async fn a_workspace_over_its_webhook_rate_gets_429s_while_another_does_not(shape: Shape) {
    let app = deployment(shape).await;
    let slow = team(&app, "slow", json!({"webhooks_per_second": 2})).await;
    let free = team(&app, "free", json!({})).await;
    let (ps, _, _) = path_of(&app, &slow).await;
    let (pf, _, _) = path_of(&app, &free).await;
    let mut limited = 0;
    for _ in 0..20 {
        let r = app.webhook("POST", &ps, "").body("x").send().await.unwrap();
        if r.status() == 429 {
            limited += 1;
            assert!(r.headers().contains_key("retry-after"));
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "workspace_rate_limited");
        } else {
            assert_eq!(r.status(), 200);
        }
        let r = app.webhook("POST", &pf, "").body("x").send().await.unwrap();
        assert_eq!(r.status(), 200, "the other workspace is unaffected");
    }
    assert!(limited >= 10, "only {limited} of 20 refused at 2/s");
    // Never a capture for a refused webhook.
    let stored = app.all_ids(&ps).await.len();
    assert!(
        stored <= 20 - limited + 1,
        "{stored} stored, {limited} refused"
    );
}

async fn a_workspace_over_its_storage_quota_gets_429s_until_back_under(shape: Shape) {
    let app = deployment(shape).await;
    let full = team(&app, "full", json!({"max_captures": 3})).await;
    let free = team(&app, "roomy", json!({})).await;
    let (pf, _, _) = path_of(&app, &full).await; // one capture already
    let (pr, _, _) = path_of(&app, &free).await;
    for _ in 0..2 {
        let r = app.webhook("POST", &pf, "").body("x").send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    app.wait_count(&pf, 3).await;
    // Within a few checks every ingest refuses the full workspace's webhooks.
    let deadline = Instant::now() + Duration::from_secs(10);
    for ingest in &app.ingests {
        loop {
            let r = app
                .client
                .post(format!("{ingest}/webhook/{pf}"))
                .body("x")
                .send()
                .await
                .unwrap();
            if r.status() == 429 {
                assert!(r.headers().contains_key("retry-after"));
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"]["code"], "workspace_quota_exceeded");
                break;
            }
            assert_eq!(r.status(), 200);
            assert!(Instant::now() < deadline, "{ingest} never refused");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let r = app.webhook("POST", &pr, "").body("x").send().await.unwrap();
    assert_eq!(r.status(), 200, "another workspace is unaffected");
    let (_, ws) = as_admin(&app, "GET", "/api/workspaces/full", None).await;
    assert_eq!(ws["usage"]["over_quota"], "max_captures", "{ws}");
    // Cleared, the workspace takes webhooks again.
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(full.key("write")),
        "DELETE",
        &format!("/api/paths/{pf}/logs"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app.webhook("POST", &pf, "").body("x").send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still refused after the clear");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn each_key_is_held_to_the_api_rate_and_the_administrator_is_not(shape: Shape) {
    let mut app = spawn_app_with(
        shape,
        Flags {
            query: &["--api-token", ADMIN, "--api-key-rate", "2"],
            ..Flags::default()
        },
    )
    .await;
    app.use_token(ADMIN);
    let a = team(&app, "metered", json!({})).await;
    let mut limited = 0;
    for _ in 0..10 {
        let (s, body, headers) = call(
            &app,
            &app.api,
            Some(a.key("read")),
            "GET",
            "/api/paths",
            None,
        )
        .await;
        if s == 429 {
            limited += 1;
            assert!(headers.contains_key("retry-after"));
            assert_eq!(body["error"]["code"], "rate_limited");
        } else {
            assert_eq!(s, 200);
        }
    }
    assert!(limited >= 5, "only {limited} of 10 refused at 2/s");
    // Another key has its own allowance; the administrator has none.
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "GET",
        "/api/paths",
        None,
    )
    .await;
    assert_eq!(s, 200);
    for _ in 0..10 {
        let (s, _) = as_admin(&app, "GET", "/api/paths", None).await;
        assert_eq!(s, 200);
    }
}

async fn the_audit_log_says_who_did_what(shape: Shape) {
    let app = deployment(shape).await;
    let a = team(&app, "audited", json!({})).await;
    let (path, _, _) = path_of(&app, &a).await;
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "PATCH",
        &format!("/api/paths/{path}"),
        Some(json!({"ttl_seconds": 60})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "DELETE",
        &format!("/api/paths/{path}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(a.key("admin")),
        "DELETE",
        &format!("/api/workspaces/audited/keys/{}", a.key_ids["read"]),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, log, _) = call(
        &app,
        &app.api,
        Some(a.key("admin")),
        "GET",
        "/api/workspaces/audited/audit",
        None,
    )
    .await;
    assert_eq!(s, 200, "{log}");
    let entries: Vec<(String, String, String)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let prefix = |scope: &str| format!("key:{}", &a.key(scope)[..12]);
    let expect = [
        (
            "key.revoke".to_owned(),
            prefix("admin"),
            a.key_ids["read"].clone(),
        ),
        ("path.delete".to_owned(), prefix("write"), path.clone()),
        ("path.update".to_owned(), prefix("write"), path.clone()),
    ];
    assert_eq!(&entries[..3], &expect[..], "{entries:?}");
    let actions: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    for want in [
        "replay.start",
        "path.create",
        "key.create",
        "workspace.create",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    // A read key may not read it.
    let (s, _, _) = call(
        &app,
        &app.api,
        Some(a.key("write")),
        "GET",
        "/api/workspaces/audited/audit",
        None,
    )
    .await;
    assert_eq!(s, 403);
}

both_shapes!(
    two_workspaces_cannot_reach_each_other_through_any_route,
    each_scope_allows_exactly_its_routes,
    a_revoked_key_is_refused_by_every_query_process_within_a_second,
    bad_keys_and_names_are_refused_and_change_nothing,
    a_workspace_over_its_webhook_rate_gets_429s_while_another_does_not,
    a_workspace_over_its_storage_quota_gets_429s_until_back_under,
    each_key_is_held_to_the_api_rate_and_the_administrator_is_not,
    the_audit_log_says_who_did_what,
);
