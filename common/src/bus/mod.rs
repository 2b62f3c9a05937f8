//! The bus seam: how a capture travels from ingest to the store. Beside the
//! transport, a [`Bus`] hands out three handles of their own: the live feed
//! ([`LiveFeed`]), the path registry ([`PathRegistry`]) and the captures this
//! process committed ([`CommittedHere`], for forwarding).
//!
//! Promises every implementation keeps (checked by the conformance suites in
//! `common/tests/it/bus.rs` and `bus_writer.rs`):
//! - `publish` returns `Ok` only once the capture is durable (JetStream: the
//!   publish ack; in-process: committed to the store). An `Err` means the
//!   sender must not be told 2xx.
//! - `consume` writes every published capture to the store exactly once
//!   (idempotent inserts absorb redelivery) and announces it on the live
//!   feed after the commit, never before, with the positions the store gave
//!   it (see [`Announced`]); captures that were already stored are not
//!   announced. Stopped, it finishes what it was handed, so nothing waits
//!   out a redelivery timer.
//! - the registry's table reflects `put` / `remove` within a second.

mod committed;
pub mod jetstream;
mod live;
mod memory;
mod registry;

use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::capture::Capture;
use crate::store::{Store, StoreError};

pub use committed::{CommittedHere, COMMITTED_CAPACITY};
pub use jetstream::JetStreamConfig;
pub use live::{Announced, LiveFeed, LIVE_CAPACITY};
pub use memory::MemoryBus;
pub use registry::{PathRegistry, RegistryBackend};

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

/// The transport: captures in (ingest), captures out into the store (the
/// writer).
#[async_trait]
pub trait BusBackend: Send + Sync + 'static {
    /// Returns once the capture is durable; see the module docs.
    async fn publish(&self, capture: Capture) -> Result<(), BusError>;
    /// Drains published captures into `store` until `shutdown` fires, then
    /// finishes (commits and acknowledges) the batch in hand and returns.
    async fn consume(&self, store: Store, shutdown: CancellationToken) -> Result<(), BusError>;
    /// Whether the bus can take captures right now (readiness).
    async fn ready(&self) -> Result<(), BusError>;
    /// How many messages this process set aside because they could not be
    /// decoded (JetStream parks them on `{stream}_PARKED`; the in-process bus
    /// never has any).
    fn parked_count(&self) -> u64;
}

/// The handle the rest of the code holds: the transport (through `Deref`)
/// and the handles beside it.
#[derive(Clone)]
pub struct Bus {
    transport: Arc<dyn BusBackend>,
    live: LiveFeed,
    registry: PathRegistry,
    committed: CommittedHere,
}

/// What a backend hands [`Bus`] when it starts.
pub(crate) struct Parts {
    pub transport: Arc<dyn BusBackend>,
    pub live: LiveFeed,
    pub registry: PathRegistry,
    pub committed: CommittedHere,
}

impl Bus {
    /// The standalone bus: publish is a group commit into the store.
    pub fn memory() -> Self {
        Self::from(MemoryBus::start())
    }

    /// The split bus over NATS JetStream; creates or updates the stream, the
    /// registry bucket and the durable consumer as needed.
    pub async fn jetstream(config: JetStreamConfig) -> Result<Self, BusError> {
        jetstream::connect(config).await.map(Self::from)
    }

    /// Committed captures, for the live feeds.
    pub fn live(&self) -> &LiveFeed {
        &self.live
    }

    /// Which paths exist, as ingest judges webhooks.
    pub fn registry(&self) -> &PathRegistry {
        &self.registry
    }

    /// Captures committed by this process's writer, for forwarding.
    pub fn committed_here(&self) -> &CommittedHere {
        &self.committed
    }
}

impl From<Parts> for Bus {
    fn from(p: Parts) -> Self {
        Self {
            transport: p.transport,
            live: p.live,
            registry: p.registry,
            committed: p.committed,
        }
    }
}

impl Deref for Bus {
    type Target = dyn BusBackend;
    fn deref(&self) -> &Self::Target {
        self.transport.as_ref()
    }
}
