//! The writer: runs the bus's consumer into the store for the life of the
//! process, restarting it with backoff when the bus or the database fails, so
//! an outage delays captures but never needs a manual restart.

use std::time::Duration;

use common::{Bus, Store};
use tokio_util::sync::CancellationToken;

pub async fn run(bus: Bus, store: Store, shutdown: CancellationToken) {
    const FIRST: Duration = Duration::from_millis(100);
    let mut backoff = FIRST;
    while !shutdown.is_cancelled() {
        let started = std::time::Instant::now();
        match bus.consume(store.clone(), shutdown.clone()).await {
            Ok(()) => break,
            Err(e) => {
                // A consumer that ran a while was healthy: this is a new
                // outage, not the same one getting longer.
                if started.elapsed() > Duration::from_secs(5) {
                    backoff = FIRST;
                }
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
/// `every`, which also repairs a registry update that failed. It only adds
/// what the store has and removes what the store has lost *when checked
/// again*, so a path created or deleted while it runs is never undone.
pub async fn sync_registry(bus: Bus, store: Store, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = reconcile(&bus, &store).await {
            tracing::warn!(error = %e, "path registry sync failed; will retry");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => break,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] common::StoreError),
    #[error(transparent)]
    Bus(#[from] common::BusError),
}

/// One pass of [`sync_registry`].
pub async fn reconcile(bus: &Bus, store: &Store) -> Result<(), SyncError> {
    let table = bus.paths();
    let stored = store.list_paths().await?;
    let known: std::collections::HashSet<_> = stored.iter().map(|p| p.path_id.clone()).collect();
    for path in stored {
        if table.get(&path.path_id).as_deref() != Some(&path) {
            bus.put_path(&path).await?;
        }
    }
    for id in table.ids() {
        if !known.contains(&id) && store.get_path(&id).await?.is_none() {
            bus.remove_path(&id).await?;
        }
    }
    Ok(())
}
