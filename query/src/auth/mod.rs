//! Who is calling, and what they may do. Every `/api` request presents the
//! administrator's token (`CL_API_TOKEN`), a workspace's API key, or
//! nothing (allowed only when no token is configured: the open service of
//! before workspaces). The middleware resolves the caller, checks the
//! route's need (`routes.rs`) against a key's scope, applies the per-key
//! rate limit, and hands the [`Principal`] to the handlers, which show a
//! key only its workspace's paths (another's answer 404).
//!
//! Keys are looked up on every request (an indexed read), so a revocation
//! is effective on every query process at once.

pub(crate) mod keys;
pub(crate) mod routes;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use common::workspaces::{AuditEntry, Need, Scope, WorkspaceId};
use common::{ApiError, Store};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

/// How often a key's `last_used_at` is written, at most, per process.
const TOUCH_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub(crate) enum Principal {
    /// No token configured: everything is open, as before workspaces.
    Open,
    /// The administrator's token.
    Admin,
    Key(KeyPrincipal),
}

#[derive(Debug, Clone)]
pub(crate) struct KeyPrincipal {
    pub id: Uuid,
    pub prefix: String,
    pub workspace: WorkspaceId,
    pub scope: Scope,
}

impl Principal {
    /// The one workspace the caller may see; `None`: all of them.
    pub fn workspace(&self) -> Option<&WorkspaceId> {
        match self {
            Self::Key(k) => Some(&k.workspace),
            Self::Open | Self::Admin => None,
        }
    }

    pub fn sees(&self, ws: &WorkspaceId) -> bool {
        self.workspace().is_none_or(|w| w == ws)
    }

    /// Who did it, for the audit log.
    pub fn actor(&self) -> String {
        match self {
            Self::Open => "open".into(),
            Self::Admin => "admin".into(),
            Self::Key(k) => format!("key:{}", k.prefix),
        }
    }
}

pub(crate) struct Auth {
    token: Option<String>,
    store: Store,
    limiter: Option<DefaultKeyedRateLimiter<Uuid>>,
    touched: Mutex<HashMap<Uuid, Instant>>,
}

impl Auth {
    pub fn new(token: Option<String>, store: Store, key_rate: Option<NonZeroU32>) -> Arc<Self> {
        Arc::new(Self {
            token,
            store,
            limiter: key_rate.map(|r| RateLimiter::keyed(Quota::per_second(r))),
            touched: Mutex::default(),
        })
    }

    async fn resolve(&self, presented: Option<&str>) -> Result<Principal, Response> {
        let Some(token) = presented else {
            return match self.token {
                None => Ok(Principal::Open),
                Some(_) => Err(unauthorized(
                    "this API needs `Authorization: Bearer <token or key>`",
                )),
            };
        };
        if let Some(admin) = &self.token {
            if constant_time_eq::constant_time_eq(token.as_bytes(), admin.as_bytes()) {
                return Ok(Principal::Admin);
            }
        }
        if !keys::looks_like_key(token) {
            // Without a token configured, the service is open, as it was
            // before keys: whatever a client sends that is not a key is
            // ignored, as it always was.
            return match self.token {
                None => Ok(Principal::Open),
                Some(_) => Err(unauthorized("unknown token or key")),
            };
        }
        let key = self
            .store
            .key_by_hash(&crate::access::digest(token))
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        let now = Utc::now();
        match key {
            Some(k) if k.is_live(now) => {
                self.touch(k.id, now).await;
                Ok(Principal::Key(KeyPrincipal {
                    id: k.id,
                    prefix: k.prefix,
                    workspace: k.workspace,
                    scope: k.scope,
                }))
            }
            Some(k) if k.revoked_at.is_some() => Err(unauthorized("this key was revoked")),
            Some(_) => Err(unauthorized("this key has expired")),
            None => Err(unauthorized("unknown token or key")),
        }
    }

    /// Records a key's use, at most every [`TOUCH_EVERY`] per process.
    async fn touch(&self, id: Uuid, now: chrono::DateTime<Utc>) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            if touched.get(&id).is_some_and(|t| t.elapsed() < TOUCH_EVERY) {
                return;
            }
            touched.insert(id, Instant::now());
        }
        if let Err(e) = self.store.touch_key(id, now).await {
            tracing::debug!(error = %e, "could not record a key's last use");
        }
    }
}

/// The middleware over every `/api` route.
pub(crate) async fn authenticate(
    State(auth): State<Arc<Auth>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = bearer(&request);
    let principal = match auth.resolve(presented.as_deref()).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        let Some(need) = routes::need(request.method(), route.as_str()) else {
            // Fail closed: a route nobody classified serves nobody.
            tracing::error!(
                route = route.as_str(),
                "API route missing from auth/routes.rs"
            );
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "route_unclassified",
                "this route has no access rule",
            )
            .into_response();
        };
        if let Principal::Key(k) = &principal {
            if !k.scope.allows(need) {
                return forbidden_scope(need, k.scope);
            }
        }
    }
    if let (Some(limiter), Principal::Key(k)) = (&auth.limiter, &principal) {
        if let Err(not_until) = limiter.check_key(&k.id) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return common::http_error::too_many_requests(
                "rate_limited",
                "too many API requests with this key; retry later",
                wait,
            );
        }
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// `Authorization: Bearer <token>`, or, for EventSource, which cannot set
/// headers, `?access_token=<token>`.
fn bearer(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| crate::access::query_param(request.uri().query(), "access_token"))
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"callback-listener\""),
    );
    r
}

fn forbidden_scope(need: Need, have: Scope) -> Response {
    let message = match need {
        Need::Administrator => {
            "this route needs the administrator's token (CL_API_TOKEN), not a workspace key"
                .to_owned()
        }
        _ => format!(
            "this route needs a key with the `{}` scope; this key has `{}`",
            Scope::least_for(need),
            have.as_str()
        ),
    };
    ApiError::new(StatusCode::FORBIDDEN, "insufficient_scope", message).into_response()
}

/// Appends to a workspace's audit log. The change it records is already
/// made, so a failure to write the entry is logged, not returned.
pub(crate) async fn audit(
    store: &Store,
    who: &Principal,
    workspace: &WorkspaceId,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let entry = AuditEntry {
        id: Uuid::now_v7(),
        workspace: workspace.clone(),
        at: Utc::now(),
        actor: who.actor(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
    };
    if let Err(e) = store.append_audit(&entry).await {
        tracing::error!(error = %e, action, target, "could not write the audit log");
    }
}
