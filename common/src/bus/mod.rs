//! The bus seam: how a capture travels from ingest to the store, how live
//! viewers hear about it, and how ingest learns which paths exist.
//!
//! Promises every implementation keeps (checked by the conformance suite in
//! `common/tests/it/bus.rs`):
//! - `publish` returns `Ok` only once the capture is durable (JetStream: the
//!   publish ack; in-process: committed to the store). An `Err` means the
//!   sender must not be told 2xx.
//! - `consume` writes every published capture to the store exactly once
//!   (idempotent inserts absorb redelivery) and announces it on `live` after
//!   the commit, never before, with the positions the store gave it (see
//!   [`Announced`]); captures that were already stored are not announced.
//! - `paths()` reflects `put_path` / `remove_path` within a second.

pub mod jetstream;
mod memory;

use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::capture::{Capture, CaptureSummary};
use crate::path_id::PathId;
use crate::paths::{PathInfo, PathTable};
use crate::store::{Store, StoreError};

pub use jetstream::JetStreamConfig;
pub use memory::MemoryBus;

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
    pub fn batch(captures: &[Capture], committed: &crate::store::Committed) -> Vec<Self> {
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

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    #[error("timed out waiting for the bus to make the capture durable")]
    Timeout,
    #[error("the bus is shutting down")]
    Closed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait BusBackend: Send + Sync + 'static {
    /// Returns once the capture is durable; see the module docs.
    async fn publish(&self, capture: Capture) -> Result<(), BusError>;
    /// Drains published captures into `store` until `shutdown` fires, then
    /// finishes (commits and acknowledges) the batch in hand and returns.
    async fn consume(&self, store: Store, shutdown: CancellationToken) -> Result<(), BusError>;
    /// Captures as they are committed, with their positions, in position
    /// order per batch.
    fn live(&self) -> broadcast::Receiver<Arc<Announced>>;
    /// Announces a created (or changed) path to every ingest.
    async fn put_path(&self, path: &PathInfo) -> Result<(), BusError>;
    /// Announces a deleted path to every ingest.
    async fn remove_path(&self, id: &PathId) -> Result<(), BusError>;
    /// The registry as this process sees it, kept current in the background.
    fn paths(&self) -> PathTable;
    /// Whether the bus can take captures right now (readiness).
    async fn ready(&self) -> Result<(), BusError>;
    /// How many messages this process set aside because they could not be
    /// decoded (JetStream parks them on `{stream}_PARKED`; the in-process bus
    /// never has any).
    fn parked_count(&self) -> u64;
    /// Whole captures as *this process* commits them (not other processes'),
    /// for work that must happen once per capture, such as forwarding.
    /// At least once: a redelivered capture may appear again.
    fn committed_here(&self) -> broadcast::Receiver<Arc<Capture>>;
}

/// How many committed captures a `committed_here` receiver may fall behind.
pub const COMMITTED_CAPACITY: usize = 1024;

/// The handle the rest of the code holds.
#[derive(Clone)]
pub struct Bus(Arc<dyn BusBackend>);

impl Bus {
    /// The standalone bus: publish is a group commit into the store.
    pub fn memory() -> Self {
        Self(Arc::new(MemoryBus::new()))
    }

    /// The split bus over NATS JetStream; creates or updates the stream, the
    /// registry bucket and the durable consumer as needed.
    pub async fn jetstream(config: JetStreamConfig) -> Result<Self, BusError> {
        jetstream::connect(config).await.map(Self)
    }
}

impl Deref for Bus {
    type Target = dyn BusBackend;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}
