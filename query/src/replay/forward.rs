//! Server-side forwarding: every capture this process commits for a path
//! with a `forward_url` is re-sent there, and to each of the path's forward
//! targets whose filter it matches (transformed as the target says: the
//! stored capture never changes), with retries and backoff, and each
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
use common::rules::{Retry, Subject, Transform};
use common::signing::SigningProfile;
use common::{Bus, Capture, PathId, Store};
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::allow::Allowlist;
pub use super::forward_log::{Attempt, Forwards};
use super::send::{parse_target, Target};

/// Attempts per capture to the `forward_url` before giving up.
pub const MAX_ATTEMPTS: u32 = 5;
/// Deliveries in flight at once, across paths.
const IN_FLIGHT: usize = 32;

/// Where one capture goes: the path's `forward_url` (no name) or one of
/// its targets.
struct Delivery {
    name: Option<String>,
    url: String,
    transform: Option<Transform>,
    retry: Retry,
}

/// A delivery waiting for a slot.
enum Pending {
    Whole(Arc<Capture>, Delivery),
    /// Past [`KEEP_WHOLE`] waiting: only the id, read back from the store
    /// when its turn comes, so a slow target costs memory per id, not per body.
    Stored(PathId, Uuid, Delivery),
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
                        for delivery in deliveries(&bus, &capture) {
                            queue.push_back(if queue.len() < KEEP_WHOLE {
                                Pending::Whole(capture.clone(), delivery)
                            } else {
                                Pending::Stored(capture.path_id.clone(), capture.id, delivery)
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
            let (capture, delivery) = match next {
                Pending::Whole(capture, delivery) => (capture, delivery),
                Pending::Stored(path, id, delivery) => match store.get_capture(&path, id).await {
                    Ok(Some(capture)) => (Arc::new(capture), delivery),
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
            deliver(&capture, &delivery, signing, &allow, &forwards, &shutdown).await;
            drop(slot);
        });
    }
}

/// The deliveries a committed capture makes, in the order configured.
fn deliveries(bus: &Bus, capture: &Capture) -> Vec<Delivery> {
    let Some(path) = bus.registry().table().get(&capture.path_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(url) = &path.settings.forward_url {
        out.push(Delivery {
            name: None,
            url: url.clone(),
            transform: None,
            retry: Retry {
                max_attempts: MAX_ATTEMPTS,
                backoff_ms: 500,
            },
        });
    }
    let targets = &path.settings.routing.targets;
    if !targets.is_empty() {
        let subject = Subject::new(capture);
        out.extend(
            targets
                .iter()
                .filter(|t| t.when.as_ref().is_none_or(|c| c.matches(&subject)))
                .map(|t| Delivery {
                    name: Some(t.name.clone()),
                    url: t.url.clone(),
                    transform: t.transform.clone(),
                    retry: t.retry.unwrap_or_default(),
                }),
        );
    }
    out
}

async fn deliver(
    original: &Capture,
    delivery: &Delivery,
    signing: Option<SigningProfile>,
    allow: &Allowlist,
    forwards: &Forwards,
    shutdown: &CancellationToken,
) {
    let record = |attempt, status, latency_ms, error, answer: Option<Box<super::send::Answer>>| {
        forwards.record(
            &original.path_id,
            Attempt {
                capture_id: original.id,
                attempt,
                target: delivery.url.clone(),
                target_name: delivery.name.clone(),
                status,
                latency_ms,
                error,
                at: Utc::now(),
                answer: answer.map(|a| super::forward_log::AnswerView::of(&a)),
            },
        );
    };
    // What this target receives; the stored capture stays as it came.
    let transformed;
    let capture = match &delivery.transform {
        Some(t) => match t.apply(original) {
            Ok(c) => {
                transformed = c;
                &transformed
            }
            Err(e) => {
                metrics::counter!("cl_forward_attempts_total", "outcome" => "failed").increment(1);
                record(1, None, 0.0, Some(e), None);
                return;
            }
        },
        None => original,
    };
    let first = Duration::from_millis(delivery.retry.backoff_ms);
    let mut delays = common::retry::delays(first, Duration::from_secs(30).max(first));
    let url = delivery.url.as_str();
    let max_attempts = delivery.retry.max_attempts;
    for attempt in 1..=max_attempts {
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
        record(attempt, status, latency_ms, error, answer);
        if delivered || attempt == max_attempts {
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
