//! The path registry kept equal to the store (the store is the source of
//! truth for paths; ingest judges webhooks by the registry the bus carries).

use std::time::Duration;

use common::{Bus, Store};
use tokio_util::sync::CancellationToken;

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
    let table = bus.registry().table();
    let stored = store.list_paths().await?;
    let known: std::collections::HashSet<_> = stored.iter().map(|p| p.path_id.clone()).collect();
    for path in stored {
        if table.get(&path.path_id).as_deref() != Some(&path) {
            bus.registry().put(&path).await?;
        }
    }
    for id in table.ids() {
        if !known.contains(&id) && store.get_path(&id).await?.is_none() {
            bus.registry().remove(&id).await?;
        }
    }
    Ok(())
}
