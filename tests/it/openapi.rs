//! The OpenAPI document describes every route the service serves.

use std::collections::BTreeSet;

use crate::support::{spawn_app, Shape};

/// Every (method, route) the service answers, written down once here; the
/// test fails when a route is added without documentation or vice versa.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/paths"),
    ("get", "/api/paths"),
    ("get", "/api/paths/{path_id}"),
    ("delete", "/api/paths/{path_id}"),
    ("get", "/api/paths/{path_id}/logs"),
    ("get", "/api/paths/{path_id}/logs/{request_id}"),
    ("get", "/api/paths/{path_id}/logs/{request_id}/body"),
    ("get", "/api/paths/{path_id}/logs/{request_id}/curl"),
    ("get", "/api/paths/{path_id}/logs/{request_id}/httpie"),
    ("get", "/api/paths/{path_id}/logs/{request_id}/fetch"),
    ("get", "/api/paths/{path_id}/stream"),
    ("get", "/api/stream"),
    ("get", "/health/"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
    ("get", "/api/paths/{path_id}/forwards"),
    ("get", "/api/paths/{path_id}/routing"),
    ("post", "/api/workspaces"),
    ("get", "/api/workspaces"),
    ("get", "/api/workspaces/{workspace}"),
    ("patch", "/api/workspaces/{workspace}"),
    ("post", "/api/workspaces/{workspace}/keys"),
    ("get", "/api/workspaces/{workspace}/keys"),
    ("delete", "/api/workspaces/{workspace}/keys/{key_id}"),
    ("get", "/api/workspaces/{workspace}/audit"),
    ("put", "/api/paths/{path_id}/routing"),
    ("patch", "/api/paths/{path_id}"),
    ("delete", "/api/paths/{path_id}/logs"),
    ("get", "/api/paths/{path_id}/export"),
    ("post", "/api/paths/{path_id}/replay"),
    ("get", "/api/replays/{job_id}"),
    ("delete", "/api/replays/{job_id}"),
    ("post", "/api/replays/{job_id}/cancel"),
    ("get", "/api/replays/{job_id}/results"),
    ("post", "/webhook/{path_id}"),
    ("post", "/webhook/{path_id}/{subpath}"),
];

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_nothing_else() {
    let app = spawn_app(Shape::Standalone).await;
    let doc = app.get_json("/api/openapi.json").await;
    let paths = doc["paths"].as_object().unwrap();
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(route, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| k.as_str() != "parameters")
                .map(move |m| (m.clone(), route.clone()))
        })
        .collect();
    for (method, route) in ROUTES {
        assert!(
            documented.contains(&(method.to_string(), route.to_string())),
            "{method} {route} is not documented"
        );
    }
    let routes: BTreeSet<&str> = ROUTES.iter().map(|(_, r)| *r).collect();
    for (method, route) in &documented {
        assert!(
            routes.contains(route.as_str()),
            "{method} {route} is documented but not listed here"
        );
    }
    // And each documented API route really exists (answers something other
    // than the route-not-found fallback).
    let path = app.new_path().await;
    for (method, route) in ROUTES
        .iter()
        .filter(|(m, r)| *m == "get" && !r.contains("stream"))
    {
        let url = route
            .replace("{path_id}", &path)
            .replace("{request_id}", "00000000000000000000000000000000")
            .replace("{workspace}", "default");
        let r = app.get(&url).await;
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("route_not_found"),
            "{method} {route} is not served"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn every_operation_has_its_own_operation_id() {
    let app = spawn_app(Shape::Standalone).await;
    let doc = app.get_json("/api/openapi.json").await;
    let mut seen = BTreeSet::new();
    for (route, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            assert!(
                seen.insert(id.to_owned()),
                "operationId {id} repeated ({method} {route})"
            );
        }
    }
    assert!(
        seen.contains("post_webhook") && seen.contains("list_paths"),
        "{seen:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn signing_and_replay_result_shapes_are_in_the_document() {
    let app = spawn_app(Shape::Standalone).await;
    let doc = app.get_json("/api/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    for name in [
        "SigningSpec",
        "SigningView",
        "Verdict",
        "DryRun",
        "ReplayResult",
        "ResultPage",
        "JobSummary",
    ] {
        assert!(schemas.get(name).is_some(), "schema {name} is missing");
    }
    let props = |s: &str| schemas[s]["properties"].clone();
    assert!(props("CreatePath").get("signing").is_some());
    assert!(props("CreatePath").get("forward_signing").is_some());
    assert!(props("UpdatePath").get("signing").is_some());
    assert!(props("PathView").get("signing").is_some());
    assert!(props("StartReplay").get("signing").is_some());
    assert!(props("StartReplay").get("dry_run").is_some());
    assert!(props("StartReplay").get("signing_path").is_some());
    assert!(props("CaptureSummary").get("signature").is_some());
    let logs = doc["paths"]["/api/paths/{path_id}/logs"]["get"]["parameters"].to_string();
    assert!(logs.contains("\"signature\""), "{logs}");
    app.stop().await;
}
