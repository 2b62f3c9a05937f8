//! `/api/paths`: create, list, read and delete the webhook URLs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use common::{ApiError, PathId, PathInfo, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::OptionalJson;
use crate::QueryState;

/// Body of `POST /api/paths`; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePath {
    /// `^[A-Za-z0-9_-]{1,64}$`; a random id is chosen when absent.
    pub path_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PathView {
    pub path_id: String,
    /// Where senders post: `{public_url}/webhook/{path_id}`.
    pub webhook_url: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PathList {
    pub items: Vec<PathView>,
}

impl PathView {
    fn new(state: &QueryState, path: &PathInfo) -> Self {
        Self {
            path_id: path.path_id.to_string(),
            webhook_url: format!(
                "{}/webhook/{}",
                state.config.public_url.trim_end_matches('/'),
                path.path_id
            ),
            created_at: path.created_at,
        }
    }
}

/// Parses a path id taken from an API URL.
pub(crate) fn parse_path_id(raw: &str) -> Result<PathId, ApiError> {
    PathId::parse(raw).map_err(|e| ApiError::bad_request("invalid_path_id", e.to_string()))
}

/// Loads a path or answers 404.
pub(crate) async fn existing(state: &QueryState, raw: &str) -> Result<PathInfo, ApiError> {
    let id = parse_path_id(raw)?;
    state
        .store
        .get_path(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("path_not_found", format!("no path {id:?}")))
}

/// Create a path.
#[utoipa::path(post, path = "/api/paths", tag = "paths",
    request_body(content = Option<CreatePath>, content_type = "application/json"),
    responses(
        (status = 201, body = PathView),
        (status = 400, description = "invalid path id or JSON", body = common::http_error::ErrorBody),
        (status = 409, description = "the path id is taken", body = common::http_error::ErrorBody),
        (status = 415, description = "body is not JSON", body = common::http_error::ErrorBody),
    ))]
pub async fn create(
    State(state): State<QueryState>,
    OptionalJson(body): OptionalJson<CreatePath>,
) -> Result<(StatusCode, Json<PathView>), ApiError> {
    let body = body.unwrap_or_default();
    let path_id = match body.path_id.as_deref() {
        Some(raw) => parse_path_id(raw)?,
        None => PathId::random(),
    };
    let path = PathInfo::new(path_id);
    state.store.create_path(&path).await.map_err(|e| match e {
        StoreError::Conflict => ApiError::new(
            StatusCode::CONFLICT,
            "path_taken",
            format!("path {:?} already exists", path.path_id.as_str()),
        ),
        other => other.into(),
    })?;
    // Ingest only accepts what the registry announces; if that fails, undo so
    // the caller can simply retry.
    if let Err(e) = state.bus.put_path(&path).await {
        let _ = state.store.delete_path(&path.path_id).await;
        return Err(e.into());
    }
    Ok((StatusCode::CREATED, Json(PathView::new(&state, &path))))
}

/// List paths, newest first.
#[utoipa::path(get, path = "/api/paths", tag = "paths",
    responses((status = 200, body = PathList)))]
pub async fn list(State(state): State<QueryState>) -> Result<Json<PathList>, ApiError> {
    let paths = state.store.list_paths().await?;
    Ok(Json(PathList {
        items: paths.iter().map(|p| PathView::new(&state, p)).collect(),
    }))
}

/// Read one path.
#[utoipa::path(get, path = "/api/paths/{path_id}", tag = "paths",
    params(("path_id" = String, Path)),
    responses(
        (status = 200, body = PathView),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn get(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
) -> Result<Json<PathView>, ApiError> {
    let path = existing(&state, &path_id).await?;
    Ok(Json(PathView::new(&state, &path)))
}

/// Delete a path and every capture of it.
#[utoipa::path(delete, path = "/api/paths/{path_id}", tag = "paths",
    params(("path_id" = String, Path)),
    responses(
        (status = 204, description = "deleted"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn delete(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_path_id(&path_id)?;
    // Registry first, so ingest stops accepting before the rows go.
    state.bus.remove_path(&id).await?;
    if !state.store.delete_path(&id).await? {
        return Err(ApiError::not_found(
            "path_not_found",
            format!("no path {id:?}"),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
