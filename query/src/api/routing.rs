//! `/api/paths/{path_id}/routing`: a path's response rules and forward
//! targets as one JSON document (docs/RULES.md), read and replaced whole.
//! A document that fails any check is refused with a 400 naming the field
//! (`rules[2].when.header.regex: invalid regex ...`) and changes nothing.

use axum::extract::{Path, State};
use axum::Json;
use common::rules::{Routing, RuleError};
use common::{ApiError, PathInfo};
use serde_json::Value;

use super::json::OptionalJson;
use super::paths::{existing, publish_change};
use crate::access::Access;
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn invalid(e: RuleError) -> ApiError {
    ApiError::bad_request("invalid_routing", e.to_string())
}

/// A document the path may take: parsed (patterns and templates compiled),
/// checked, and every target allowed by the replay allowlist.
pub(crate) async fn checked(state: &QueryState, raw: &Value) -> Result<Routing, ApiError> {
    let doc = Routing::from_value(raw).map_err(invalid)?;
    doc.validate().map_err(invalid)?;
    for (i, target) in doc.targets.iter().enumerate() {
        let at = format!("targets[{i}].url");
        let url = crate::replay::send::parse_target(&target.url)
            .map_err(|e| invalid(RuleError::new(&at, &e.to_string())))?;
        state
            .replays
            .allow
            .check(&url)
            .await
            .map_err(|e| invalid(RuleError::new(&at, &e.to_string())))?;
    }
    Ok(doc)
}

/// Sets the document and starts every sequence count again.
pub(crate) fn install(path: &mut PathInfo, doc: Routing) {
    path.settings.routing_revision =
        (!doc.is_empty()).then(|| uuid::Uuid::now_v7().simple().to_string());
    path.settings.routing = doc;
}

/// Read a path's rules and targets (export).
#[utoipa::path(get, path = "/api/paths/{path_id}/routing", tag = "paths", operation_id = "get_routing",
    params(("path_id" = String, Path)),
    responses(
        (status = 200, description = "the routing document (docs/RULES.md)", body = Object),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn get(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
) -> Result<Json<Routing>, ApiError> {
    let path = existing(&state, &path_id, &access).await?;
    Ok(Json(path.settings.routing))
}

/// Replace a path's rules and targets (import); validated as a whole,
/// live on every ingest within a second, sequence counts restarted.
#[utoipa::path(put, path = "/api/paths/{path_id}/routing", tag = "paths", operation_id = "put_routing",
    params(("path_id" = String, Path)),
    request_body(content = Object, description = "the routing document (docs/RULES.md); empty clears it", content_type = "application/json"),
    responses(
        (status = 200, description = "the document now in force", body = Object),
        (status = 400, description = "invalid document: the message names the rule and the field", body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
        (status = 415, body = common::http_error::ErrorBody),
    ))]
pub async fn put(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
    OptionalJson(body): OptionalJson<Value>,
) -> Result<Json<Routing>, ApiError> {
    let mut path = existing(&state, &path_id, &access).await?;
    let doc = checked(&state, &body.unwrap_or_else(|| serde_json::json!({}))).await?;
    install(&mut path, doc);
    publish_change(&state, &path).await?;
    let detail = serde_json::json!({
        "rules": path.settings.routing.rules.len(),
        "targets": path.settings.routing.targets.len(),
    });
    crate::auth::audit(
        &state.store,
        &access.principal,
        &path.workspace,
        "routing.replace",
        path.path_id.as_str(),
        detail,
    )
    .await;
    Ok(Json(path.settings.routing))
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(get, put))
}
