//! Paths: the unique webhook URLs users create. The store is the source of
//! truth; the bus carries them to every ingest (the path registry).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::path_id::PathId;
use crate::rules::{Routing, Template};
use crate::signing::SigningProfile;
use crate::workspaces::WorkspaceId;

/// A path as stored and as distributed to ingest through the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathInfo {
    pub path_id: PathId,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub settings: PathSettings,
    /// Verifies each capture on arrival. Holds a secret, so it is never
    /// serialized with the path: the registry (and so the bus) never
    /// carries it; the store keeps it in a column of its own.
    #[serde(skip)]
    pub signing: Option<SigningProfile>,
    /// Re-signs what is sent to `settings.forward_url` for the target's
    /// secret; kept like `signing`.
    #[serde(skip)]
    pub forward_signing: Option<SigningProfile>,
    /// The workspace the path belongs to (`default` for registry entries
    /// written before workspaces existed).
    #[serde(default, skip_serializing_if = "WorkspaceId::is_default")]
    pub workspace: WorkspaceId,
    /// The workspace's webhooks-per-second quota, read with the path (the
    /// store joins it in) so that ingest enforces it from the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_rate: Option<u32>,
    /// The storage quota its workspace is over, likewise joined in: ingest
    /// refuses the path's webhooks while it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_over: Option<String>,
}

/// What a user can shape per path. Everything is optional; the defaults are
/// the seed's behaviour (200 JSON answer, service-wide retention, public).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathSettings {
    /// The answer ingest gives senders instead of the default 200 JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<CustomResponse>,
    /// Keep at most this many captures (newest kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    /// Remove captures older than this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// SHA-256 (hex) of the read token of a private path; reading its
    /// captures needs the token. The token itself is never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_token_sha256: Option<String>,
    /// Every new capture is re-sent here by the server (at least once, with
    /// retries), when the replay allowlist permits the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_url: Option<String>,
    /// Response rules and forward targets (`rules.rs`).
    #[serde(default, skip_serializing_if = "Routing::is_empty")]
    pub routing: Routing,
    /// Changes whenever `routing` does: sequence counters are kept per
    /// revision, so a new document counts from 1 again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_revision: Option<String>,
}

/// A custom answer to senders, validated by the API before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomResponse {
    /// 100..=599.
    pub status: u16,
    /// Extra response headers, in order.
    #[serde(default)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    /// Response body (UTF-8), at most 64 KiB.
    #[serde(default)]
    pub body: String,
    /// Instead of `body`: a template over the request (docs/RULES.md),
    /// rendered for each answer, at most 64 KiB of output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub body_template: Option<Template>,
    /// Wait this long before answering (after the capture is durable), at
    /// most 30,000 ms.
    #[serde(default)]
    pub delay_ms: u64,
}

pub const MAX_RESPONSE_BODY: usize = 64 << 10;
/// Headers that describe the message's framing or the connection (hop-by-hop,
/// RFC 9110 section 7.6.1): a custom response may not set them.
pub const FRAMING_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];
pub const MAX_RESPONSE_DELAY_MS: u64 = 30_000;

impl CustomResponse {
    /// Checks the bounds; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(100..=599).contains(&self.status) {
            return Err("response.status must be between 100 and 599".into());
        }
        if self.body.len() > MAX_RESPONSE_BODY {
            return Err(format!(
                "response.body must be at most {MAX_RESPONSE_BODY} bytes"
            ));
        }
        if let Some(t) = &self.body_template {
            if !self.body.is_empty() {
                return Err("give response.body or response.body_template, not both".into());
            }
            t.check()
                .map_err(|m| format!("response.body_template: {m}"))?;
        }
        if self.delay_ms > MAX_RESPONSE_DELAY_MS {
            return Err(format!(
                "response.delay_ms must be at most {MAX_RESPONSE_DELAY_MS}"
            ));
        }
        if self.headers.len() > 50 {
            return Err("response.headers may hold at most 50 headers".into());
        }
        for (name, value) in &self.headers {
            let parsed = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("response header name {name:?} is not a valid header name"))?;
            if FRAMING_HEADERS.contains(&parsed.as_str()) {
                return Err(format!(
                    "response header {name:?} is not allowed: the server frames its own \
                     answers (a wrong Content-Length would leave every sender waiting)"
                ));
            }
            http::HeaderValue::from_str(value)
                .map_err(|_| format!("response header {name:?} has an invalid value"))?;
        }
        Ok(())
    }
}

impl PathInfo {
    pub fn new(path_id: PathId) -> Self {
        // Stores keep microseconds; truncate so a round trip compares equal.
        let now = Utc::now();
        let created_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        Self {
            path_id,
            created_at,
            settings: PathSettings::default(),
            signing: None,
            forward_signing: None,
            workspace: WorkspaceId::default(),
            workspace_rate: None,
            workspace_over: None,
        }
    }
}

/// The in-memory view of every known path that ingest consults on each
/// webhook, so accepting a capture never needs a database round trip.
#[derive(Debug, Clone, Default)]
pub struct PathTable {
    inner: Arc<RwLock<HashMap<PathId, Arc<PathInfo>>>>,
}

impl PathTable {
    pub fn get(&self, id: &PathId) -> Option<Arc<PathInfo>> {
        self.read().get(id).cloned()
    }

    pub fn insert(&self, path: PathInfo) {
        self.write().insert(path.path_id.clone(), Arc::new(path));
    }

    pub fn remove(&self, id: &PathId) {
        self.write().remove(id);
    }

    pub fn replace_all(&self, paths: impl IntoIterator<Item = PathInfo>) {
        let fresh = paths
            .into_iter()
            .map(|p| (p.path_id.clone(), Arc::new(p)))
            .collect();
        *self.write() = fresh;
    }

    pub fn ids(&self) -> Vec<PathId> {
        self.read().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PathId, Arc<PathInfo>>> {
        // A poisoned lock only means a writer panicked mid-insert of a whole
        // value; the map itself is still consistent.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PathId, Arc<PathInfo>>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}
