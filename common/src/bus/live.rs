//! The live feed: captures as they are committed, for the SSE feeds. A
//! handle of its own (not a method of the transport): the in-process writer
//! announces into it directly; in the split shape every process fills it
//! from the live subject that writers publish on (`jetstream/live.rs`).

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::capture::{Capture, CaptureSummary};
use crate::store::Committed;

/// How many committed captures a live receiver may fall behind before it is
/// told it lagged (and its SSE stream closes so the client resumes).
pub const LIVE_CAPACITY: usize = 4096;

/// A committed capture as live feeds hear of it.
///
/// Batches are announced as `prev` plus their items; receivers hand the
/// items on one by one, each carrying the position it follows, so their
/// channels stay bounded in captures. A feed that has accounted for every
/// position up to `prev` can take this capture; one that has not missed a
/// batch (not heard yet, or lost) and catches up from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    /// The batch's `prev` for its first item, the previous item's position
    /// for the others. Not on the wire: derived from the batch's `prev`.
    #[serde(skip)]
    pub prev: i64,
    /// Its position in commit order.
    pub position: i64,
    #[serde(flatten)]
    pub summary: CaptureSummary,
}

impl Announced {
    /// The announcements of a committed batch, in position order.
    pub fn batch(captures: &[Capture], committed: &Committed) -> Vec<Self> {
        let by_id: std::collections::HashMap<uuid::Uuid, &Capture> =
            captures.iter().map(|c| (c.id, c)).collect();
        let mut prev = committed.prev;
        let mut out = Vec::with_capacity(committed.inserted.len());
        for &(id, position) in &committed.inserted {
            if let Some(c) = by_id.get(&id) {
                out.push(Self {
                    prev,
                    position,
                    summary: c.summary(),
                });
                prev = position;
            }
        }
        out
    }
}

/// This process's live feed. Cheap to clone; every clone feeds the same
/// receivers.
#[derive(Clone)]
pub struct LiveFeed {
    sender: Arc<RwLock<broadcast::Sender<Arc<Announced>>>>,
}

impl Default for LiveFeed {
    fn default() -> Self {
        Self {
            sender: Arc::new(RwLock::new(broadcast::channel(LIVE_CAPACITY).0)),
        }
    }
}

impl LiveFeed {
    /// Captures as they are committed, with their positions, in position
    /// order per batch. The receiver sees `Closed` when the feed may have
    /// lost captures (see [`LiveFeed::restart`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Announced>> {
        self.current().subscribe()
    }

    pub(crate) fn announce(&self, announced: Announced) {
        // No receivers is fine: nobody is watching.
        let _ = self.current().send(Arc::new(announced));
    }

    /// Ends every receiver (they see `Closed` and resume from the store):
    /// for when the feed itself may have missed captures, e.g. across a
    /// NATS reconnect.
    pub(crate) fn restart(&self) {
        *self.sender.write().unwrap_or_else(|e| e.into_inner()) =
            broadcast::channel(LIVE_CAPACITY).0;
    }

    fn current(&self) -> broadcast::Sender<Arc<Announced>> {
        self.sender
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
