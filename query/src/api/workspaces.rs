//! `/api/workspaces`: teams on one deployment (docs/TEAMS.md). The
//! administrator (`CL_API_TOKEN`) creates workspaces and sets their quotas;
//! the administrator or a workspace's `admin` key manages its keys and reads
//! its audit log. Another workspace answers 404, as if it did not exist.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use common::workspaces::{ApiKey, AuditEntry, Quotas, Scope, Workspace, WorkspaceId};
use common::{ApiError, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::json::OptionalJson;
use super::Query;
use crate::access::Access;
use crate::auth::{audit, keys, Principal};
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longest a key may be made to live: ten years.
const MAX_KEY_LIFETIME: u64 = 10 * 365 * 24 * 3600;
const AUDIT_PAGE: u32 = 100;
const MAX_AUDIT_PAGE: u32 = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspace {
    /// `^[a-z0-9][a-z0-9_-]{0,62}$`.
    pub name: String,
    #[serde(default)]
    pub quotas: Quotas,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspace {
    /// Replaces the workspace's quotas (an absent limit is unlimited).
    pub quotas: Quotas,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceView {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub quotas: Quotas,
    pub usage: Usage,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub paths: u64,
    /// The storage quota the workspace is over, as the last usage check
    /// (every `CL_QUOTA_INTERVAL`) found: its webhooks get 429 meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_quota: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceList {
    pub items: Vec<WorkspaceView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// What the key is for (1 to 100 characters).
    pub name: String,
    pub scope: Scope,
    /// The key stops working this many seconds from now; never, when absent.
    pub expires_in_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: Uuid,
    pub workspace: String,
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Only in the answer that created it: the key is not stored and
    /// cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl KeyView {
    fn of(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            workspace: k.workspace.to_string(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scope: k.scope,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
            key: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// Entries older than this one (the previous page's `next_cursor`).
    pub before: Option<String>,
    /// 1..=500, default 100.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

fn no_such_workspace(name: &str) -> ApiError {
    ApiError::not_found("workspace_not_found", format!("no workspace {name:?}"))
}

/// The workspace named in a URL, if the caller may see it (else 404).
async fn visible(state: &QueryState, who: &Principal, raw: &str) -> Result<Workspace, ApiError> {
    let id = WorkspaceId::parse(raw).map_err(|m| ApiError::bad_request("invalid_workspace", m))?;
    if !who.sees(&id) {
        return Err(no_such_workspace(raw));
    }
    state
        .store
        .get_workspace(&id)
        .await?
        .ok_or_else(|| no_such_workspace(raw))
}

/// Where a new path goes: a key's own workspace (naming another is a 404);
/// for the administrator, the one named, or `default`.
pub(crate) async fn target_workspace(
    state: &QueryState,
    who: &Principal,
    requested: Option<&str>,
) -> Result<Workspace, ApiError> {
    let name = match (requested, who.workspace()) {
        (Some(raw), _) => raw.to_owned(),
        (None, Some(own)) => own.to_string(),
        (None, None) => common::workspaces::DEFAULT_WORKSPACE.to_owned(),
    };
    visible(state, who, &name).await
}

fn check_quotas(q: &Quotas) -> Result<(), ApiError> {
    if q.webhooks_per_second == Some(0) {
        return Err(ApiError::bad_request(
            "invalid_quotas",
            "quotas.webhooks_per_second must be at least 1 (absent: unlimited)",
        ));
    }
    Ok(())
}

async fn view(state: &QueryState, w: Workspace) -> Result<WorkspaceView, ApiError> {
    let paths = state.store.count_paths(&w.id).await?;
    Ok(WorkspaceView {
        name: w.id.to_string(),
        created_at: w.created_at,
        quotas: w.quotas,
        usage: Usage {
            paths,
            over_quota: w.over_quota,
        },
    })
}

/// Create a workspace (the administrator's token only).
#[utoipa::path(post, path = "/api/workspaces", tag = "workspaces", operation_id = "create_workspace",
    request_body(content = CreateWorkspace, content_type = "application/json"),
    responses(
        (status = 201, body = WorkspaceView),
        (status = 400, description = "invalid name or quotas", body = common::http_error::ErrorBody),
        (status = 403, description = "not the administrator", body = common::http_error::ErrorBody),
        (status = 409, description = "the name is taken", body = common::http_error::ErrorBody),
    ))]
pub async fn create(
    State(state): State<QueryState>,
    access: Access,
    OptionalJson(body): OptionalJson<CreateWorkspace>,
) -> Result<(StatusCode, Json<WorkspaceView>), ApiError> {
    let body =
        body.ok_or_else(|| ApiError::bad_request("invalid_workspace", "send {\"name\": \"...\"}"))?;
    let id = WorkspaceId::parse(&body.name)
        .map_err(|m| ApiError::bad_request("invalid_workspace", m))?;
    check_quotas(&body.quotas)?;
    let now = Utc::now();
    let w = Workspace {
        id,
        created_at: DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now),
        quotas: body.quotas,
        over_quota: None,
    };
    state
        .store
        .create_workspace(&w)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "workspace_taken",
                format!("workspace {:?} already exists", w.id.as_str()),
            ),
            other => other.into(),
        })?;
    let detail = serde_json::json!({"quotas": w.quotas});
    audit(
        &state.store,
        &access.principal,
        &w.id,
        "workspace.create",
        w.id.as_str(),
        detail,
    )
    .await;
    Ok((StatusCode::CREATED, Json(view(&state, w).await?)))
}

/// List workspaces (the administrator's token only).
#[utoipa::path(get, path = "/api/workspaces", tag = "workspaces", operation_id = "list_workspaces",
    responses(
        (status = 200, body = WorkspaceList),
        (status = 403, body = common::http_error::ErrorBody),
    ))]
pub async fn list(State(state): State<QueryState>) -> Result<Json<WorkspaceList>, ApiError> {
    let mut items = Vec::new();
    for w in state.store.list_workspaces().await? {
        items.push(view(&state, w).await?);
    }
    Ok(Json(WorkspaceList { items }))
}

/// Read a workspace, its quotas and usage.
#[utoipa::path(get, path = "/api/workspaces/{workspace}", tag = "workspaces", operation_id = "get_workspace",
    params(("workspace" = String, Path)),
    responses(
        (status = 200, body = WorkspaceView),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn get(
    State(state): State<QueryState>,
    Path(workspace): Path<String>,
    access: Access,
) -> Result<Json<WorkspaceView>, ApiError> {
    let w = visible(&state, &access.principal, &workspace).await?;
    Ok(Json(view(&state, w).await?))
}

/// Change a workspace's quotas (the administrator's token only).
#[utoipa::path(patch, path = "/api/workspaces/{workspace}", tag = "workspaces", operation_id = "update_workspace",
    params(("workspace" = String, Path)),
    request_body(content = UpdateWorkspace, content_type = "application/json"),
    responses(
        (status = 200, body = WorkspaceView),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn update(
    State(state): State<QueryState>,
    Path(workspace): Path<String>,
    access: Access,
    OptionalJson(body): OptionalJson<UpdateWorkspace>,
) -> Result<Json<WorkspaceView>, ApiError> {
    let body =
        body.ok_or_else(|| ApiError::bad_request("invalid_quotas", "send {\"quotas\": {...}}"))?;
    check_quotas(&body.quotas)?;
    let mut w = visible(&state, &access.principal, &workspace).await?;
    w.quotas = body.quotas;
    if !state.store.update_workspace(&w).await? {
        return Err(no_such_workspace(&workspace));
    }
    // Ingest reads the webhook rate from each path in the registry; a
    // changed storage quota is judged now rather than at the next check.
    for path in state.store.list_paths().await? {
        if path.workspace == w.id {
            state.bus.registry().put(&path).await?;
        }
    }
    if let Err(e) = crate::quotas::check(&state.bus, &state.store).await {
        tracing::warn!(error = %e, "workspace quota check after a change failed");
    }
    let w = state.store.get_workspace(&w.id).await?.unwrap_or(w);
    let detail = serde_json::json!({"quotas": w.quotas});
    audit(
        &state.store,
        &access.principal,
        &w.id,
        "workspace.update",
        w.id.as_str(),
        detail,
    )
    .await;
    Ok(Json(view(&state, w).await?))
}

/// Create an API key; the key is in this answer only.
#[utoipa::path(post, path = "/api/workspaces/{workspace}/keys", tag = "workspaces", operation_id = "create_key",
    params(("workspace" = String, Path)),
    request_body(content = CreateKey, content_type = "application/json"),
    responses(
        (status = 201, body = KeyView),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn create_key(
    State(state): State<QueryState>,
    Path(workspace): Path<String>,
    access: Access,
    OptionalJson(body): OptionalJson<CreateKey>,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    let w = visible(&state, &access.principal, &workspace).await?;
    let body = body.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_key",
            "send {\"name\": \"...\", \"scope\": \"read\"}",
        )
    })?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_key_name",
            "a key's name is 1 to 100 characters, none of them control characters",
        ));
    }
    let now = Utc::now();
    let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let expires_at = match body.expires_in_seconds {
        None => None,
        Some(s) if (1..=MAX_KEY_LIFETIME).contains(&s) => {
            Some(now + chrono::Duration::seconds(s as i64))
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_expiry",
                format!("expires_in_seconds must be between 1 and {MAX_KEY_LIFETIME}"),
            ))
        }
    };
    let (secret, hash) = keys::new_key();
    let key = ApiKey {
        id: Uuid::now_v7(),
        workspace: w.id.clone(),
        name: name.to_owned(),
        prefix: secret[..keys::PREFIX_LEN].to_owned(),
        hash,
        scope: body.scope,
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    state.store.create_key(&key).await?;
    let detail = serde_json::json!({"name": key.name, "scope": key.scope, "prefix": key.prefix});
    audit(
        &state.store,
        &access.principal,
        &w.id,
        "key.create",
        &key.id.to_string(),
        detail,
    )
    .await;
    let mut view = KeyView::of(&key);
    view.key = Some(secret);
    Ok((StatusCode::CREATED, Json(view)))
}

/// List a workspace's keys (prefixes only), oldest first.
#[utoipa::path(get, path = "/api/workspaces/{workspace}/keys", tag = "workspaces", operation_id = "list_keys",
    params(("workspace" = String, Path)),
    responses(
        (status = 200, body = KeyList),
        (status = 400, description = "a malformed workspace name", body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn list_keys(
    State(state): State<QueryState>,
    Path(workspace): Path<String>,
    access: Access,
) -> Result<Json<KeyList>, ApiError> {
    let w = visible(&state, &access.principal, &workspace).await?;
    let items = state
        .store
        .list_keys(&w.id)
        .await?
        .iter()
        .map(KeyView::of)
        .collect();
    Ok(Json(KeyList { items }))
}

/// Revoke a key: refused by every query process from the next request.
#[utoipa::path(delete, path = "/api/workspaces/{workspace}/keys/{key_id}", tag = "workspaces", operation_id = "revoke_key",
    params(("workspace" = String, Path), ("key_id" = String, Path)),
    responses(
        (status = 204, description = "revoked"),
        (status = 400, description = "a malformed workspace name", body = common::http_error::ErrorBody),
        (status = 404, description = "no such live key in this workspace", body = common::http_error::ErrorBody),
    ))]
pub async fn revoke_key(
    State(state): State<QueryState>,
    Path((workspace, key_id)): Path<(String, String)>,
    access: Access,
) -> Result<StatusCode, ApiError> {
    let w = visible(&state, &access.principal, &workspace).await?;
    let not_found = || ApiError::not_found("key_not_found", "no such live key in this workspace");
    let id = Uuid::try_parse(&key_id).map_err(|_| not_found())?;
    if !state.store.revoke_key(&w.id, id, Utc::now()).await? {
        return Err(not_found());
    }
    audit(
        &state.store,
        &access.principal,
        &w.id,
        "key.revoke",
        &key_id,
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A workspace's audit log, newest first: who created and revoked keys,
/// created, changed and deleted paths, cleared logs, started replays.
#[utoipa::path(get, path = "/api/workspaces/{workspace}/audit", tag = "workspaces", operation_id = "list_audit",
    params(("workspace" = String, Path), AuditParams),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn list_audit(
    State(state): State<QueryState>,
    Path(workspace): Path<String>,
    access: Access,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let w = visible(&state, &access.principal, &workspace).await?;
    let limit = params.limit.unwrap_or(AUDIT_PAGE);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_AUDIT_PAGE}"),
        ));
    }
    let before = params
        .before
        .as_deref()
        .map(|raw| {
            Uuid::try_parse(raw)
                .map_err(|_| ApiError::bad_request("invalid_cursor", "cursor is not one we gave"))
        })
        .transpose()?;
    let items = state.store.list_audit(&w.id, before, limit).await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last().map(|e| e.id.simple().to_string()))
        .flatten();
    Ok(Json(AuditPage { items, next_cursor }))
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update))
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
        .routes(routes!(list_audit))
}
