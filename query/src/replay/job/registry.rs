//! The jobs this process runs, so that a cancel reaches their runner at once
//! (a cancel made through another process reaches it at its next save).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::replay::allow::Allowlist;

pub(super) struct Running {
    pub cancel: CancellationToken,
    pub by_user: Arc<AtomicBool>,
}

/// Replay settings and the jobs this process is running.
pub struct Replays {
    pub allow: Allowlist,
    running: Mutex<HashMap<Uuid, Running>>,
    /// The process's tasks: a job's runner is one, so its final save
    /// ("interrupted" at shutdown) is awaited before the process exits.
    pub(super) tasks: TaskTracker,
}

impl Replays {
    pub fn new(allow: Allowlist, tasks: TaskTracker) -> Self {
        Self {
            allow,
            running: Mutex::new(HashMap::new()),
            tasks,
        }
    }

    /// Cancels a job if this process runs it; true when it did.
    pub fn cancel_local(&self, id: Uuid) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match running.get(&id) {
            Some(r) => {
                r.by_user.store(true, Ordering::SeqCst);
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }

    pub(super) fn track(&self, id: Uuid, running: Running) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, running);
    }

    pub(super) fn forget(&self, id: Uuid) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}
