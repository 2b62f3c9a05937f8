//! `/api/paths`: create, list, read, configure and delete the webhook URLs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use common::paths::{CustomResponse, PathSettings};
use common::rules::{ForwardTarget, ResponseRule, Routing};
use common::signing::{SigningProfile, SigningSpec, SigningView};
use common::{ApiError, PathId, PathInfo, StoreError};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::json::OptionalJson;
use crate::access::{new_read_token, Access};
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most captures a path may be configured to keep.
pub const MAX_MAX_REQUESTS: u64 = 10_000_000;
/// Longest per-path time to live: ten years.
pub const MAX_TTL_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// Body of `POST /api/paths`; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePath {
    /// `^[A-Za-z0-9_-]{1,64}$`; a random id is chosen when absent.
    pub path_id: Option<String>,
    /// The answer senders get instead of the default 200 JSON.
    pub response: Option<CustomResponse>,
    /// Keep at most this many captures (the newest).
    pub max_requests: Option<u64>,
    /// Remove captures older than this many seconds.
    pub ttl_seconds: Option<u64>,
    /// A private path's captures are readable only with its read token,
    /// returned once in this answer.
    #[serde(default)]
    pub private: bool,
    /// Re-send every new capture to this base URL (allowlisted targets only).
    pub forward_url: Option<String>,
    /// Verify every capture's provider signature with this profile; the
    /// secret is write-only (answers show a fingerprint).
    pub signing: Option<SigningSpec>,
    /// Re-sign what is forwarded to `forward_url` for the target's secret.
    pub forward_signing: Option<SigningSpec>,
    /// Response rules, in order (docs/RULES.md).
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Value>,
    /// Forward targets, each with its filter and transform (docs/RULES.md).
    #[schema(value_type = Option<Vec<Object>>)]
    pub targets: Option<Value>,
    /// The workspace the path belongs to: a key's own (the only one it may
    /// name); with the administrator's token, any (default `default`).
    pub workspace: Option<String>,
}

/// Body of `PATCH /api/paths/{path_id}`: a field that is absent is left as
/// is; `null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePath {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CustomResponse>)]
    pub response: Option<Option<CustomResponse>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub max_requests: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub ttl_seconds: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub forward_url: Option<Option<String>>,
    /// A new signing profile; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SigningSpec>)]
    pub signing: Option<Option<SigningSpec>>,
    /// A new profile for forwards; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SigningSpec>)]
    pub forward_signing: Option<Option<SigningSpec>>,
    /// Replaces every rule (`null` or `[]` removes them); sequence counts
    /// start again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Option<Value>>,
    /// Replaces every forward target (`null` or `[]` removes them).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub targets: Option<Option<Value>>,
}

/// Tells "absent" (outer `None`, via `default`) from `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PathView {
    pub path_id: String,
    /// Where senders post: `{public_url}/webhook/{path_id}`.
    pub webhook_url: String,
    /// The workspace it belongs to.
    pub workspace: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<CustomResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    pub private: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_url: Option<String>,
    /// The signing profile: provider and a fingerprint of the secret, never
    /// the secret itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningView>,
    /// The profile forwards are re-signed with (fingerprint only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_signing: Option<SigningView>,
    /// Response rules, in order (`/api/paths/{path_id}/routing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<ResponseRule>,
    /// Forward targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub targets: Vec<ForwardTarget>,
    /// Only in the answer that created a private path; it is not stored and
    /// cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_token: Option<String>,
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
            workspace: path.workspace.to_string(),
            created_at: path.created_at,
            response: path.settings.response.clone(),
            max_requests: path.settings.max_requests,
            ttl_seconds: path.settings.ttl_seconds,
            private: path.settings.read_token_sha256.is_some(),
            forward_url: path.settings.forward_url.clone(),
            signing: path.signing.as_ref().map(SigningProfile::view),
            forward_signing: path.forward_signing.as_ref().map(SigningProfile::view),
            rules: path.settings.routing.rules.clone(),
            targets: path.settings.routing.targets.clone(),
            read_token: None,
        }
    }
}

/// Parses a path id taken from an API URL.
pub(crate) fn parse_path_id(raw: &str) -> Result<PathId, ApiError> {
    PathId::parse(raw).map_err(|e| ApiError::bad_request("invalid_path_id", e.to_string()))
}

fn not_found(id: &PathId) -> ApiError {
    ApiError::not_found("path_not_found", format!("no path {:?}", id.as_str()))
}

/// Loads a path the request may see, or answers 404 (a private path without
/// its read token is indistinguishable from a missing one).
pub(crate) async fn existing(
    state: &QueryState,
    raw: &str,
    access: &Access,
) -> Result<PathInfo, ApiError> {
    let id = parse_path_id(raw)?;
    match state.store.get_path(&id).await? {
        Some(path) if access.may_read(&path) => Ok(path),
        _ => Err(not_found(&id)),
    }
}

fn validate(
    response: Option<&CustomResponse>,
    max_requests: Option<u64>,
    ttl: Option<u64>,
) -> Result<(), ApiError> {
    if let Some(r) = response {
        r.validate()
            .map_err(|m| ApiError::bad_request("invalid_response", m))?;
    }
    if max_requests.is_some_and(|n| n == 0 || n > MAX_MAX_REQUESTS) {
        return Err(ApiError::bad_request(
            "invalid_max_requests",
            format!("max_requests must be between 1 and {MAX_MAX_REQUESTS}"),
        ));
    }
    if ttl.is_some_and(|t| t == 0 || t > MAX_TTL_SECONDS) {
        return Err(ApiError::bad_request(
            "invalid_ttl",
            format!("ttl_seconds must be between 1 and {MAX_TTL_SECONDS}"),
        ));
    }
    Ok(())
}

/// A checked profile, or the 400 saying what is wrong with it.
pub(crate) fn signing_profile(spec: &SigningSpec) -> Result<SigningProfile, ApiError> {
    SigningProfile::from_spec(spec)
        .map_err(|e| ApiError::bad_request("invalid_signing", e.to_string()))
}

/// A forward target must parse (400) and be allowed (403), like a replay's.
async fn check_forward(state: &QueryState, raw: &str) -> Result<(), ApiError> {
    let url = crate::replay::send::parse_target(raw)
        .map_err(|e| ApiError::bad_request("invalid_forward_url", e.to_string()))?;
    state
        .replays
        .allow
        .check(&url)
        .await
        .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, "forward_not_allowed", e.to_string()))?;
    Ok(())
}

/// Create a path.
#[utoipa::path(post, path = "/api/paths", tag = "paths",
    request_body(content = Option<CreatePath>, content_type = "application/json"),
    responses(
        (status = 201, body = PathView),
        (status = 400, description = "invalid path id, settings or JSON", body = common::http_error::ErrorBody),
        (status = 409, description = "the path id is taken", body = common::http_error::ErrorBody),
        (status = 415, description = "body is not JSON", body = common::http_error::ErrorBody),
    ))]
pub async fn create(
    State(state): State<QueryState>,
    access: Access,
    OptionalJson(body): OptionalJson<CreatePath>,
) -> Result<(StatusCode, Json<PathView>), ApiError> {
    let body = body.unwrap_or_default();
    let path_id = match body.path_id.as_deref() {
        Some(raw) => parse_path_id(raw)?,
        None => PathId::random(),
    };
    let workspace =
        super::workspaces::target_workspace(&state, &access.principal, body.workspace.as_deref())
            .await?;
    validate(body.response.as_ref(), body.max_requests, body.ttl_seconds)?;
    if let Some(url) = &body.forward_url {
        check_forward(&state, url).await?;
    }
    let signing = body.signing.as_ref().map(signing_profile).transpose()?;
    let forward_signing = body
        .forward_signing
        .as_ref()
        .map(signing_profile)
        .transpose()?;
    let read_token = body.private.then(new_read_token);
    let mut path = PathInfo::new(path_id);
    path.workspace = workspace.id.clone();
    path.workspace_rate = workspace.quotas.webhooks_per_second;
    path.signing = signing;
    path.forward_signing = forward_signing;
    path.settings = PathSettings {
        response: body.response,
        max_requests: body.max_requests,
        ttl_seconds: body.ttl_seconds,
        read_token_sha256: read_token.as_ref().map(|(_, digest)| digest.clone()),
        forward_url: body.forward_url,
        ..PathSettings::default()
    };
    if body.rules.is_some() || body.targets.is_some() {
        let doc = routing_of(&state, body.rules, body.targets).await?;
        super::routing::install(&mut path, doc);
    }
    if let Some(max) = workspace.quotas.max_paths {
        // Checked, then created: two creates racing may pass it by one.
        if state.store.count_paths(&workspace.id).await? >= max {
            metrics::counter!("cl_workspace_refusals_total",
                "workspace" => workspace.id.to_string(), "quota" => "max_paths")
            .increment(1);
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "quota_exceeded",
                format!(
                    "workspace {:?} may have at most {max} paths",
                    workspace.id.as_str()
                ),
            ));
        }
    }
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
    if let Err(e) = state.bus.registry().put(&path).await {
        let _ = state.store.delete_path(&path.path_id).await;
        return Err(e.into());
    }
    let who = &access.principal;
    crate::auth::audit(
        &state.store,
        who,
        &path.workspace,
        "path.create",
        path.path_id.as_str(),
        serde_json::json!({}),
    )
    .await;
    let mut view = PathView::new(&state, &path);
    view.read_token = read_token.map(|(token, _)| token);
    Ok((StatusCode::CREATED, Json(view)))
}

/// List paths, newest first (private paths are not listed).
#[utoipa::path(get, path = "/api/paths", tag = "paths", operation_id = "list_paths",
    responses((status = 200, body = PathList)))]
pub async fn list(
    State(state): State<QueryState>,
    access: Access,
) -> Result<Json<PathList>, ApiError> {
    let paths = state.store.list_paths().await?;
    Ok(Json(PathList {
        items: paths
            .iter()
            .filter(|p| p.settings.read_token_sha256.is_none())
            .filter(|p| access.principal.sees(&p.workspace))
            .map(|p| PathView::new(&state, p))
            .collect(),
    }))
}

/// Read one path.
#[utoipa::path(get, path = "/api/paths/{path_id}", tag = "paths", operation_id = "get_path",
    params(("path_id" = String, Path)),
    responses(
        (status = 200, body = PathView),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn get(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
) -> Result<Json<PathView>, ApiError> {
    let path = existing(&state, &path_id, &access).await?;
    Ok(Json(PathView::new(&state, &path)))
}

/// Change a path's custom response, retention, forward target or signing
/// profile; takes effect on every ingest within a second.
#[utoipa::path(patch, path = "/api/paths/{path_id}", tag = "paths",
    params(("path_id" = String, Path)),
    request_body(content = UpdatePath, content_type = "application/json"),
    responses(
        (status = 200, body = PathView),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn update(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
    OptionalJson(body): OptionalJson<UpdatePath>,
) -> Result<Json<PathView>, ApiError> {
    let body = body.unwrap_or_default();
    // What the audit log records: the settings named, not their values
    // (they may hold secrets).
    let changed: Vec<&str> = [
        ("response", body.response.is_some()),
        ("max_requests", body.max_requests.is_some()),
        ("ttl_seconds", body.ttl_seconds.is_some()),
        ("forward_url", body.forward_url.is_some()),
        ("signing", body.signing.is_some()),
        ("forward_signing", body.forward_signing.is_some()),
        ("rules", body.rules.is_some()),
        ("targets", body.targets.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    let mut path = existing(&state, &path_id, &access).await?;
    let s = &mut path.settings;
    if let Some(response) = body.response {
        s.response = response;
    }
    if let Some(max) = body.max_requests {
        s.max_requests = max;
    }
    if let Some(ttl) = body.ttl_seconds {
        s.ttl_seconds = ttl;
    }
    validate(s.response.as_ref(), s.max_requests, s.ttl_seconds)?;
    if let Some(forward) = body.forward_url {
        if let Some(url) = &forward {
            check_forward(&state, url).await?;
        }
        path.settings.forward_url = forward;
    }
    if let Some(signing) = body.signing {
        path.signing = signing.as_ref().map(signing_profile).transpose()?;
    }
    if let Some(signing) = body.forward_signing {
        path.forward_signing = signing.as_ref().map(signing_profile).transpose()?;
    }
    if body.rules.is_some() || body.targets.is_some() {
        let keep = &path.settings.routing;
        let given_or_kept = |given: Option<Option<Value>>, kept: Value| match given {
            Some(v) => v,
            None => Some(kept),
        };
        let rules = given_or_kept(body.rules, serde_json::json!(keep.rules));
        let targets = given_or_kept(body.targets, serde_json::json!(keep.targets));
        let doc = routing_of(&state, rules, targets).await?;
        super::routing::install(&mut path, doc);
    }
    publish_change(&state, &path).await?;
    crate::auth::audit(
        &state.store,
        &access.principal,
        &path.workspace,
        "path.update",
        path.path_id.as_str(),
        serde_json::json!({"fields": changed}),
    )
    .await;
    Ok(Json(PathView::new(&state, &path)))
}

/// Stores a changed path and announces it to every ingest.
pub(crate) async fn publish_change(state: &QueryState, path: &PathInfo) -> Result<(), ApiError> {
    if !state.store.update_path(path).await? {
        return Err(not_found(&path.path_id));
    }
    // The store holds the change; the periodic registry sync repairs a
    // failed announcement, but say so rather than pretend it is live.
    state.bus.registry().put(path).await?;
    Ok(())
}

/// The routing document made of a body's `rules` and `targets` (`null`
/// clears either), checked as a whole.
async fn routing_of(
    state: &QueryState,
    rules: Option<Value>,
    targets: Option<Value>,
) -> Result<Routing, ApiError> {
    let mut doc = serde_json::Map::new();
    for (key, value) in [("rules", rules), ("targets", targets)] {
        if let Some(v) = value.filter(|v| !v.is_null()) {
            doc.insert(key.into(), v);
        }
    }
    super::routing::checked(state, &Value::Object(doc)).await
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
    access: Access,
) -> Result<StatusCode, ApiError> {
    let path = existing(&state, &path_id, &access).await?;
    // Registry first, so ingest stops accepting before the rows go.
    state.bus.registry().remove(&path.path_id).await?;
    if !state.store.delete_path(&path.path_id).await? {
        return Err(not_found(&path.path_id));
    }
    crate::auth::audit(
        &state.store,
        &access.principal,
        &path.workspace,
        "path.delete",
        path.path_id.as_str(),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
}
