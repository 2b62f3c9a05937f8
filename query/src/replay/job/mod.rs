//! Server-side replay jobs: the job document (here), its [`runner`], and the
//! [`registry`] of jobs this process runs (so a cancel reaches them at once).
//! The state machine itself is guarded by the store (`common::store::JobState`).
//!
//! Durability: the runner saves the job (outcomes so far, and a heartbeat)
//! every second and when it ends. A job that stops because the process shuts
//! down is saved as `interrupted`; one whose process died is found by its
//! stale heartbeat (at start-up, and whenever it is read) and marked
//! `interrupted`. A job is never silently left half-done, and never resumed
//! (replaying twice is worse than asking the user to start again).

mod registry;
mod runner;

pub use common::store::JobState;
pub use registry::Replays;
pub use runner::{start, sweep, Work, STALE_AFTER};

use chrono::{DateTime, Utc};
use common::signing::SigningView;
use common::store::{ReplayJobRecord, ReplayResultRecord};
use common::{PathId, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::results;
use super::run::{Pacing, Tally};
use super::send::Outcome;
use super::summary::JobSummary;

/// The options a job was started with, as it reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobOptions {
    #[serde(flatten)]
    pub pacing: Pacing,
    /// Extra or overriding headers, `[name, value]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    /// The profile requests are re-signed with: provider and fingerprint
    /// only (the secret stays in memory, with the running job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningView>,
}

/// A replay job and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReplayJob {
    pub job_id: Uuid,
    #[schema(value_type = String)]
    pub path_id: PathId,
    /// The target base URL; each capture's subpath is appended to it.
    pub target: String,
    pub state: JobState,
    pub options: JobOptions,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Captures selected (ids given, or captures matching the filter).
    pub total: u64,
    /// Requests made so far (answered or failed).
    pub sent: u64,
    /// Answered 2xx.
    pub succeeded: u64,
    /// Answered non-2xx, or no answer.
    pub failed: u64,
    /// Of `failed`, those that got no answer at all.
    pub errors: u64,
    /// Requested ids that are not captures of this path; not sent.
    pub not_found: Vec<String>,
    /// Counts per status class and p50/p99 time to answer, as of the
    /// last save.
    #[serde(default)]
    pub summary: JobSummary,
    /// One entry per capture sent, in the order they completed.
    pub results: Vec<Outcome>,
}

impl ReplayJob {
    /// Counts the outcome in; returns the row that records its answer.
    pub(crate) fn apply(&mut self, mut outcome: Outcome) -> ReplayResultRecord {
        let answer = results::row(self.job_id, self.results.len() as i64 + 1, &outcome);
        outcome.answer = None;
        let mut tally = Tally::default();
        tally.add(&outcome);
        self.sent += tally.sent;
        self.succeeded += tally.succeeded;
        self.failed += tally.non_2xx + tally.errors;
        self.errors += tally.errors;
        self.results.push(outcome);
        answer
    }

    /// The job to store, its summary brought up to date.
    pub fn record(&mut self) -> ReplayJobRecord {
        self.summary = JobSummary::of(&self.results);
        ReplayJobRecord {
            id: self.job_id,
            path_id: self.path_id.clone(),
            state: self.state,
            doc: serde_json::to_string(self).expect("job serializes"),
            heartbeat: Utc::now(),
        }
    }

    /// The stored document, with the stored state (which another process or
    /// the stale-heartbeat rule may have changed).
    pub fn from_record(record: &ReplayJobRecord) -> Result<Self, StoreError> {
        let mut job: Self = serde_json::from_str(&record.doc)
            .map_err(|e| StoreError::Corrupt(format!("replay job {}: {e}", record.id)))?;
        job.state = record.state;
        Ok(job)
    }
}
