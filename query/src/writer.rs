//! The writer: runs the bus's consumer into the store for the life of the
//! process, restarting it with backoff when the bus or the database fails, so
//! an outage delays captures but never needs a manual restart.

use std::time::Duration;

use common::{Bus, Store};
use tokio_util::sync::CancellationToken;

pub async fn run(bus: Bus, store: Store, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        match bus.consume(store.clone(), shutdown.clone()).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "consumer stopped; restarting");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Keeps the registry equal to the store's paths: at start, then every
/// `every`, which also repairs a registry entry whose update failed.
pub async fn sync_registry(bus: Bus, store: Store, every: Duration, shutdown: CancellationToken) {
    loop {
        match store.list_paths().await {
            Ok(paths) => {
                if let Err(e) = bus.sync_paths(paths).await {
                    tracing::warn!(error = %e, "path registry sync failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list paths for the registry"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => break,
        }
    }
}
