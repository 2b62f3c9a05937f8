//! Server-side forwarding: every capture this process commits for a path
//! with a `forward_url` is re-sent there, with retries and backoff, and each
//! attempt is recorded (`GET /api/paths/{path_id}/forwards`).
//!
//! Driven by the bus's `committed_here` feed, so in the split shape exactly
//! one query process forwards a given capture (at least once: a capture
//! redelivered after a crash may be forwarded again). Attempts and the
//! answers to them are kept in memory (`forward_log.rs`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::signing::SigningProfile;
use common::{Bus, Capture, PathId, Store};
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::allow::Allowlist;
pub use super::forward_log::{Attempt, Forwards};
use super::send::{parse_target, Target};

/// Attempts per capture before giving up.
pub const MAX_ATTEMPTS: u32 = 5;
/// Deliveries in flight at once, across paths.
const IN_FLIGHT: usize = 32;

/// A capture waiting for a delivery slot.
enum Pending {
    Whole(Arc<Capture>, String),
    /// Past [`KEEP_WHOLE`] waiting: only the id, read back from the store
    /// when its turn comes, so a slow target costs memory per id, not per body.
    Stored(PathId, Uuid, String),
}

/// Waiting captures kept whole; beyond this only their ids are kept.
const KEEP_WHOLE: usize = 1024;

/// Takes every capture this process commits and delivers those of paths
/// with a `forward_url`, [`IN_FLIGHT`] at a time. Taking never waits for a
/// delivery (a slow target only lengthens the queue), so the intake keeps
/// up with the writer and the `committed_here` channel does not overflow.
pub async fn run(
    bus: Bus,
    store: Store,
    allow: Allowlist,
    forwards: Arc<Forwards>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let mut committed = bus.committed_here().subscribe();
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut queue: VecDeque<Pending> = VecDeque::new();
    loop {
        let slot = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            c = committed.recv() => {
                match c {
                    Ok(capture) => {
                        if let Some(url) = forward_url(&bus, &capture.path_id) {
                            queue.push_back(if queue.len() < KEEP_WHOLE {
                                Pending::Whole(capture, url)
                            } else {
                                Pending::Stored(capture.path_id.clone(), capture.id, url)
                            });
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // Only if this loop, which does no I/O, was starved
                        // for COMMITTED_CAPACITY commits.
                        metrics::counter!("cl_forwards_skipped_total").increment(n);
                        tracing::error!(skipped = n, "forwarding fell behind the writer; captures skipped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
                continue;
            }
            slot = slots.clone().acquire_owned(), if !queue.is_empty() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
        };
        let next = queue
            .pop_front()
            .expect("only waited for a slot with work queued");
        let (store, allow, forwards, shutdown) = (
            store.clone(),
            allow.clone(),
            forwards.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            let (capture, url) = match next {
                Pending::Whole(capture, url) => (capture, url),
                Pending::Stored(path, id, url) => match store.get_capture(&path, id).await {
                    Ok(Some(capture)) => (Arc::new(capture), url),
                    // Deleted meanwhile (retention, the user): nothing to send.
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, capture_id = %id, "could not read a capture to forward");
                        return;
                    }
                },
            };
            // The registry's copy of the path never holds secrets: the
            // re-signing profile comes from the store.
            let signing = match store.get_path(&capture.path_id).await {
                Ok(path) => path.and_then(|p| p.forward_signing),
                Err(e) => {
                    tracing::warn!(error = %e, "no forward signing profile: store unavailable");
                    None
                }
            };
            deliver(&capture, &url, signing, &allow, &forwards, &shutdown).await;
            drop(slot);
        });
    }
}

fn forward_url(bus: &Bus, path: &PathId) -> Option<String> {
    bus.registry()
        .table()
        .get(path)
        .and_then(|p| p.settings.forward_url.clone())
}

async fn deliver(
    capture: &Capture,
    url: &str,
    signing: Option<SigningProfile>,
    allow: &Allowlist,
    forwards: &Forwards,
    shutdown: &CancellationToken,
) {
    let mut delays = common::retry::delays(Duration::from_millis(500), Duration::from_secs(30));
    for attempt in 1..=MAX_ATTEMPTS {
        let (status, latency_ms, error, answer) =
            match send_once(capture, url, signing.clone(), allow).await {
                Ok(outcome) => (
                    outcome.status,
                    outcome.latency_ms,
                    outcome.error,
                    outcome.answer,
                ),
                Err(e) => (None, 0.0, Some(e), None),
            };
        let outcome = super::send::outcome_label(status);
        metrics::counter!("cl_forward_attempts_total", "outcome" => outcome).increment(1);
        let delivered = outcome == "delivered";
        forwards.record(
            &capture.path_id,
            Attempt {
                capture_id: capture.id,
                attempt,
                target: url.to_owned(),
                status,
                latency_ms,
                error,
                at: Utc::now(),
                answer: answer.map(|a| super::forward_log::AnswerView::of(&a)),
            },
        );
        if delivered || attempt == MAX_ATTEMPTS {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(delays.next_delay()) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// The allowlist is checked on every attempt (DNS may have changed), and the
/// connection is pinned to the addresses it approved.
async fn send_once(
    capture: &Capture,
    url: &str,
    signing: Option<SigningProfile>,
    allow: &Allowlist,
) -> Result<super::send::Outcome, String> {
    let url = parse_target(url).map_err(|e| e.to_string())?;
    let pinned = allow.check(&url).await.map_err(|e| e.to_string())?;
    let target = Target::new(url, Some(pinned), Vec::new())
        .map_err(|e| e.to_string())?
        .with_signing(signing);
    Ok(target.send(capture).await)
}
