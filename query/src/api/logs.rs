//! `/api/paths/{path_id}/logs`: captures of a path, newest first, keyset
//! paginated; one capture whole; one capture's raw body.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use common::capture::{CaptureDetail, CaptureSummary};
use common::store::LogQuery;
use common::{cursor, ApiError, Capture};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::json::Query;
use super::paths::existing;
use crate::QueryState;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// Page size, 1..=500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this HTTP method (exact, e.g. `POST`).
    pub method: Option<String>,
    /// Only captures received at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only captures received before this RFC 3339 time.
    pub until: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogPage {
    pub items: Vec<CaptureSummary>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

fn parse_time(name: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_time",
                format!("{name} must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"),
            )
        })
}

impl LogParams {
    fn to_query(&self) -> Result<LogQuery, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let before = self
            .cursor
            .as_deref()
            .map(cursor::decode)
            .transpose()
            .map_err(|e| ApiError::bad_request("invalid_cursor", e.to_string()))?;
        let method = self
            .method
            .as_deref()
            .map(|m| {
                Method::from_bytes(m.as_bytes())
                    .map(|m| m.to_string())
                    .map_err(|_| {
                        ApiError::bad_request(
                            "invalid_method",
                            "method must be an HTTP method token",
                        )
                    })
            })
            .transpose()?;
        Ok(LogQuery {
            limit,
            before,
            method,
            since: self
                .since
                .as_deref()
                .map(|t| parse_time("since", t))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|t| parse_time("until", t))
                .transpose()?,
        })
    }
}

/// List captures of a path, newest first.
#[utoipa::path(get, path = "/api/paths/{path_id}/logs", tag = "logs",
    params(("path_id" = String, Path), LogParams),
    responses(
        (status = 200, body = LogPage),
        (status = 400, description = "bad limit, cursor, method or time", body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn list(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    Query(params): Query<LogParams>,
) -> Result<Json<LogPage>, ApiError> {
    let mut q = params.to_query()?;
    let path = existing(&state, &path_id).await?;
    let limit = q.limit;
    // One extra row tells whether another page exists.
    q.limit += 1;
    let mut items = state.store.list_captures(&path.path_id, &q).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|last| cursor::encode(last.id))
    } else {
        None
    };
    Ok(Json(LogPage { items, next_cursor }))
}

pub(crate) async fn load(
    state: &QueryState,
    path_id: &str,
    request_id: &str,
) -> Result<Capture, ApiError> {
    let path = existing(state, path_id).await?;
    let id = Uuid::try_parse(request_id)
        .map_err(|_| ApiError::bad_request("invalid_request_id", "request id must be a UUID"))?;
    state
        .store
        .get_capture(&path.path_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("request_not_found", "no such request in this path"))
}

/// One capture, whole.
#[utoipa::path(get, path = "/api/paths/{path_id}/logs/{request_id}", tag = "logs",
    params(("path_id" = String, Path), ("request_id" = String, Path)),
    responses(
        (status = 200, body = CaptureDetail),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn detail(
    State(state): State<QueryState>,
    Path((path_id, request_id)): Path<(String, String)>,
) -> Result<Json<CaptureDetail>, ApiError> {
    Ok(Json(load(&state, &path_id, &request_id).await?.detail()))
}

/// The raw body, with its original content type, as a download. Served so a
/// browser never renders it as a page of ours (sandboxed, no sniffing).
#[utoipa::path(get, path = "/api/paths/{path_id}/logs/{request_id}/body", tag = "logs",
    params(("path_id" = String, Path), ("request_id" = String, Path)),
    responses(
        (status = 200, description = "the exact body bytes", content_type = "application/octet-stream"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn body(
    State(state): State<QueryState>,
    Path((path_id, request_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let capture = load(&state, &path_id, &request_id).await?;
    let content_type = capture
        .content_type()
        .and_then(|ct| HeaderValue::from_str(&ct).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = format!("attachment; filename=\"{}.bin\"", capture.id);
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).expect("ascii"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            ),
        ],
        capture.body,
    )
        .into_response())
}
