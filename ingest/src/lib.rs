//! Ingest: accepts webhooks on `/webhook/{path_id}[/{*subpath}]`, turns each
//! into a [`common::Capture`] and answers only once the bus made it durable.
//! Stateless: the path registry arrives through the bus, so ingest never
//! touches the database.

mod client_ip;
mod respond;
mod webhook;
pub mod wire_head;
mod workspace_limit;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

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
    /// The whole body must arrive within this, or 408.
    pub body_timeout: Duration,
    /// Per client IP: (webhooks per second, burst); `None` = unlimited.
    pub rate_limit: Option<(u32, u32)>,
    /// How many ingest processes share each workspace's webhook rate.
    pub ingest_processes: u32,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 << 20,
            trusted_proxies: TrustedProxies::default(),
            body_timeout: Duration::from_secs(30),
            rate_limit: None,
            ingest_processes: 1,
        }
    }
}

type IpLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

#[derive(Clone)]
struct IngestState {
    bus: Bus,
    config: Arc<IngestConfig>,
    limiter: Option<Arc<IpLimiter>>,
    workspaces: Arc<workspace_limit::WorkspaceLimits>,
}

/// The webhook routes. The caller adds health routes and serves it with
/// `into_make_service_with_connect_info::<SocketAddr>()` (the peer address
/// is part of the capture).
pub fn router(bus: Bus, config: IngestConfig) -> Router {
    let limiter = config.rate_limit.and_then(|(rate, burst)| {
        let quota = governor::Quota::per_second(NonZeroU32::new(rate)?)
            .allow_burst(NonZeroU32::new(burst)?);
        Some(Arc::new(governor::RateLimiter::keyed(quota)))
    });
    if let Some(limiter) = &limiter {
        // Forget idle clients now and then so the table stays small.
        let limiter = Arc::downgrade(limiter);
        tokio::spawn(async move {
            while let Some(l) = limiter.upgrade() {
                l.retain_recent();
                drop(l);
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        });
    }
    let state = IngestState {
        bus,
        workspaces: Arc::new(workspace_limit::WorkspaceLimits::new(
            config.ingest_processes,
        )),
        config: Arc::new(config),
        limiter,
    };
    // `/{*subpath}` does not match an empty tail, so the bare path and the
    // trailing-slash form get their own routes.
    Router::new()
        .route("/webhook/{path_id}", any(webhook::receive))
        .route("/webhook/{path_id}/", any(webhook::receive))
        .route("/webhook/{path_id}/{*subpath}", any(webhook::receive))
        .with_state(state)
}
