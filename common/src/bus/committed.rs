//! Whole captures as *this process* commits them (not other processes'),
//! for work that must happen once per capture, such as forwarding. At least
//! once: a redelivered capture may appear again.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::capture::Capture;

/// How many committed captures a receiver may fall behind.
pub const COMMITTED_CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct CommittedHere {
    sender: broadcast::Sender<Arc<Capture>>,
}

impl Default for CommittedHere {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(COMMITTED_CAPACITY).0,
        }
    }
}

impl CommittedHere {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Capture>> {
        self.sender.subscribe()
    }

    /// Called by the writer after each commit, in id order per batch.
    pub(crate) fn committed(&self, capture: Capture) {
        // No receivers is fine: nothing forwards from this process.
        let _ = self.sender.send(Arc::new(capture));
    }
}
