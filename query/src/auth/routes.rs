//! What each API route needs, by its route template: one table, which the
//! middleware consults for every request and a test compares with the
//! OpenAPI document, so a new route cannot be forgotten (one missing here
//! is refused, never let through).

use axum::http::Method;
use common::workspaces::Need;

/// `(method, route template, need)`.
pub(crate) const ROUTES: &[(&str, &str, Need)] = &[
    ("GET", "/api/openapi.json", Need::Read),
    ("POST", "/api/paths", Need::Write),
    ("GET", "/api/paths", Need::Read),
    ("GET", "/api/paths/{path_id}", Need::Read),
    ("PATCH", "/api/paths/{path_id}", Need::Write),
    ("DELETE", "/api/paths/{path_id}", Need::Write),
    ("GET", "/api/paths/{path_id}/routing", Need::Read),
    ("PUT", "/api/paths/{path_id}/routing", Need::Write),
    ("GET", "/api/paths/{path_id}/logs", Need::Read),
    ("DELETE", "/api/paths/{path_id}/logs", Need::Write),
    ("GET", "/api/paths/{path_id}/logs/{request_id}", Need::Read),
    (
        "GET",
        "/api/paths/{path_id}/logs/{request_id}/body",
        Need::Read,
    ),
    (
        "GET",
        "/api/paths/{path_id}/logs/{request_id}/curl",
        Need::Read,
    ),
    (
        "GET",
        "/api/paths/{path_id}/logs/{request_id}/httpie",
        Need::Read,
    ),
    (
        "GET",
        "/api/paths/{path_id}/logs/{request_id}/fetch",
        Need::Read,
    ),
    ("GET", "/api/paths/{path_id}/export", Need::Read),
    ("GET", "/api/paths/{path_id}/stream", Need::Read),
    ("GET", "/api/stream", Need::Read),
    ("GET", "/api/paths/{path_id}/forwards", Need::Read),
    ("POST", "/api/paths/{path_id}/replay", Need::Replay),
    ("GET", "/api/replays/{job_id}", Need::Read),
    ("DELETE", "/api/replays/{job_id}", Need::Replay),
    ("POST", "/api/replays/{job_id}/cancel", Need::Replay),
    ("GET", "/api/replays/{job_id}/results", Need::Read),
    ("POST", "/api/workspaces", Need::Administrator),
    ("GET", "/api/workspaces", Need::Administrator),
    ("GET", "/api/workspaces/{workspace}", Need::WorkspaceAdmin),
    ("PATCH", "/api/workspaces/{workspace}", Need::Administrator),
    (
        "POST",
        "/api/workspaces/{workspace}/keys",
        Need::WorkspaceAdmin,
    ),
    (
        "GET",
        "/api/workspaces/{workspace}/keys",
        Need::WorkspaceAdmin,
    ),
    (
        "DELETE",
        "/api/workspaces/{workspace}/keys/{key_id}",
        Need::WorkspaceAdmin,
    ),
    (
        "GET",
        "/api/workspaces/{workspace}/audit",
        Need::WorkspaceAdmin,
    ),
];

/// What `method` on `route` needs; `None` for a route missing here.
pub(crate) fn need(method: &Method, route: &str) -> Option<Need> {
    // HEAD is answered by the GET handler.
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the OpenAPI document under `/api` has its line
    /// here, and every line here is an operation: a new route cannot be
    /// forgotten (and would be refused if it were).
    #[test]
    fn the_table_is_the_openapi_document() {
        let doc = serde_json::to_value(crate::api::openapi()).unwrap();
        let mut documented: Vec<(String, String)> =
            vec![("GET".into(), "/api/openapi.json".into())];
        for (route, item) in doc["paths"].as_object().unwrap() {
            if !route.starts_with("/api/") {
                continue;
            }
            for method in item.as_object().unwrap().keys() {
                if method != "parameters" {
                    documented.push((method.to_uppercase(), route.clone()));
                }
            }
        }
        for (method, route) in &documented {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(
                need(&m, route).is_some(),
                "{method} {route} has no line in auth/routes.rs"
            );
        }
        for (method, route, _) in ROUTES {
            assert!(
                documented.iter().any(|(m, r)| m == method && r == route),
                "{method} {route} is in auth/routes.rs but not an API operation"
            );
        }
    }
}
