//! `GET /api/paths/{path_id}/logs/{request_id}/{curl,httpie,fetch}`: one
//! capture as a command that sends it again, for people who live in a
//! terminal (the page shows the same text). Same access rules as the
//! capture itself; masked header values stay masked.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use common::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use super::logs::load;
use super::Query;
use crate::access::Access;
use crate::commands::{self, Replayable};
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CopyParams {
    /// Send to this URL instead of the path's webhook URL; the capture's
    /// subpath and raw query are appended (e.g. `http://localhost:3000/hooks`).
    url: Option<String>,
    /// A private path's read token, for clients that cannot set headers.
    #[allow(dead_code)]
    read_token: Option<String>,
}

async fn replayable(
    state: &QueryState,
    path_id: &str,
    request_id: &str,
    access: &Access,
    params: &CopyParams,
) -> Result<Replayable, ApiError> {
    let capture = load(state, path_id, request_id, access).await?;
    let target = match &params.url {
        Some(url) => {
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && !url.contains(['?', '#', ' '])
                && reqwest::Url::parse(url).is_ok();
            if !ok {
                return Err(ApiError::bad_request(
                    "invalid_url",
                    "url must be an absolute http(s) URL without query or fragment",
                ));
            }
            url.clone()
        }
        None => format!(
            "{}/webhook/{}",
            state.config.public_url.trim_end_matches('/'),
            capture.path_id
        ),
    };
    Ok(Replayable::new(&capture, &target, |n| {
        state.config.mask.hides(n)
    }))
}

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// One capture as a curl command (bash); run, it sends the same request.
#[utoipa::path(get, path = "/api/paths/{path_id}/logs/{request_id}/curl", tag = "logs",
    operation_id = "copy_as_curl",
    params(("path_id" = String, Path), ("request_id" = String, Path), CopyParams),
    responses(
        (status = 200, description = "a bash command; large, binary or `@`-leading bodies come from a base64 here-document", content_type = "text/plain"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn curl(
    State(state): State<QueryState>,
    Path((path_id, request_id)): Path<(String, String)>,
    access: Access,
    Query(params): Query<CopyParams>,
) -> Result<Response, ApiError> {
    let r = replayable(&state, &path_id, &request_id, &access, &params).await?;
    Ok(text(commands::curl::command(&r)))
}

/// One capture as an HTTPie command.
#[utoipa::path(get, path = "/api/paths/{path_id}/logs/{request_id}/httpie", tag = "logs",
    operation_id = "copy_as_httpie",
    params(("path_id" = String, Path), ("request_id" = String, Path), CopyParams),
    responses(
        (status = 200, description = "an HTTPie (`http`) command", content_type = "text/plain"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn httpie(
    State(state): State<QueryState>,
    Path((path_id, request_id)): Path<(String, String)>,
    access: Access,
    Query(params): Query<CopyParams>,
) -> Result<Response, ApiError> {
    let r = replayable(&state, &path_id, &request_id, &access, &params).await?;
    Ok(text(commands::httpie::command(&r)))
}

/// One capture as a JavaScript `fetch` call.
#[utoipa::path(get, path = "/api/paths/{path_id}/logs/{request_id}/fetch", tag = "logs",
    operation_id = "copy_as_fetch",
    params(("path_id" = String, Path), ("request_id" = String, Path), CopyParams),
    responses(
        (status = 200, description = "a JavaScript `fetch(...)` call", content_type = "text/plain"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn fetch(
    State(state): State<QueryState>,
    Path((path_id, request_id)): Path<(String, String)>,
    access: Access,
    Query(params): Query<CopyParams>,
) -> Result<Response, ApiError> {
    let r = replayable(&state, &path_id, &request_id, &access, &params).await?;
    Ok(text(commands::fetch::snippet(&r)))
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(curl))
        .routes(routes!(httpie))
        .routes(routes!(fetch))
}
