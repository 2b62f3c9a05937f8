//! `GET /api/paths/{path_id}/forwards`: what server-side forwarding did.

use axum::extract::{Path, State};
use axum::Json;
use common::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::paths::existing;
use super::Query;
use crate::access::Access;
use crate::replay::forward::Attempt;
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Serialize, ToSchema)]
pub struct ForwardLog {
    /// Newest first; the last 200 attempts per target this query process
    /// made.
    pub items: Vec<Attempt>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ForwardQuery {
    /// Only this target's attempts (its name; an empty name means the
    /// path's `forward_url`).
    pub target: Option<String>,
}

/// Delivery attempts of the path's `forward_url` and forward targets.
#[utoipa::path(get, path = "/api/paths/{path_id}/forwards", tag = "replay", operation_id = "list_forwards",
    params(("path_id" = String, Path), ForwardQuery),
    responses(
        (status = 200, body = ForwardLog),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn list(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
    Query(query): Query<ForwardQuery>,
) -> Result<Json<ForwardLog>, ApiError> {
    let path = existing(&state, &path_id, &access).await?;
    Ok(Json(ForwardLog {
        items: state.forwards.of(&path.path_id, query.target.as_deref()),
    }))
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(list))
}
