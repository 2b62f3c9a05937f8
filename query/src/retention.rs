//! Retention: removes captures beyond a path's `max_requests` or older than
//! its `ttl_seconds` (or the service-wide defaults), in small batches with a
//! pause between them, so ingest and readers never wait behind a long delete.

use std::time::Duration;

use chrono::Utc;
use common::Store;
use tokio_util::sync::CancellationToken;

/// Rows per delete statement.
const BATCH: u32 = 1000;

#[derive(Debug, Clone, Default)]
pub struct RetentionConfig {
    /// How often every path is checked.
    pub interval: Duration,
    /// Applies to paths without their own `max_requests`.
    pub default_max_requests: Option<u64>,
    /// Applies to paths without their own `ttl_seconds`.
    pub default_ttl: Option<Duration>,
}

pub async fn run(store: Store, config: RetentionConfig, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(config.interval) => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = sweep(&store, &config, &shutdown).await {
            tracing::warn!(error = %e, "retention sweep failed; will retry");
        }
    }
}

async fn sweep(
    store: &Store,
    config: &RetentionConfig,
    shutdown: &CancellationToken,
) -> Result<(), common::StoreError> {
    for path in store.list_paths().await? {
        let keep = path.settings.max_requests.or(config.default_max_requests);
        let ttl = path
            .settings
            .ttl_seconds
            .map(Duration::from_secs)
            .or(config.default_ttl);
        if keep.is_none() && ttl.is_none() {
            continue;
        }
        let cutoff = ttl
            .and_then(|t| chrono::Duration::from_std(t).ok())
            .map(|t| Utc::now() - t);
        let mut removed = 0;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            let n = store
                .prune_batch(&path.path_id, keep, cutoff, BATCH)
                .await?;
            removed += n;
            if n == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if removed > 0 {
            tracing::info!(path_id = %path.path_id, removed, "retention removed captures");
        }
    }
    Ok(())
}
