//! Teams on one deployment: every path belongs to a workspace; API keys
//! belong to one and carry a scope; each workspace has quotas and an audit
//! log. With none created, everything is in [`DEFAULT_WORKSPACE`] and the
//! service behaves as it did before workspaces existed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where paths made before workspaces existed (and paths made with the
/// administrator's token and no `workspace`) live.
pub const DEFAULT_WORKSPACE: &str = "default";

/// `^[a-z0-9][a-z0-9_-]{0,62}$`: safe in URLs, subjects and metric labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct WorkspaceId(String);

impl WorkspaceId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 63
            && raw
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "workspace name {raw:?} must match ^[a-z0-9][a-z0-9_-]{{0,62}}$"
            ))
        }
    }

    pub fn default_workspace() -> Self {
        Self(DEFAULT_WORKSPACE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_WORKSPACE
    }
}

impl Default for WorkspaceId {
    fn default() -> Self {
        Self::default_workspace()
    }
}

impl std::fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for WorkspaceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Limits per workspace; absent means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// Paths the workspace may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_paths: Option<u64>,
    /// Webhooks per second across the workspace's paths (a token bucket
    /// per ingest process, each taking its share: docs/TEAMS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks_per_second: Option<u32>,
    /// Captures kept across the workspace's paths; beyond it, webhooks get
    /// 429 until some are removed (retention, a clear, a deleted path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_captures: Option<u64>,
    /// Body bytes kept across the workspace's paths, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
}

impl Quotas {
    /// The storage quota this usage is over, if any.
    pub fn exceeded_by(&self, captures: u64, body_bytes: u64) -> Option<&'static str> {
        if self.max_captures.is_some_and(|m| captures >= m) {
            Some("max_captures")
        } else if self.max_body_bytes.is_some_and(|m| body_bytes >= m) {
            Some("max_body_bytes")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    #[schema(value_type = String)]
    pub id: WorkspaceId,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub quotas: Quotas,
    /// The storage quota it is over (`max_captures`, `max_body_bytes`), as
    /// the last usage check found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_quota: Option<String>,
}

/// What a key may do. Each scope allows exactly its routes
/// ([`Scope::allows`]); `admin` also manages the workspace's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Logs, detail, export, live feeds.
    Read,
    /// Also create, change and delete paths, and clear their logs.
    Write,
    /// Read, and start (or cancel) replays and forwards.
    Replay,
    /// Everything in the workspace, its keys and its audit log included.
    Admin,
}

/// What a route needs (the route table in `query/src/api/scopes.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    Read,
    Write,
    Replay,
    /// The workspace's keys and audit log.
    WorkspaceAdmin,
    /// Creating and listing workspaces: the administrator's token only.
    Administrator,
}

impl Scope {
    pub fn allows(self, need: Need) -> bool {
        match (self, need) {
            (_, Need::Administrator) => false,
            (Self::Admin, _) => true,
            (_, Need::Read) => true,
            (Self::Write, Need::Write) => true,
            (Self::Replay, Need::Replay) => true,
            _ => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Replay => "replay",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "read" => Self::Read,
            "write" => Self::Write,
            "replay" => Self::Replay,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    /// The least scope that allows `need` (for the 403's message).
    pub fn least_for(need: Need) -> &'static str {
        match need {
            Need::Read => "read",
            Need::Write => "write",
            Need::Replay => "replay",
            Need::WorkspaceAdmin => "admin",
            Need::Administrator => "the administrator's token",
        }
    }
}

/// An API key as stored: never the key itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub workspace: WorkspaceId,
    pub name: String,
    /// The key's first characters, shown in lists to tell keys apart.
    pub prefix: String,
    /// SHA-256 of the whole key, hex.
    pub hash: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Usable now: not revoked, not expired.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// One line of a workspace's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub workspace: WorkspaceId,
    pub at: DateTime<Utc>,
    /// `admin` (the administrator's token), `key:<prefix>` or `open` (no
    /// token configured).
    pub actor: String,
    /// `key.create`, `key.revoke`, `path.create`, `path.update`,
    /// `path.delete`, `logs.clear`, `replay.start`, `workspace.update`, ...
    pub action: String,
    /// What it was done to (a path id, a key id, a job id).
    pub target: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in ["default", "team-a", "a", "0_x"] {
            assert!(WorkspaceId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Team", "-a", "a b", "a/b", &"x".repeat(64)] {
            assert!(WorkspaceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_scope_allows_exactly_its_needs() {
        use Need::*;
        let table = [
            (Scope::Read, [true, false, false, false, false]),
            (Scope::Write, [true, true, false, false, false]),
            (Scope::Replay, [true, false, true, false, false]),
            (Scope::Admin, [true, true, true, true, false]),
        ];
        for (scope, allowed) in table {
            for (need, want) in [Read, Write, Replay, WorkspaceAdmin, Administrator]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(scope.allows(need), want, "{scope:?} {need:?}");
            }
        }
    }
}
