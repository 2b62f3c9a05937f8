//! Runs one job: loads its captures, sends them (`replay::run`), records each
//! answer, saves the job every second (its heartbeat) and when it ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use common::store::ReplayResultRecord;
use common::{Capture, PathId, Store, StoreError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::registry::{Replays, Running};
use super::{JobState, ReplayJob};
use crate::replay::run::{self, Pacing};
use crate::replay::send::{Outcome, Target};

/// How often a running job is saved.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// A queued or running job not saved for this long has lost its process.
pub const STALE_AFTER: Duration = Duration::from_secs(10);
/// Captures fetched from the store ahead of the sender.
const PREFETCH: usize = 8;

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
    replays.track(
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
                    Some(o) => {
                        let outcome = crate::replay::send::outcome_label(o.status);
                        metrics::counter!("cl_replay_attempts_total", "outcome" => outcome)
                            .increment(1);
                        answers.push(lock(&job).apply(o));
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    save_answers(store, &mut answers).await;
                    let record = { let mut j = lock(&job); j.updated_at = Utc::now(); j.record() };
                    match store.save_replay_job(&record).await {
                        // Cancelled (or judged dead) elsewhere: stop.
                        Ok(state) if state.is_sticky() => {
                            by_user.store(state == JobState::Cancelled, Ordering::SeqCst);
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
