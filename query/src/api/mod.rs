//! The HTTP API under `/api`, one module per resource, with its OpenAPI
//! document generated from the same handlers (so the two cannot drift).

mod copy_as;
mod docs;
mod export;
mod forwards;
mod json;
mod logs;
mod paths;
mod replay_results;
mod replays;
mod routing;
mod stream;
pub(crate) mod workspaces;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use common::ApiError;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::QueryState;

pub(crate) use json::Query;
pub(crate) use paths::existing;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CallbackListener",
        description = "Self-hosted webhook catcher and request inspector. Errors are always \
                       `{\"error\":{\"code\",\"message\"}}`; ids are UUIDv7."
    ),
    paths(
        docs::webhook,
        docs::webhook_subpath,
        docs::health,
        docs::health_live,
        docs::health_ready,
        docs::metrics
    ),
    components(schemas(common::http_error::ErrorBody, common::capture::HeaderValueJson))
)]
struct ApiDoc;

fn api_router() -> OpenApiRouter<QueryState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(paths::routes())
        .merge(routing::routes())
        .merge(logs::routes())
        .merge(copy_as::routes())
        .merge(export::routes())
        .merge(forwards::routes())
        .merge(replays::routes())
        .merge(replay_results::routes())
        .merge(stream::routes())
        .merge(workspaces::routes())
}

/// The OpenAPI document served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().split_for_parts().1;
    docs::unique_webhook_operation_ids(&mut doc);
    doc
}

pub(crate) fn router(state: QueryState) -> Router {
    let router = api_router().split_for_parts().0;
    let doc = Json(openapi());
    router
        .route("/api/openapi.json", get(move || async move { doc.clone() }))
        .with_state(state)
}

/// JSON 404 for any route that does not exist.
pub async fn route_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such route")
}

/// JSON 405 for a known route called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
