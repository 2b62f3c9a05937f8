//! The replay loop shared by server-side jobs and the `replay` subcommand:
//! paces captures (rate, original timing scaled), bounds concurrency, and
//! reports one [`Outcome`] per capture.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::Capture;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::send::{Outcome, Target};

pub const MAX_RATE: f64 = 1000.0;
pub const MAX_CONCURRENCY: usize = 64;
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How captures are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Pacing {
    /// Requests per second, `0 < rate <= 1000`; unlimited when absent.
    pub rate: Option<f64>,
    /// Requests in flight at once, 1..=64 (default 4).
    pub concurrency: usize,
    /// Send one at a time, in capture order (forces concurrency 1).
    pub keep_order: bool,
    /// Keep the original gaps between captures, multiplied by this (> 0;
    /// 1.0 = real time, 0.5 = twice as fast).
    pub timing_factor: Option<f64>,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            rate: None,
            concurrency: DEFAULT_CONCURRENCY,
            keep_order: false,
            timing_factor: None,
        }
    }
}

impl Pacing {
    /// The error says which option is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
                return Err(format!("rate must be > 0 and <= {MAX_RATE} requests/s"));
            }
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(format!(
                "concurrency must be between 1 and {MAX_CONCURRENCY}"
            ));
        }
        if let Some(f) = self.timing_factor {
            if !(f.is_finite() && f > 0.0 && f <= 1000.0) {
                return Err("timing_factor must be > 0 and <= 1000".into());
            }
        }
        Ok(())
    }

    fn effective_concurrency(&self) -> usize {
        if self.keep_order {
            1
        } else {
            self.concurrency.clamp(1, MAX_CONCURRENCY)
        }
    }
}

/// When the `index`-th capture (received at `at`) may go, measured from
/// `start`: no earlier than `index / rate`, nor than its original offset from
/// the first capture times the timing factor.
fn due(
    pacing: &Pacing,
    start: Instant,
    index: u64,
    first: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Instant {
    let mut due = start;
    if let Some(rate) = pacing.rate {
        due = due.max(start + Duration::from_secs_f64(index as f64 / rate));
    }
    if let Some(factor) = pacing.timing_factor {
        let gap = (at - first).to_std().unwrap_or_default();
        due = due.max(start + gap.mul_f64(factor));
    }
    due
}

/// Sends every capture of `captures` (in the order given) to `target`, and
/// reports each outcome on `outcomes` as it completes (in capture order when
/// `keep_order`). Returns when all were sent, or soon after `cancel` fires
/// (requests in flight are abandoned then).
pub async fn run<S>(
    target: Arc<Target>,
    captures: S,
    pacing: Pacing,
    cancel: CancellationToken,
    outcomes: mpsc::Sender<Outcome>,
) where
    S: Stream<Item = Capture> + Send,
{
    let permits = Arc::new(Semaphore::new(pacing.effective_concurrency()));
    let start = Instant::now();
    let mut first = None;
    let mut in_flight = JoinSet::new();
    let mut captures = std::pin::pin!(captures);
    let mut index = 0u64;
    loop {
        let capture = tokio::select! {
            c = captures.next() => match c { Some(c) => c, None => break },
            () = cancel.cancelled() => break,
        };
        let first = *first.get_or_insert(capture.received_at);
        let due = due(&pacing, start, index, first, capture.received_at);
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            () = cancel.cancelled() => break,
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("never closed"),
            () = cancel.cancelled() => break,
        };
        let (target, outcomes) = (target.clone(), outcomes.clone());
        in_flight.spawn(async move {
            let outcome = target.send(&capture).await;
            // Report before releasing the permit, so with one permit the
            // outcomes arrive in capture order.
            let _ = outcomes.send(outcome).await;
            drop(permit);
        });
        index += 1;
        while in_flight.try_join_next().is_some() {}
    }
    if cancel.is_cancelled() {
        in_flight.abort_all();
    }
    while in_flight.join_next().await.is_some() {}
}

/// Totals of a replay: what a job reports and the subcommand prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Tally {
    /// Requests that got an answer or an error.
    pub sent: u64,
    /// Answered 2xx.
    pub succeeded: u64,
    /// Answered, but not 2xx.
    pub non_2xx: u64,
    /// No answer (connection refused, timeout, ...).
    pub errors: u64,
}

impl Tally {
    pub fn add(&mut self, outcome: &Outcome) {
        self.sent += 1;
        match outcome.status {
            Some(_) if outcome.is_success() => self.succeeded += 1,
            Some(_) => self.non_2xx += 1,
            None => self.errors += 1,
        }
    }
}

/// The `p`-th percentile (0..=100) of latencies, nearest rank.
pub fn percentile(sorted_ms: &[f64], p: f64) -> Option<f64> {
    if sorted_ms.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted_ms.len() as f64).ceil() as usize;
    Some(sorted_ms[rank.clamp(1, sorted_ms.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_spaces_requests_evenly() {
        let pacing = Pacing {
            rate: Some(200.0),
            ..Pacing::default()
        };
        let start = Instant::now();
        let t = Utc::now();
        assert_eq!(
            due(&pacing, start, 400, t, t) - start,
            Duration::from_secs(2)
        );
    }

    #[test]
    fn timing_factor_scales_original_gaps() {
        let pacing = Pacing {
            timing_factor: Some(0.5),
            ..Pacing::default()
        };
        let start = Instant::now();
        let t = Utc::now();
        let later = t + chrono::Duration::seconds(4);
        assert_eq!(
            due(&pacing, start, 1, t, later) - start,
            Duration::from_secs(2)
        );
    }

    #[test]
    fn out_of_range_options_are_refused() {
        for bad in [
            Pacing {
                rate: Some(0.0),
                ..Pacing::default()
            },
            Pacing {
                rate: Some(1000.5),
                ..Pacing::default()
            },
            Pacing {
                concurrency: 0,
                ..Pacing::default()
            },
            Pacing {
                concurrency: 65,
                ..Pacing::default()
            },
            Pacing {
                timing_factor: Some(0.0),
                ..Pacing::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(Pacing::default().validate().is_ok());
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
