//! Webhooks per second per workspace (its `webhooks_per_second` quota,
//! carried with each of its paths in the registry): a token bucket per
//! workspace in each ingest process, each taking `1/CL_INGEST_PROCESSES`
//! of the rate. Shared approximately, with no coordination per webhook:
//! with senders spread evenly over the processes the deployment admits the
//! quota; with all of one workspace's traffic on one process, that share
//! of it (the bound is documented in docs/TEAMS.md).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::workspaces::WorkspaceId;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

#[derive(Default)]
pub(crate) struct WorkspaceLimits {
    /// How many ingest processes share each workspace's rate.
    processes: u32,
    buckets: Mutex<HashMap<WorkspaceId, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl WorkspaceLimits {
    pub fn new(processes: u32) -> Self {
        Self {
            processes: processes.max(1),
            buckets: Mutex::default(),
        }
    }

    /// `Err(wait)` when the workspace is over its rate.
    pub fn check(&self, ws: &WorkspaceId, rate: u32) -> Result<(), Duration> {
        let limiter = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            match buckets.get(ws) {
                Some((r, l)) if *r == rate => l.clone(),
                // New, or its quota changed: a fresh bucket at the new rate.
                _ => {
                    let share = rate.div_ceil(self.processes).max(1);
                    let quota = Quota::per_second(NonZeroU32::new(share).expect("at least 1"));
                    let l = Arc::new(RateLimiter::direct(quota));
                    buckets.insert(ws.clone(), (rate, l.clone()));
                    l
                }
            }
        };
        limiter.check().map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_workspace_has_its_own_bucket_and_share() {
        let limits = WorkspaceLimits::new(2);
        let (a, b) = (
            WorkspaceId::parse("a").unwrap(),
            WorkspaceId::parse("b").unwrap(),
        );
        // 10/s over two processes: a burst of 5 here.
        let admitted = (0..20).filter(|_| limits.check(&a, 10).is_ok()).count();
        assert_eq!(admitted, 5);
        assert!(
            limits.check(&b, 10).is_ok(),
            "another workspace is unaffected"
        );
        assert!(limits.check(&a, 10).is_err());
        assert!(
            limits.check(&a, 1000).is_ok(),
            "a raised quota takes effect"
        );
    }
}
