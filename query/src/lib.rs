//! Query: owns paths (the store is their source of truth), writes captures
//! from the bus into the store, and serves the API, the live feed and the
//! web page.

mod access;
mod api;
mod auth;
mod commands;
pub mod cors;
mod fanout;
mod page;
pub mod quotas;
pub mod registry_sync;
pub mod replay;
pub mod retention;
pub mod writer;

use std::sync::Arc;

use axum::Router;
use common::{Bus, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use access::Mask;
pub use api::{method_not_allowed, openapi, route_not_found};

/// Everything query needs, fixed at start-up.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Base URL senders use to reach ingest; `webhook_url` is built from it.
    pub public_url: String,
    /// When set, every `/api` route needs `Authorization: Bearer <token>`
    /// (this token: the administrator) or a workspace's API key.
    pub api_token: Option<String>,
    /// API requests per second each key may make (`None`: unlimited).
    pub api_key_rate: Option<std::num::NonZeroU32>,
    /// Header values hidden in every output.
    pub mask: Mask,
    /// Targets server-side replay and forwarding may reach.
    pub replay_allow: replay::Allowlist,
}

#[derive(Clone)]
pub(crate) struct QueryState {
    store: Store,
    bus: Bus,
    config: Arc<QueryConfig>,
    shutdown: CancellationToken,
    replays: Arc<replay::job::Replays>,
    forwards: Arc<replay::forward::Forwards>,
    fanout: Arc<fanout::Fanout>,
}

/// The API (`/api/...`), live feeds and the web page. `shutdown` ends open
/// live feeds so a graceful shutdown is not held up by them. Every task this
/// starts (fanout, forwarding, replay jobs) is spawned on `tasks`, which the
/// role awaits before the process exits.
pub fn router(
    store: Store,
    bus: Bus,
    config: QueryConfig,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) -> Router {
    // Jobs left queued or running by a process that is gone are interrupted.
    tasks.spawn({
        let store = store.clone();
        async move { replay::job::sweep(&store).await }
    });
    let forwards = Arc::new(replay::forward::Forwards::default());
    tasks.spawn(replay::forward::run(
        bus.clone(),
        store.clone(),
        config.replay_allow.clone(),
        forwards.clone(),
        shutdown.clone(),
        tasks.clone(),
    ));
    let fanout = fanout::Fanout::start(bus.clone(), config.mask.clone(), shutdown.clone(), &tasks);
    let state = QueryState {
        fanout,
        forwards,
        replays: Arc::new(replay::job::Replays::new(
            config.replay_allow.clone(),
            tasks,
        )),
        store,
        bus,
        config: Arc::new(config),
        shutdown,
    };
    let auth = auth::Auth::new(
        state.config.api_token.clone(),
        state.store.clone(),
        state.config.api_key_rate,
    );
    api::router(state)
        .layer(axum::middleware::from_fn_with_state(
            auth,
            auth::authenticate,
        ))
        .merge(page::router())
}
