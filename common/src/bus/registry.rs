//! The path registry: which paths exist and their settings, as every ingest
//! needs them to judge a webhook without a database round trip. A handle of
//! its own beside the transport: in-process a table, in the split shape a
//! JetStream key-value bucket mirrored into the same kind of table
//! (`jetstream/registry.rs`).
//!
//! Promise (checked by `common/tests/it/bus.rs`): `table()` of every
//! process reflects `put` / `remove` within a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::BusError;
use crate::path_id::PathId;
use crate::paths::{PathInfo, PathTable};

#[async_trait]
pub trait RegistryBackend: Send + Sync + 'static {
    /// Announces a created (or changed) path to every ingest.
    async fn put(&self, path: &PathInfo) -> Result<(), BusError>;
    /// Announces a deleted path to every ingest.
    async fn remove(&self, id: &PathId) -> Result<(), BusError>;
    /// The registry as this process sees it, kept current in the background.
    fn table(&self) -> PathTable;
    /// Adds one to a response rule's sequence counter and returns the new
    /// count (1 the first time): exact across every ingest of the
    /// deployment, since the bus keeps the counter (`rules::Counter`).
    async fn next_count(&self, key: &str) -> Result<u64, BusError>;
}

#[derive(Clone)]
pub struct PathRegistry(Arc<dyn RegistryBackend>);

impl PathRegistry {
    pub(crate) fn new(backend: Arc<dyn RegistryBackend>) -> Self {
        Self(backend)
    }

    /// The standalone registry: one process, so the table is the registry.
    pub(crate) fn local() -> Self {
        Self(Arc::new(Local {
            table: PathTable::default(),
            counts: Mutex::default(),
        }))
    }
}

impl std::ops::Deref for PathRegistry {
    type Target = dyn RegistryBackend;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

struct Local {
    table: PathTable,
    counts: Mutex<HashMap<String, u64>>,
}

impl Local {
    /// Counters are keyed `{path_id}.{revision}.…`: a path's change or
    /// removal retires its old counters.
    fn forget_counts(&self, id: &PathId) {
        let prefix = format!("{id}.");
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| !k.starts_with(&prefix));
    }
}

#[async_trait]
impl RegistryBackend for Local {
    async fn put(&self, path: &PathInfo) -> Result<(), BusError> {
        let old = self.table.get(&path.path_id);
        if old.is_some_and(|o| o.settings.routing_revision != path.settings.routing_revision) {
            self.forget_counts(&path.path_id);
        }
        self.table.insert(path.clone());
        Ok(())
    }

    async fn remove(&self, id: &PathId) -> Result<(), BusError> {
        self.table.remove(id);
        self.forget_counts(id);
        Ok(())
    }

    fn table(&self) -> PathTable {
        self.table.clone()
    }

    async fn next_count(&self, key: &str) -> Result<u64, BusError> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(key.to_owned()).or_default();
        *n += 1;
        Ok(*n)
    }
}
