//! Replay jobs at rest. The job document is opaque JSON owned by the query
//! service; the store guards the state machine (each backend's SQL is in its
//! own folder, `sqlite/replay_jobs.rs` and `postgres/replay_jobs.rs`):
//!
//! ```text
//! queued -> running -> done
//!    \         \-----> cancelled | interrupted
//!     \--------------> cancelled | interrupted
//! ```
//!
//! A job that was cancelled or interrupted stays so, whatever a late save
//! of its runner says; a finished job is never moved again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::path_id::PathId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Cancelled,
    Interrupted,
}

impl JobState {
    pub const ALL: [Self; 5] = [
        Self::Queued,
        Self::Running,
        Self::Done,
        Self::Cancelled,
        Self::Interrupted,
    ];

    /// The name stored in the `state` column (and shown in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// A job in this state never runs again.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }

    /// A state a save by the runner cannot undo (set by a user or by the
    /// stale-heartbeat rule, possibly in another process).
    pub fn is_sticky(self) -> bool {
        matches!(self, Self::Cancelled | Self::Interrupted)
    }
}

/// One replay job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayJobRecord {
    pub id: Uuid,
    pub path_id: PathId,
    pub state: JobState,
    /// The job document (JSON).
    pub doc: String,
    /// When the process running the job last saved it.
    pub heartbeat: DateTime<Utc>,
}

/// A `state` column's value, refused when it is none of ours.
pub(super) fn state_from(raw: &str) -> Result<JobState, super::StoreError> {
    JobState::parse(raw)
        .ok_or_else(|| super::StoreError::Corrupt(format!("replay job state {raw:?}")))
}
