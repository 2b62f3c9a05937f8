//! `GET /api/replays/{job_id}/results`: what the target answered each
//! request of a job, in completion order, paginated.

use axum::extract::{Path, State};
use axum::Json;
use common::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::json::Query;
use super::logs::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::access::Access;
use crate::replay::results::ReplayResult;
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultParams {
    /// Page size, 1..=500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultPage {
    pub items: Vec<ReplayResult>,
    /// Pass as `cursor` for the next page; null when there is none yet.
    pub next_cursor: Option<String>,
}

/// What the target answered, one item per request (status, headers, the
/// first 64 KiB of the body, time to answer), in completion order.
#[utoipa::path(get, path = "/api/replays/{job_id}/results", tag = "replay",
    operation_id = "list_replay_results",
    params(("job_id" = String, Path), ResultParams),
    responses(
        (status = 200, body = ResultPage),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn list(
    State(state): State<QueryState>,
    Path(job_id): Path<String>,
    access: Access,
    Query(params): Query<ResultParams>,
) -> Result<Json<ResultPage>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after =
        match params.cursor.as_deref() {
            None => 0,
            Some(raw) => raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "cursor is not one we gave")
            })?,
        };
    let job = super::replays::load(&state, &job_id, &access).await?;
    let rows = state
        .store
        .list_replay_results(job.job_id, after, limit)
        .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    Ok(Json(ResultPage {
        items: rows.into_iter().map(ReplayResult::from_record).collect(),
        next_cursor,
    }))
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(list))
}
