//! Server-side replay jobs: the job document, its runner, and the registry of
//! jobs this process runs (so a cancel reaches them at once).
//!
//! Durability: the runner saves the job (outcomes so far, and a heartbeat)
//! every second and when it ends. A job that stops because the process shuts
//! down is saved as `interrupted`; one whose process died is found by its
//! stale heartbeat (at start-up, and whenever it is read) and marked
//! `interrupted`. A job is never silently left half-done, and never resumed
//! (replaying twice is worse than asking the user to start again).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::signing::SigningView;
use common::store::{ReplayJobRecord, ReplayResultRecord};
use common::{Capture, PathId, Store, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa::ToSchema;
use uuid::Uuid;

use super::allow::Allowlist;
use super::results;
use super::run::{self, Pacing, Tally};
use super::send::{Outcome, Target};
use super::summary::JobSummary;

/// How often a running job is saved.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// A queued or running job not saved for this long has lost its process.
pub const STALE_AFTER: Duration = Duration::from_secs(10);
/// Captures fetched from the store ahead of the sender.
const PREFETCH: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Cancelled,
    Interrupted,
}

impl JobState {
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
        serde_json::from_value(serde_json::Value::String(raw.to_owned())).ok()
    }
}

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
    pub path_id: String,
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
    fn apply(&mut self, mut outcome: Outcome) -> ReplayResultRecord {
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
            state: self.state.as_str().to_owned(),
            doc: serde_json::to_string(self).expect("job serializes"),
            heartbeat: Utc::now(),
        }
    }

    /// The stored document, with the stored state (which another process or
    /// the stale-heartbeat rule may have changed).
    pub fn from_record(record: &ReplayJobRecord) -> Result<Self, StoreError> {
        let mut job: Self = serde_json::from_str(&record.doc)
            .map_err(|e| StoreError::Corrupt(format!("replay job {}: {e}", record.id)))?;
        if let Some(state) = JobState::parse(&record.state) {
            job.state = state;
        }
        Ok(job)
    }
}

struct Running {
    cancel: CancellationToken,
    by_user: Arc<AtomicBool>,
}

/// Replay settings and the jobs this process is running.
pub struct Replays {
    pub allow: Allowlist,
    running: Mutex<HashMap<Uuid, Running>>,
    /// The process's tasks: a job's runner is one, so its final save
    /// ("interrupted" at shutdown) is awaited before the process exits.
    tasks: TaskTracker,
}

impl Replays {
    pub fn new(allow: Allowlist, tasks: TaskTracker) -> Self {
        Self {
            allow,
            running: Mutex::new(HashMap::new()),
            tasks,
        }
    }

    /// Cancels a job if this process runs it; true when it did.
    pub fn cancel_local(&self, id: Uuid) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match running.get(&id) {
            Some(r) => {
                r.by_user.store(true, Ordering::SeqCst);
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }

    fn forget(&self, id: Uuid) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// Marks jobs whose process is gone as interrupted (at start-up).
pub async fn sweep(store: &Store) {
    let before = Utc::now() - chrono::Duration::from_std(STALE_AFTER).expect("small");
    match store.interrupt_stale_replay_jobs(before).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            jobs = n,
            "replay jobs of a stopped process marked interrupted"
        ),
        Err(e) => tracing::warn!(error = %e, "could not check for interrupted replay jobs"),
    }
}

/// What a job sends: captures of `path` by id, oldest first.
pub struct Work {
    pub path: PathId,
    pub ids: Vec<Uuid>,
    pub target: Target,
    pub pacing: Pacing,
}

/// Saves the queued job and starts it in the background; `shutdown` stops
/// it (the job is then saved as interrupted).
pub async fn start(
    store: Store,
    replays: Arc<Replays>,
    mut job: ReplayJob,
    work: Work,
    shutdown: &CancellationToken,
) -> Result<ReplayJob, StoreError> {
    job.state = JobState::Running;
    store.save_replay_job(&job.record()).await?;
    metrics::gauge!("cl_replay_jobs_running").increment(1.0);
    let cancel = shutdown.child_token();
    let by_user = Arc::new(AtomicBool::new(false));
    replays
        .running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            job.job_id,
            Running {
                cancel: cancel.clone(),
                by_user: by_user.clone(),
            },
        );
    let shutdown = shutdown.clone();
    let started = job.clone();
    let tasks = replays.tasks.clone();
    tasks.spawn(async move {
        let id = job.job_id;
        let ending = execute(&store, job, work, cancel, &by_user, &shutdown).await;
        replays.forget(id);
        if let Err(e) = ending {
            tracing::warn!(job = %id, error = %e, "replay job could not be saved");
        }
    });
    Ok(started)
}

async fn execute(
    store: &Store,
    job: ReplayJob,
    work: Work,
    cancel: CancellationToken,
    by_user: &AtomicBool,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    let job = Arc::new(Mutex::new(job));
    let (tx, mut rx) = mpsc::channel::<Outcome>(256);
    // The loader runs as its own task: a store query parked inside a stream
    // that nobody polls (while the sender waits for its pace or a permit)
    // would hold a pool connection hostage, and the writer needs them.
    let (found_tx, found_rx) = mpsc::channel::<Capture>(PREFETCH);
    let loader = {
        let (store, job, tx) = (store.clone(), job.clone(), tx.clone());
        tokio::spawn(async move {
            for id in work.ids {
                match store.get_capture(&work.path, id).await {
                    Ok(Some(capture)) => {
                        if found_tx.send(capture).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => lock(&job).not_found.push(id.to_string()),
                    Err(e) => {
                        let outcome = Outcome {
                            capture_id: id,
                            status: None,
                            latency_ms: 0.0,
                            error: Some(format!("could not load the capture: {e}")),
                            answer: None,
                        };
                        if tx.send(outcome).await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
    };
    let captures = tokio_stream::wrappers::ReceiverStream::new(found_rx);
    let sender = run::run(
        Arc::new(work.target),
        captures,
        work.pacing,
        cancel.clone(),
        tx,
    );
    let recorder = async {
        let mut tick = tokio::time::interval(SAVE_EVERY);
        tick.tick().await;
        let mut answers = Vec::new();
        loop {
            tokio::select! {
                outcome = rx.recv() => match outcome {
                    Some(o) => answers.push(lock(&job).apply(o)),
                    None => break,
                },
                _ = tick.tick() => {
                    save_answers(store, &mut answers).await;
                    let record = { let mut j = lock(&job); j.updated_at = Utc::now(); j.record() };
                    match store.save_replay_job(&record).await {
                        // Cancelled (or judged dead) elsewhere: stop.
                        Ok(state) if state == "cancelled" || state == "interrupted" => {
                            by_user.store(state == "cancelled", Ordering::SeqCst);
                            cancel.cancel();
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "replay job progress not saved"),
                    }
                }
            }
        }
        // Before the final save: a job seen `done` has all its answers stored.
        save_answers(store, &mut answers).await;
    };
    tokio::join!(sender, recorder);
    loader.abort();
    let record = {
        let mut j = lock(&job);
        j.state = if by_user.load(Ordering::SeqCst) {
            JobState::Cancelled
        } else if shutdown.is_cancelled() || cancel.is_cancelled() {
            JobState::Interrupted
        } else {
            JobState::Done
        };
        let now = Utc::now();
        j.updated_at = now;
        j.finished_at = Some(now);
        metrics::gauge!("cl_replay_jobs_running").decrement(1.0);
        metrics::counter!("cl_replay_jobs_total", "state" => j.state.as_str()).increment(1);
        j.record()
    };
    store.save_replay_job(&record).await.map(drop)
}

fn lock(job: &Mutex<ReplayJob>) -> std::sync::MutexGuard<'_, ReplayJob> {
    job.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stores the answers gathered since the last save; a failure is logged
/// (the job's own counts and outcomes are unaffected).
async fn save_answers(store: &Store, answers: &mut Vec<ReplayResultRecord>) {
    // Bounded statements: SQLite takes at most 32,766 parameters (9 a row).
    for chunk in std::mem::take(answers).chunks(500) {
        if let Err(e) = store.save_replay_results(chunk).await {
            tracing::warn!(error = %e, rows = chunk.len(), "replay answers not saved");
        }
    }
}
