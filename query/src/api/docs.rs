//! OpenAPI entries for routes served outside this router (webhooks by ingest,
//! health by every service), so the document describes the whole surface.
#![allow(dead_code)]

use common::http_error::ErrorBody;

/// Capture a webhook (any method, extension methods included). Once the
/// capture is durable the sender gets the path's answer: the first of its
/// response rules that matches, else its custom response, else the 200
/// below (docs/RULES.md).
#[utoipa::path(method(get, post, put, patch, delete, head, options, trace), path = "/webhook/{path_id}",
    tag = "webhooks", params(("path_id" = String, Path)),
    request_body(content = Vec<u8>, description = "any body, kept byte for byte", content_type = "*/*"),
    responses(
        (status = 200, description = "captured and durable: `{\"status\":\"received\",\"request_id\":\"...\"}`"),
        (status = 404, description = "unknown path", body = ErrorBody),
        (status = 413, description = "body over the size limit; nothing stored", body = ErrorBody),
        (status = 429, description = "over the per-address rate, or the workspace's webhook rate or storage quota; nothing stored, `Retry-After` says when to retry", body = ErrorBody),
        (status = 503, description = "the capture could not be made durable; retry", body = ErrorBody),
        (status = "default", description = "the path's own answer once the capture is durable: its response rules or custom response may give any status (docs/RULES.md)"),
    ))]
fn webhook() {}

/// Capture a webhook sent to a subpath, e.g. `/webhook/{path_id}/github/push`;
/// answered like `/webhook/{path_id}`.
#[utoipa::path(method(get, post, put, patch, delete, head, options, trace), path = "/webhook/{path_id}/{subpath}",
    tag = "webhooks", params(("path_id" = String, Path), ("subpath" = String, Path, description = "one or more segments")),
    request_body(content = Vec<u8>, description = "any body, kept byte for byte", content_type = "*/*"),
    responses(
        (status = 200, description = "captured and durable"),
        (status = 404, description = "unknown path", body = ErrorBody),
        (status = 413, description = "body over the size limit; nothing stored", body = ErrorBody),
        (status = 429, description = "over the per-address rate, or the workspace's webhook rate or storage quota; nothing stored, `Retry-After` says when to retry", body = ErrorBody),
        (status = 503, description = "the capture could not be made durable; retry", body = ErrorBody),
        (status = "default", description = "the path's own answer once the capture is durable: its response rules or custom response may give any status (docs/RULES.md)"),
    ))]
fn webhook_subpath() {}

/// Liveness.
#[utoipa::path(get, path = "/health/", tag = "health", responses((status = 200, description = "alive")))]
fn health() {}

/// Liveness.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "alive")))]
fn health_live() {}

/// Readiness: checks the bus and the database this process uses.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, description = "ready"), (status = 503, description = "a dependency is down")))]
fn health_ready() {}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
fn metrics() {}

/// The webhook routes take any method, documented by one function each, so
/// every method would share its operationId; OpenAPI wants them unique (and
/// client generators need them so): `post_webhook`, `get_webhook_subpath`, ...
pub(super) fn unique_webhook_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
            ("head", &mut item.head),
            ("options", &mut item.options),
            ("trace", &mut item.trace),
        ];
        for (method, op) in ops {
            if let Some(op) = op.as_mut() {
                if let Some(id) = op
                    .operation_id
                    .as_mut()
                    .filter(|id| id.starts_with("webhook"))
                {
                    *id = format!("{method}_{id}");
                }
            }
        }
    }
}
