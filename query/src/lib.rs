//! Query: owns paths (the store is their source of truth), writes captures
//! from the bus into the store, and serves the API, the live feed and the
//! web page.

mod api;
mod page;
mod stream;
pub mod writer;

use std::sync::Arc;

use axum::Router;
use common::{Bus, Store};
use tokio_util::sync::CancellationToken;

pub use api::{method_not_allowed, openapi, route_not_found};

/// Everything query needs, fixed at start-up.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Base URL senders use to reach ingest; `webhook_url` is built from it.
    pub public_url: String,
}

#[derive(Clone)]
pub(crate) struct QueryState {
    store: Store,
    bus: Bus,
    config: Arc<QueryConfig>,
    shutdown: CancellationToken,
}

/// The API (`/api/...`), live feeds and the web page. `shutdown` ends open
/// live feeds so a graceful shutdown is not held up by them.
pub fn router(store: Store, bus: Bus, config: QueryConfig, shutdown: CancellationToken) -> Router {
    let state = QueryState {
        store,
        bus,
        config: Arc::new(config),
        shutdown,
    };
    api::router(state).merge(page::router())
}
