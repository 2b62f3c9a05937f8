//! The storage quotas (`max_captures`, `max_body_bytes`) kept: every
//! `interval`, one aggregate over the captures gives each workspace's
//! usage; a workspace that crosses a quota is marked over it in the store
//! and its paths announced again, so every ingest refuses their webhooks
//! (429) until usage falls back under (retention, a clear, a deleted path).
//!
//! Approximate by design (no count per webhook): a workspace may pass its
//! quota by what arrives within one interval; docs/TEAMS.md states the
//! bound. Every query process runs it; the marks they write agree.

use std::collections::HashMap;
use std::time::Duration;

use common::workspaces::WorkspaceId;
use common::{Bus, Store};
use tokio_util::sync::CancellationToken;

pub async fn run(bus: Bus, store: Store, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = check(&bus, &store).await {
            tracing::warn!(error = %e, "workspace quota check failed; will retry");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// One pass of [`run`].
pub async fn check(bus: &Bus, store: &Store) -> Result<(), crate::registry_sync::SyncError> {
    let workspaces = store.list_workspaces().await?;
    if workspaces.iter().all(|w| {
        w.quotas.max_captures.is_none()
            && w.quotas.max_body_bytes.is_none()
            && w.over_quota.is_none()
    }) {
        return Ok(());
    }
    let usage: HashMap<WorkspaceId, (u64, u64)> = store
        .workspace_usage()
        .await?
        .into_iter()
        .map(|(w, n, bytes)| (w, (n, bytes)))
        .collect();
    let mut changed = Vec::new();
    for w in workspaces {
        let (n, bytes) = usage.get(&w.id).copied().unwrap_or_default();
        let over = w.quotas.exceeded_by(n, bytes);
        if over != w.over_quota.as_deref() {
            tracing::info!(workspace = %w.id, over = ?over, captures = n, body_bytes = bytes, "workspace storage quota state changed");
            store.set_over_quota(&w.id, over).await?;
            changed.push(w.id);
        }
    }
    if !changed.is_empty() {
        for path in store.list_paths().await? {
            if changed.contains(&path.workspace) {
                bus.registry().put(&path).await?;
            }
        }
    }
    Ok(())
}
