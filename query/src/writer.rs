//! The writer: runs the bus's consumer into the store for the life of the
//! process, restarting it with backoff when the bus or the database fails, so
//! an outage delays captures but never needs a manual restart.

use std::time::Duration;

use common::{Bus, Store};
use tokio_util::sync::CancellationToken;

pub async fn run(bus: Bus, store: Store, shutdown: CancellationToken) {
    let fresh = || common::retry::delays(Duration::from_millis(100), Duration::from_secs(5));
    let mut delays = fresh();
    while !shutdown.is_cancelled() {
        let started = std::time::Instant::now();
        match bus.consume(store.clone(), shutdown.clone()).await {
            Ok(()) => break,
            Err(e) => {
                // A consumer that ran a while was healthy: this is a new
                // outage, not the same one getting longer.
                if started.elapsed() > Duration::from_secs(5) {
                    delays = fresh();
                }
                let backoff = delays.next_delay();
                tracing::warn!(error = %e, retry_in = ?backoff, "consumer stopped; restarting");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        }
    }
}
