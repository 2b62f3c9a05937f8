//! The path registry: which paths exist and their settings, as every ingest
//! needs them to judge a webhook without a database round trip. A handle of
//! its own beside the transport: in-process a table, in the split shape a
//! JetStream key-value bucket mirrored into the same kind of table
//! (`jetstream/registry.rs`).
//!
//! Promise (checked by `common/tests/it/bus.rs`): `table()` of every
//! process reflects `put` / `remove` within a second.

use std::sync::Arc;

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
}

#[derive(Clone)]
pub struct PathRegistry(Arc<dyn RegistryBackend>);

impl PathRegistry {
    pub(crate) fn new(backend: Arc<dyn RegistryBackend>) -> Self {
        Self(backend)
    }

    /// The standalone registry: one process, so the table is the registry.
    pub(crate) fn local() -> Self {
        Self(Arc::new(Local(PathTable::default())))
    }
}

impl std::ops::Deref for PathRegistry {
    type Target = dyn RegistryBackend;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

struct Local(PathTable);

#[async_trait]
impl RegistryBackend for Local {
    async fn put(&self, path: &PathInfo) -> Result<(), BusError> {
        self.0.insert(path.clone());
        Ok(())
    }

    async fn remove(&self, id: &PathId) -> Result<(), BusError> {
        self.0.remove(id);
        Ok(())
    }

    fn table(&self) -> PathTable {
        self.0.clone()
    }
}
