//! Replay jobs: `POST /api/paths/{path_id}/replay` starts one,
//! `GET /api/replays/{job_id}` reports it, `DELETE /api/replays/{job_id}`
//! (or `POST /api/replays/{job_id}/cancel`) cancels it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use common::signing::{SigningProfile, SigningSpec};
use common::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::logs::{LogParams, MAX_LIMIT};
use super::paths::{existing, signing_profile};
use crate::access::Access;
use crate::replay::job::{self, JobOptions, JobState, ReplayJob, Work, STALE_AFTER};
use crate::replay::run::{Pacing, DEFAULT_CONCURRENCY};
use crate::replay::send::{parse_overrides, parse_target, Target};
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most captures one job replays.
pub const MAX_JOB_CAPTURES: usize = 10_000;

/// Body of `POST /api/paths/{path_id}/replay`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartReplay {
    /// Base URL the captures go to; each capture's subpath and query string
    /// are appended. Must be allowed by `CL_REPLAY_ALLOW_HOSTS`.
    pub target: String,
    /// These captures (in capture order); unknown ids are reported as
    /// `not_found`. Exclusive with `filter`.
    pub ids: Option<Vec<String>>,
    /// The captures the logs filters select, oldest first. Without `ids`
    /// or `filter`, every capture of the path.
    pub filter: Option<ReplayFilter>,
    /// Requests per second, `0 < rate <= 1000`.
    pub rate: Option<f64>,
    /// Requests in flight, 1..=64 (default 4).
    pub concurrency: Option<usize>,
    /// One at a time in capture order (forces concurrency 1).
    #[serde(default)]
    pub keep_order: bool,
    /// Keep the original gaps between captures, scaled by this (> 0).
    pub timing_factor: Option<f64>,
    /// Extra or overriding headers, `[name, value]` pairs.
    #[serde(default)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    /// Re-sign each request for the target's secret (provider + staging
    /// secret; `hmac` also takes header, encoding, prefix), with a fresh
    /// timestamp. Without it, requests are sent byte-exact.
    pub signing: Option<SigningSpec>,
    /// Re-sign with the signing profile stored on this path (typically the
    /// staging path the target is), instead of giving the secret again.
    /// Exclusive with `signing`.
    pub signing_path: Option<String>,
    /// Check everything and say what would be sent, without sending.
    #[serde(default)]
    pub dry_run: bool,
}

/// The answer to a dry run: nothing was sent and no job was made.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRun {
    pub dry_run: bool,
    /// How many captures the job would send.
    pub total: u64,
    /// The first 20 of them, in sending order.
    pub ids: Vec<Uuid>,
    /// Requested ids that are not capture ids.
    pub not_found: Vec<String>,
}

/// How many ids a dry run lists.
const DRY_RUN_IDS: usize = 20;

/// The logs filters (same meaning as on `GET /api/paths/{path_id}/logs`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFilter {
    pub method: Option<String>,
    /// RFC 3339; received at or after.
    pub since: Option<String>,
    /// RFC 3339; received before.
    pub until: Option<String>,
    /// `name` or `name:value`.
    pub header: Option<String>,
    /// Body text.
    pub q: Option<String>,
    /// Signature verdict: `valid`, `invalid`, `stale` or `missing`.
    pub signature: Option<String>,
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

/// Start replaying captures of a path to a target.
#[utoipa::path(post, path = "/api/paths/{path_id}/replay", tag = "replay",
    params(("path_id" = String, Path)),
    request_body = StartReplay,
    responses(
        (status = 202, description = "the job, started", body = ReplayJob),
        (status = 200, description = "`dry_run`: what would be sent; nothing was", body = DryRun),
        (status = 400, description = "malformed target or options out of range", body = common::http_error::ErrorBody),
        (status = 403, description = "target not allowed (the message says why)", body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn start(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
    super::json::OptionalJson(body): super::json::OptionalJson<StartReplay>,
) -> Result<Response, ApiError> {
    let body = body.ok_or_else(|| bad("invalid_json", "a JSON body with `target` is required"))?;
    let path = existing(&state, &path_id, &access).await?;
    let pacing = Pacing {
        rate: body.rate,
        concurrency: body.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        keep_order: body.keep_order,
        timing_factor: body.timing_factor,
    };
    pacing
        .validate()
        .map_err(|m| bad("invalid_replay_options", m))?;
    let overrides = parse_overrides(&body.headers).map_err(|m| bad("invalid_headers", m))?;
    let signing = match (&body.signing, &body.signing_path) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "invalid_signing",
                "give either `signing` or `signing_path`, not both",
            ))
        }
        (Some(spec), None) => Some(signing_profile(spec)?),
        (None, Some(raw)) => {
            let stored = existing(&state, raw, &access).await?;
            Some(stored.signing.ok_or_else(|| {
                bad(
                    "invalid_signing",
                    format!("path {raw:?} has no signing profile"),
                )
            })?)
        }
        (None, None) => None,
    };
    let url = parse_target(&body.target).map_err(|e| bad("invalid_target", e.to_string()))?;
    let pinned =
        state.replays.allow.check(&url).await.map_err(|e| {
            ApiError::new(StatusCode::FORBIDDEN, "target_not_allowed", e.to_string())
        })?;
    let target = Target::new(url.clone(), Some(pinned), overrides)
        .map_err(ApiError::internal)?
        .with_signing(signing.clone());

    let explicit = body.ids.is_some();
    let (ids, not_found) = match (body.ids, body.filter) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "invalid_selection",
                "give either `ids` or `filter`, not both",
            ))
        }
        (Some(raw), None) => {
            if raw.is_empty() || raw.len() > MAX_JOB_CAPTURES {
                return Err(bad(
                    "invalid_selection",
                    format!("ids must list 1 to {MAX_JOB_CAPTURES} capture ids"),
                ));
            }
            let mut ids = Vec::new();
            let mut not_found = Vec::new();
            for r in raw {
                match Uuid::try_parse(r.trim()) {
                    Ok(id) => ids.push(id),
                    Err(_) => not_found.push(r),
                }
            }
            ids.sort();
            ids.dedup();
            (ids, not_found)
        }
        (None, filter) => (
            matching(&state, &path, filter.unwrap_or_default()).await?,
            vec![],
        ),
    };

    if body.dry_run {
        let (mut ids, mut not_found) = (ids, not_found);
        if explicit {
            // Listed ids are only looked up when sent; a dry run checks them.
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                match state.store.get_capture(&path.path_id, id).await? {
                    Some(_) => found.push(id),
                    None => not_found.push(id.to_string()),
                }
            }
            ids = found;
        }
        let dry = DryRun {
            dry_run: true,
            total: ids.len() as u64,
            ids: ids.iter().take(DRY_RUN_IDS).copied().collect(),
            not_found,
        };
        return Ok((StatusCode::OK, Json(dry)).into_response());
    }
    let now = Utc::now();
    let job = ReplayJob {
        job_id: Uuid::now_v7(),
        path_id: path.path_id.clone(),
        target: url.to_string(),
        state: JobState::Queued,
        options: JobOptions {
            pacing: pacing.clone(),
            headers: body.headers,
            signing: signing.as_ref().map(SigningProfile::view),
        },
        created_at: now,
        updated_at: now,
        finished_at: None,
        total: (ids.len() + not_found.len()) as u64,
        sent: 0,
        succeeded: 0,
        failed: 0,
        errors: 0,
        not_found,
        summary: Default::default(),
        results: Vec::new(),
    };
    let workspace = path.workspace.clone();
    let work = Work {
        path: path.path_id,
        ids,
        target,
        pacing,
    };
    let job = job::start(
        state.store.clone(),
        state.replays.clone(),
        job,
        work,
        &state.shutdown,
    )
    .await?;
    let detail =
        serde_json::json!({"path_id": job.path_id, "target": job.target, "total": job.total});
    crate::auth::audit(
        &state.store,
        &access.principal,
        &workspace,
        "replay.start",
        &job.job_id.to_string(),
        detail,
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

/// Ids of the captures a filter selects, oldest first.
async fn matching(
    state: &QueryState,
    path: &common::PathInfo,
    f: ReplayFilter,
) -> Result<Vec<Uuid>, ApiError> {
    let params = LogParams {
        limit: Some(MAX_LIMIT),
        cursor: None,
        method: f.method,
        since: f.since,
        until: f.until,
        header: f.header,
        q: f.q,
        signature: f.signature,
    };
    let mut q = params.to_query()?;
    let mut ids = Vec::new();
    loop {
        let page = state.store.list_captures(&path.path_id, &q).await?;
        ids.extend(page.iter().map(|s| s.id));
        if ids.len() > MAX_JOB_CAPTURES {
            return Err(bad(
                "too_many_captures",
                format!("the filter selects more than {MAX_JOB_CAPTURES} captures; narrow it"),
            ));
        }
        match page.last() {
            Some(last) if page.len() == q.limit as usize => q.before = Some(last.id),
            _ => break,
        }
    }
    ids.reverse();
    Ok(ids)
}

pub(super) async fn load(
    state: &QueryState,
    raw: &str,
    access: &Access,
) -> Result<ReplayJob, ApiError> {
    let not_found = || ApiError::not_found("replay_not_found", "no such replay job");
    let id = Uuid::try_parse(raw).map_err(|_| not_found())?;
    let mut record = state
        .store
        .get_replay_job(id)
        .await?
        .ok_or_else(not_found)?;
    match state.store.get_path(&record.path_id).await? {
        Some(path) if !access.may_read(&path) => return Err(not_found()),
        // A deleted path's job: its workspace is not known any more, so
        // only a caller who sees every workspace sees it.
        None if access.principal.workspace().is_some() => return Err(not_found()),
        _ => {}
    }
    let stale = Utc::now() - chrono::Duration::from_std(STALE_AFTER).expect("small");
    if !record.state.is_final() && record.heartbeat < stale {
        if let Some(now) = state
            .store
            .finish_replay_job(id, JobState::Interrupted)
            .await?
        {
            record.state = now;
        }
    }
    Ok(ReplayJob::from_record(&record)?)
}

/// A replay job's progress and per-capture results.
#[utoipa::path(get, path = "/api/replays/{job_id}", tag = "replay", operation_id = "get_replay",
    params(("job_id" = String, Path)),
    responses(
        (status = 200, body = ReplayJob),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn get(
    State(state): State<QueryState>,
    Path(job_id): Path<String>,
    access: Access,
) -> Result<Json<ReplayJob>, ApiError> {
    load(&state, &job_id, &access).await.map(Json)
}

/// Cancel a replay job (a finished job is left as it is).
#[utoipa::path(delete, path = "/api/replays/{job_id}", tag = "replay",
    params(("job_id" = String, Path)),
    responses(
        (status = 200, description = "the job, as it stands now", body = ReplayJob),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<QueryState>,
    Path(job_id): Path<String>,
    access: Access,
) -> Result<Json<ReplayJob>, ApiError> {
    let job = load(&state, &job_id, &access).await?;
    if let Some(path) = state.store.get_path(&job.path_id).await? {
        crate::auth::audit(
            &state.store,
            &access.principal,
            &path.workspace,
            "replay.cancel",
            &job.job_id.to_string(),
            serde_json::json!({}),
        )
        .await;
    }
    state.replays.cancel_local(job.job_id);
    state
        .store
        .finish_replay_job(job.job_id, JobState::Cancelled)
        .await?;
    load(&state, &job_id, &access).await.map(Json)
}

/// Cancel a replay job (same as `DELETE /api/replays/{job_id}`).
#[utoipa::path(post, path = "/api/replays/{job_id}/cancel", tag = "replay",
    params(("job_id" = String, Path)),
    responses(
        (status = 200, description = "the job, as it stands now", body = ReplayJob),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn cancel_post(
    state: State<QueryState>,
    job_id: Path<String>,
    access: Access,
) -> Result<Json<ReplayJob>, ApiError> {
    cancel(state, job_id, access).await
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(get, cancel))
        .routes(routes!(cancel_post))
}
