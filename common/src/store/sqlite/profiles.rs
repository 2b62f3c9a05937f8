//! The signing profiles of every path that has one, kept in memory: the
//! writer's group commit asks for them on every batch, and a round trip to
//! SQLite's worker thread is a tenth of a commit's cycle. Standalone is the
//! file's only writer, and every write to `paths` goes through this store,
//! so dropping the copy on each such write keeps it exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use sqlx::SqlitePool;

use crate::signing::SigningProfile;
use crate::store::StoreError;

type Profiles = Arc<HashMap<String, SigningProfile>>;

#[derive(Default)]
pub(super) struct ProfileCache {
    /// Bumped by every write to `paths`: a read that began before it must
    /// not keep what it read.
    generation: AtomicU64,
    copy: RwLock<Option<(u64, Profiles)>>,
}

impl ProfileCache {
    /// The profiles of those of `ids` that have one.
    pub(super) async fn get(
        &self,
        pool: &SqlitePool,
        ids: &[&str],
    ) -> Result<Vec<(String, SigningProfile)>, StoreError> {
        let all = match self.current() {
            Some(all) => all,
            None => self.load(pool).await?,
        };
        Ok(ids
            .iter()
            .filter_map(|id| all.get(*id).map(|p| ((*id).to_owned(), p.clone())))
            .collect())
    }

    /// Runs a write to `paths`, then forgets the copy, whether or not the
    /// write reports success (a failed commit may still have landed).
    pub(super) async fn after_write<T>(&self, write: impl std::future::Future<Output = T>) -> T {
        let result = write.await;
        self.invalidate();
        result
    }

    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.copy.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn current(&self) -> Option<Profiles> {
        let generation = self.generation.load(Ordering::SeqCst);
        match &*self.copy.read().unwrap_or_else(|e| e.into_inner()) {
            Some((g, all)) if *g == generation => Some(all.clone()),
            _ => None,
        }
    }

    async fn load(&self, pool: &SqlitePool) -> Result<Profiles, StoreError> {
        let generation = self.generation.load(Ordering::SeqCst);
        let all: Profiles = Arc::new(
            crate::store::signing::sqlite_all_profiles(pool)
                .await?
                .into_iter()
                .collect(),
        );
        // A path written while this read ran may be missing from it: keep
        // the copy only if no write happened since the read began.
        let mut copy = self.copy.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            *copy = Some((generation, all.clone()));
        }
        Ok(all)
    }
}
