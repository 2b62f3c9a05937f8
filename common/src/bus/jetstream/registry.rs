//! The path registry: a JetStream key-value bucket (`{stream}_PATHS`, key =
//! path id, value = `PathInfo` JSON) mirrored into a local [`PathTable`] by
//! a watcher, so ingest judges each webhook without a round trip and hears of
//! new or deleted paths within milliseconds.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use async_trait::async_trait;
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::{unavailable, JetStreamConfig};
use crate::bus::{BusError, RegistryBackend};
use crate::path_id::PathId;
use crate::paths::{PathInfo, PathTable};

/// How long the initial load may take before the registry starts with what
/// it has (the watcher keeps filling it in).
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);
/// First and longest pause between attempts to re-watch the bucket after an
/// error.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(super) struct Registry {
    kv: kv::Store,
    table: PathTable,
    /// Response-rule sequence counters (`counts.rs`).
    counts: kv::Store,
}

impl Registry {
    /// Opens (or creates) the bucket and returns once the table holds the
    /// bucket's current contents; a background task keeps it current until
    /// `stop` fires.
    pub(super) async fn open(
        js: &jetstream::Context,
        config: &JetStreamConfig,
        stop: CancellationToken,
    ) -> Result<Self, BusError> {
        // The bucket's stream is declared with the other assets (assets.rs).
        let kv = js
            .get_key_value(config.registry_bucket())
            .await
            .map_err(|e| unavailable("opening the path registry", e))?;
        let counts = js
            .get_key_value(config.counts_bucket())
            .await
            .map_err(|e| unavailable("opening the sequence counters", e))?;
        let table = PathTable::default();
        let watch = load(&kv, &table).await?;
        tokio::spawn(follow(kv.clone(), table.clone(), watch, stop));
        Ok(Self { kv, table, counts })
    }
}

#[async_trait]
impl RegistryBackend for Registry {
    fn table(&self) -> PathTable {
        self.table.clone()
    }

    async fn put(&self, path: &PathInfo) -> Result<(), BusError> {
        let value = serde_json::to_vec(path).expect("path info serializes");
        self.kv
            .put(path.path_id.as_str(), value.into())
            .await
            .map_err(|e| unavailable("writing the path registry", e))?;
        // Our own change also arrives through the watcher; applying it now
        // gives this process read-your-writes.
        self.table.insert(path.clone());
        Ok(())
    }

    async fn remove(&self, id: &PathId) -> Result<(), BusError> {
        self.kv
            .delete(id.as_str())
            .await
            .map_err(|e| unavailable("deleting from the path registry", e))?;
        self.table.remove(id);
        Ok(())
    }

    async fn next_count(&self, key: &str) -> Result<u64, BusError> {
        super::counts::next(&self.counts, key).await
    }
}

/// Replaces the table with the bucket's current contents and returns the
/// watcher positioned after them.
async fn load(kv: &kv::Store, table: &PathTable) -> Result<kv::Watch, BusError> {
    let status = kv
        .status()
        .await
        .map_err(|e| unavailable("reading the path registry", e))?;
    let mut watch = kv
        .watch_with_history(">")
        .await
        .map_err(|e| unavailable("watching the path registry", e))?;
    let mut fresh: HashMap<String, PathInfo> = HashMap::new();
    // Every key has a last message (a value or a delete marker), so a
    // non-empty bucket always delivers an initial batch ending at delta 0.
    if status.info.state.messages > 0 {
        let initial = async {
            while let Some(entry) = watch.next().await {
                let entry = entry.map_err(|e| unavailable("loading the path registry", e))?;
                let last = entry.delta == 0;
                match decode(&entry) {
                    Some(info) => fresh.insert(entry.key, info),
                    None => fresh.remove(&entry.key),
                };
                if last {
                    break;
                }
            }
            Ok::<_, BusError>(())
        };
        match tokio::time::timeout(LOAD_TIMEOUT, initial).await {
            Ok(result) => result?,
            Err(_) => tracing::warn!("path registry load is slow; starting with what arrived"),
        }
    }
    table.replace_all(fresh.into_values());
    Ok(watch)
}

/// The value of a put entry; `None` for deletes (and unreadable values,
/// which are logged: a path the registry cannot describe is not served).
fn decode(entry: &kv::Entry) -> Option<PathInfo> {
    if entry.operation != kv::Operation::Put {
        return None;
    }
    match serde_json::from_slice(&entry.value) {
        Ok(info) => Some(info),
        Err(e) => {
            tracing::warn!(key = %entry.key, error = %e, "unreadable path registry entry");
            None
        }
    }
}

fn apply(table: &PathTable, entry: &kv::Entry) {
    match (decode(entry), PathId::parse(&entry.key)) {
        (Some(info), _) => table.insert(info),
        (None, Ok(id)) => table.remove(&id),
        (None, Err(_)) => {}
    }
}

/// Applies changes as they come; on a watcher error, waits (with backoff)
/// and reloads the whole bucket, so no change is missed across an outage.
async fn follow(kv: kv::Store, table: PathTable, mut watch: kv::Watch, stop: CancellationToken) {
    let fresh = || crate::retry::delays(FIRST_BACKOFF, MAX_BACKOFF);
    let mut delays = fresh();
    loop {
        let next = tokio::select! {
            e = watch.next() => e,
            () = stop.cancelled() => return,
        };
        match next {
            Some(Ok(entry)) => {
                apply(&table, &entry);
                delays = fresh();
                continue;
            }
            Some(Err(e)) => tracing::warn!(error = %e, "path registry watch failed; reloading"),
            None => tracing::warn!("path registry watch ended; reloading"),
        }
        loop {
            tokio::select! {
                () = tokio::time::sleep(delays.next_delay()) => {}
                () = stop.cancelled() => return,
            }
            match load(&kv, &table).await {
                Ok(w) => {
                    watch = w;
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "path registry reload failed"),
            }
        }
    }
}
