//! `/api/paths/{path_id}/logs`: captures of a path, newest first, keyset
//! paginated; one capture whole; one capture's raw body.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use common::capture::{CaptureDetail, CaptureSummary};
use common::signing::Verdict;
use common::store::LogQuery;
use common::{cursor, ApiError, Capture};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::json::Query;
use super::paths::existing;
use crate::access::Access;
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    /// Only captures with this header: `name`, or `name:value` for an exact value.
    pub header: Option<String>,
    /// Only captures whose body contains this text (ASCII case-insensitive;
    /// the first 64 KiB of each body are searched).
    pub q: Option<String>,
    /// Only captures with this signature verdict: `valid`, `invalid`,
    /// `stale` or `missing`.
    pub signature: Option<String>,
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

/// `name` or `name:value`; names compare lower-case, as they are stored.
fn parse_header_filter(raw: &str) -> Result<(String, Option<String>), ApiError> {
    let (name, value) = match raw.split_once(':') {
        Some((n, v)) => (n, Some(v.trim_start())),
        None => (raw, None),
    };
    let bad = || {
        ApiError::bad_request(
            "invalid_header_filter",
            "header must be `name` or `name:value`",
        )
    };
    let name = axum::http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    if let Some(v) = value {
        axum::http::HeaderValue::from_str(v).map_err(|_| bad())?;
    }
    Ok((name.as_str().to_owned(), value.map(str::to_owned)))
}

pub const MAX_SEARCH_LEN: usize = 256;

fn parse_text(raw: &str) -> Result<String, ApiError> {
    if raw.is_empty() || raw.len() > MAX_SEARCH_LEN || raw.contains('\0') {
        return Err(ApiError::bad_request(
            "invalid_search",
            format!("q must be 1 to {MAX_SEARCH_LEN} bytes of text without NUL"),
        ));
    }
    Ok(raw.to_owned())
}

impl LogParams {
    pub(crate) fn to_query(&self) -> Result<LogQuery, ApiError> {
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
            header: self
                .header
                .as_deref()
                .map(parse_header_filter)
                .transpose()?,
            text: self.q.as_deref().map(parse_text).transpose()?,
            signature: self
                .signature
                .as_deref()
                .map(|raw| {
                    Verdict::parse(raw).ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_signature_filter",
                            "signature must be valid, invalid, stale or missing",
                        )
                    })
                })
                .transpose()?,
        })
    }
}

/// List captures of a path, newest first.
#[utoipa::path(get, path = "/api/paths/{path_id}/logs", tag = "logs", operation_id = "list_logs",
    params(("path_id" = String, Path), LogParams),
    responses(
        (status = 200, body = LogPage),
        (status = 400, description = "bad limit, cursor, method or time", body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn list(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
    Query(params): Query<LogParams>,
) -> Result<Json<LogPage>, ApiError> {
    let mut q = params.to_query()?;
    let path = existing(&state, &path_id, &access).await?;
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
    let items = items
        .into_iter()
        .map(|s| state.config.mask.summary(s))
        .collect();
    Ok(Json(LogPage { items, next_cursor }))
}

pub(crate) async fn load(
    state: &QueryState,
    path_id: &str,
    request_id: &str,
    access: &Access,
) -> Result<Capture, ApiError> {
    let path = existing(state, path_id, access).await?;
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
    access: Access,
) -> Result<Json<CaptureDetail>, ApiError> {
    let capture = load(&state, &path_id, &request_id, &access).await?;
    Ok(Json(state.config.mask.detail(capture.detail())))
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
    access: Access,
) -> Result<Response, ApiError> {
    let capture = load(&state, &path_id, &request_id, &access).await?;
    // A masked Content-Type stays masked here too.
    let content_type = capture
        .content_type()
        .filter(|_| !state.config.mask.hides("content-type"))
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

/// Delete every capture of a path (the path itself stays).
#[utoipa::path(delete, path = "/api/paths/{path_id}/logs", tag = "logs",
    params(("path_id" = String, Path)),
    responses(
        (status = 204, description = "cleared"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn clear(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
) -> Result<axum::http::StatusCode, ApiError> {
    let path = existing(&state, &path_id, &access).await?;
    let cleared = state.store.clear_captures(&path.path_id).await?;
    let detail = serde_json::json!({"captures": cleared});
    crate::auth::audit(
        &state.store,
        &access.principal,
        &path.workspace,
        "logs.clear",
        path.path_id.as_str(),
        detail,
    )
    .await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(list, clear))
        .routes(routes!(detail))
        .routes(routes!(body))
}
