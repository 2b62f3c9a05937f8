//! The store seam: paths and captures at rest.
//!
//! Promises every implementation keeps (checked by the conformance suite in
//! `common/tests/it/store.rs`): `insert_batch` is idempotent on the capture id
//! (redelivery never doubles a row); listing is keyset-paginated, newest
//! first; a capture round-trips byte for byte; every stored capture has a
//! position in commit order (see [`Committed`]).

mod pool;
mod positions;
mod postgres;
mod replay_jobs;
mod replay_results;
mod rows;
mod signing;
mod sqlite;
mod teams;

pub use replay_jobs::{JobState, ReplayJobRecord};
pub use replay_results::ReplayResultRecord;

use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::capture::{Capture, CaptureSummary};
use crate::path_id::PathId;
use crate::paths::PathInfo;
use crate::signing::{SigningProfile, Verdict};
use crate::workspaces::{ApiKey, AuditEntry, Workspace, WorkspaceId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists")]
    Conflict,
    #[error("database unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Filters and page position for listing captures.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Page size; callers bound it (the API takes 1..=500).
    pub limit: u32,
    /// Only captures older than this id (the keyset cursor).
    pub before: Option<Uuid>,
    /// Exact method match, e.g. `POST`.
    pub method: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only captures carrying this header (name lower-case), with this exact
    /// value when one is given.
    pub header: Option<(String, Option<String>)>,
    /// Only captures whose body contains this text (ASCII case-insensitive,
    /// first [`BODY_SEARCH_BYTES`] bytes of the body).
    pub text: Option<String>,
    /// Only captures with this signature verdict.
    pub signature: Option<Verdict>,
}

/// How much of each body the text search looks at (and Postgres indexes).
pub const BODY_SEARCH_BYTES: usize = 65_536;

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What one `insert_batch` committed.
///
/// Positions are handed out in commit order: under a lock that serialises
/// batch commits (Postgres: an advisory transaction lock; SQLite: its single
/// writer), the new rows get `prev + 1, prev + 2, ...` in id order. So a
/// reader that sees position P committed knows every lower position is
/// committed too, and positions are never reused (the head is kept apart
/// from the rows, so deleting the newest captures does not lower it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// The last position assigned before this batch (0 on a new store).
    pub prev: i64,
    /// `(id, position)` of each row this batch inserted, in position order;
    /// captures that were already stored (redeliveries) are not here.
    pub inserted: Vec<(Uuid, i64)>,
}

/// The captures of a batch that may be new: sorted by id, each id once.
pub(crate) fn new_rows(captures: &[Capture]) -> Vec<&Capture> {
    let mut rows: Vec<&Capture> = captures.iter().collect();
    rows.sort_by_key(|c| c.id);
    rows.dedup_by_key(|c| c.id);
    rows
}

#[async_trait]
pub trait StoreBackend: Send + Sync + 'static {
    /// Creates a path; `StoreError::Conflict` when the id is taken.
    async fn create_path(&self, path: &PathInfo) -> Result<(), StoreError>;
    async fn get_path(&self, id: &PathId) -> Result<Option<PathInfo>, StoreError>;
    /// Replaces a path's settings; false when the path does not exist.
    async fn update_path(&self, path: &PathInfo) -> Result<bool, StoreError>;
    async fn list_paths(&self) -> Result<Vec<PathInfo>, StoreError>;
    /// The signing profiles of those of `ids` that have one.
    async fn signing_profiles(
        &self,
        ids: &[&str],
    ) -> Result<Vec<(String, SigningProfile)>, StoreError>;
    /// Deletes a path and every capture of it; false when it did not exist.
    async fn delete_path(&self, id: &PathId) -> Result<bool, StoreError>;
    /// Inserts in one transaction; rows whose id exists are skipped. The new
    /// rows get the next positions in commit order; see [`Committed`].
    async fn insert_batch(&self, captures: &[Capture]) -> Result<Committed, StoreError>;
    /// The last position assigned (0 on a new store): every capture at or
    /// below it is committed.
    async fn head(&self) -> Result<i64, StoreError>;
    /// Newest first, at most `q.limit` items.
    async fn list_captures(
        &self,
        path: &PathId,
        q: &LogQuery,
    ) -> Result<Vec<CaptureSummary>, StoreError>;
    /// Captures with `after < position <= upto`, for one path or all, in
    /// position order, at most `limit`: a live feed's catch-up.
    async fn list_positions(
        &self,
        path: Option<&PathId>,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<Vec<(i64, CaptureSummary)>, StoreError>;
    /// Where a live feed resumes after the capture `id` (its `Last-Event-ID`):
    /// that capture's position. If the store no longer has it (retention,
    /// clear), just before the first capture with a larger id: an index
    /// lookup, and right whenever clocks agree (a capture committed earlier
    /// with a larger id, or later with a smaller one, is the only way to be
    /// off, and the id that would tell is gone). With no larger id, the head.
    async fn resume_position(&self, id: Uuid) -> Result<i64, StoreError>;
    async fn get_capture(&self, path: &PathId, id: Uuid) -> Result<Option<Capture>, StoreError>;
    /// Like `list_captures`, but whole captures (for export).
    async fn list_full(&self, path: &PathId, q: &LogQuery) -> Result<Vec<Capture>, StoreError>;
    /// Deletes every capture of a path; returns how many.
    async fn clear_captures(&self, path: &PathId) -> Result<u64, StoreError>;
    /// Deletes at most `limit` captures of a path that are beyond the newest
    /// `keep_newest` or older than `older_than`; returns how many. Callers
    /// loop, so retention never holds a long transaction.
    async fn prune_batch(
        &self,
        path: &PathId,
        keep_newest: Option<u64>,
        older_than: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<u64, StoreError>;
    /// A cheap round trip, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Creates or updates a replay job; a stored `cancelled` or
    /// `interrupted` state is kept. Returns the state stored afterwards.
    async fn save_replay_job(&self, job: &ReplayJobRecord) -> Result<JobState, StoreError>;
    async fn get_replay_job(&self, id: Uuid) -> Result<Option<ReplayJobRecord>, StoreError>;
    /// Moves a queued or running job to `to` (`cancelled`, `interrupted`);
    /// the state stored afterwards, `None` when there is no such job.
    async fn finish_replay_job(
        &self,
        id: Uuid,
        to: JobState,
    ) -> Result<Option<JobState>, StoreError>;
    /// Marks queued or running jobs not saved since `before` as interrupted.
    async fn interrupt_stale_replay_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Records answers to a job's requests; rows already stored are kept.
    async fn save_replay_results(&self, rows: &[ReplayResultRecord]) -> Result<(), StoreError>;
    /// A job's answers with `seq > after`, in seq order, at most `limit`.
    async fn list_replay_results(
        &self,
        job: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReplayResultRecord>, StoreError>;

    /// Creates a workspace; `StoreError::Conflict` when the name is taken.
    async fn create_workspace(&self, w: &Workspace) -> Result<(), StoreError>;
    async fn get_workspace(&self, id: &WorkspaceId) -> Result<Option<Workspace>, StoreError>;
    /// By name.
    async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError>;
    /// Replaces a workspace's quotas; false when it does not exist.
    async fn update_workspace(&self, w: &Workspace) -> Result<bool, StoreError>;
    /// How many paths a workspace has (its `max_paths` quota).
    async fn count_paths(&self, ws: &WorkspaceId) -> Result<u64, StoreError>;
    /// Captures and body bytes kept, per workspace that has any (one
    /// aggregate over the captures: the storage quotas' check).
    async fn workspace_usage(&self) -> Result<Vec<(WorkspaceId, u64, u64)>, StoreError>;
    /// Records the storage quota a workspace is over (`None`: within).
    async fn set_over_quota(&self, ws: &WorkspaceId, over: Option<&str>) -> Result<(), StoreError>;
    async fn create_key(&self, k: &ApiKey) -> Result<(), StoreError>;
    /// The key whose SHA-256 this is (revoked and expired ones included:
    /// the caller tells them apart).
    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;
    /// A workspace's keys, oldest first.
    async fn list_keys(&self, ws: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes a key of that workspace; false when there is no such live key.
    async fn revoke_key(
        &self,
        ws: &WorkspaceId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Records when a key was last used.
    async fn touch_key(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError>;
    /// A workspace's audit log, newest first, entries older than `before`.
    async fn list_audit(
        &self,
        ws: &WorkspaceId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The handle the rest of the code holds; which database is behind it is
/// decided once, by the URL, in [`Store::connect`].
#[derive(Clone)]
pub struct Store(Arc<dyn StoreBackend>);

impl Store {
    /// `sqlite://path/to/file.db` or `postgres://...`; applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let store = Arc::new(sqlite::SqliteStore::connect(url).await?);
            pool::report(Arc::downgrade(&store), |s: &sqlite::SqliteStore| &s.pool);
            Ok(Self(store))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let store = Arc::new(postgres::PostgresStore::connect(url).await?);
            pool::report(Arc::downgrade(&store), |s: &postgres::PostgresStore| {
                &s.pool
            });
            Ok(Self(store))
        } else {
            Err(StoreError::Unavailable(sqlx::Error::Configuration(
                format!("unsupported database URL scheme in {url:?}: use sqlite:// or postgres://")
                    .into(),
            )))
        }
    }

    /// The backend's `insert_batch`, measured (batch size, latency, rows).
    pub async fn insert_batch(&self, captures: &[Capture]) -> Result<Committed, StoreError> {
        let start = std::time::Instant::now();
        let committed = self.0.insert_batch(captures).await.inspect_err(|_| {
            metrics::counter!("cl_store_write_errors_total").increment(1);
        })?;
        metrics::histogram!("cl_write_batch_size").record(captures.len() as f64);
        metrics::histogram!("cl_write_duration_seconds").record(start.elapsed().as_secs_f64());
        metrics::counter!("cl_captures_written_total").increment(committed.inserted.len() as u64);
        Ok(committed)
    }

    /// Gives each capture of a path with a signing profile its verdict
    /// (one lookup per batch). The writer calls it just before
    /// `insert_batch`: the secrets stay in the store's process, and the
    /// verdict is judged against the time the capture was received.
    pub async fn judge_signatures(&self, captures: &mut [Capture]) -> Result<(), StoreError> {
        let mut ids: Vec<&str> = captures.iter().map(|c| c.path_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let profiles: std::collections::HashMap<String, SigningProfile> =
            self.0.signing_profiles(&ids).await?.into_iter().collect();
        if profiles.is_empty() {
            return Ok(());
        }
        for c in captures {
            c.signature = profiles
                .get(c.path_id.as_str())
                .map(|p| p.verify(&c.headers, &c.body, c.received_at));
        }
        Ok(())
    }

    /// Applies pending Postgres migrations and returns (the `migrate` command).
    pub async fn migrate(url: &str) -> Result<(), StoreError> {
        Self::connect(url).await.map(drop)
    }
}

impl Deref for Store {
    type Target = dyn StoreBackend;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}
