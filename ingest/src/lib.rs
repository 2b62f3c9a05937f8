//! Ingest: accepts webhooks on `/webhook/{path_id}[/{*subpath}]`, turns each
//! into a [`common::Capture`] and answers only once the bus made it durable.
//! Stateless: the path registry arrives through the bus, so ingest never
//! touches the database.

mod client_ip;
mod webhook;

use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use common::Bus;

pub use client_ip::TrustedProxies;

/// Everything ingest needs, fixed at start-up.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Largest body accepted; larger ones get 413 and are not stored.
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 << 20,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

#[derive(Clone)]
struct IngestState {
    bus: Bus,
    config: Arc<IngestConfig>,
}

/// The webhook routes. The caller adds health routes and serves it with
/// `into_make_service_with_connect_info::<SocketAddr>()` (the peer address
/// is part of the capture).
pub fn router(bus: Bus, config: IngestConfig) -> Router {
    let state = IngestState {
        bus,
        config: Arc::new(config),
    };
    // `/{*subpath}` does not match an empty tail, so the bare path and the
    // trailing-slash form get their own routes.
    Router::new()
        .route("/webhook/{path_id}", any(webhook::receive))
        .route("/webhook/{path_id}/", any(webhook::receive))
        .route("/webhook/{path_id}/{*subpath}", any(webhook::receive))
        .with_state(state)
}
