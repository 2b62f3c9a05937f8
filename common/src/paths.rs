//! Paths: the unique webhook URLs users create. The store is the source of
//! truth; the bus carries them to every ingest (the path registry).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::path_id::PathId;

/// A path as stored and as distributed to ingest through the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathInfo {
    pub path_id: PathId,
    pub created_at: DateTime<Utc>,
}

impl PathInfo {
    pub fn new(path_id: PathId) -> Self {
        // Stores keep microseconds; truncate so a round trip compares equal.
        let now = Utc::now();
        let created_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        Self {
            path_id,
            created_at,
        }
    }
}

/// The in-memory view of every known path that ingest consults on each
/// webhook, so accepting a capture never needs a database round trip.
#[derive(Debug, Clone, Default)]
pub struct PathTable {
    inner: Arc<RwLock<HashMap<PathId, Arc<PathInfo>>>>,
}

impl PathTable {
    pub fn get(&self, id: &PathId) -> Option<Arc<PathInfo>> {
        self.read().get(id).cloned()
    }

    pub fn insert(&self, path: PathInfo) {
        self.write().insert(path.path_id.clone(), Arc::new(path));
    }

    pub fn remove(&self, id: &PathId) {
        self.write().remove(id);
    }

    pub fn replace_all(&self, paths: impl IntoIterator<Item = PathInfo>) {
        let fresh = paths
            .into_iter()
            .map(|p| (p.path_id.clone(), Arc::new(p)))
            .collect();
        *self.write() = fresh;
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PathId, Arc<PathInfo>>> {
        // A poisoned lock only means a writer panicked mid-insert of a whole
        // value; the map itself is still consistent.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PathId, Arc<PathInfo>>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}
