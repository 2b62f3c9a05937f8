//! The three roles. Each takes an already-bound listener (tests bind port 0)
//! and a shutdown token, and returns once it has drained.
//!
//! Shutdown order matters for "nothing acknowledged is lost": HTTP stops
//! first and waits for in-flight webhooks (which wait for their publish to be
//! durable), and only then does the writer stop, committing what it holds.

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use common::bus::JetStreamConfig;
use common::health::{self, Readiness};
use common::{Bus, Store};
use ingest::IngestConfig;
use query::QueryConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{IngestArgs, IngestOptions, QueryArgs, StandaloneArgs};
use crate::serve;

const REGISTRY_SYNC: Duration = Duration::from_secs(30);

fn ingest_config(o: &IngestOptions) -> IngestConfig {
    IngestConfig {
        max_body_bytes: o.max_body_bytes,
        trusted_proxies: o.trusted_proxies.clone(),
    }
}

/// Everything in one process: in-process bus (or JetStream with
/// `--nats-url`) and SQLite (or Postgres).
pub async fn standalone(
    args: StandaloneArgs,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url)
        .await
        .with_context(|| format!("opening the database {}", args.database_url))?;
    let bus = match &args.nats_url {
        Some(url) => Bus::jetstream(JetStreamConfig::new(url, &args.stream)).await?,
        None => Bus::memory(),
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", listener.local_addr().expect("bound")));
    let config = QueryConfig { public_url };
    run_with_writer(
        store,
        bus,
        config,
        Some(&args.ingest),
        args.common.shutdown_timeout,
        listener,
        shutdown,
    )
    .await
}

/// Split shape: webhooks in, JetStream out. No database.
pub async fn ingest(
    args: IngestArgs,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let bus = Bus::jetstream(JetStreamConfig::new(&args.nats.nats_url, &args.nats.stream)).await?;
    let app =
        ingest::router(bus.clone(), ingest_config(&args.ingest)).merge(health::router(Readiness {
            bus: Some(bus),
            store: None,
            shutdown: shutdown.clone(),
        }));
    let limit = args.common.shutdown_timeout;
    let served = serve::serve(listener, serve::finish(app), shutdown.clone());
    serve::bounded(limit, &shutdown, served).await.transpose()?;
    Ok(())
}

/// Split shape: JetStream into the store; the API, live feeds and page.
pub async fn query(
    args: QueryArgs,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url)
        .await
        .with_context(|| format!("opening the database {}", args.database_url))?;
    let bus = Bus::jetstream(JetStreamConfig::new(&args.nats.nats_url, &args.nats.stream)).await?;
    let config = QueryConfig {
        public_url: args.public_url.clone(),
    };
    run_with_writer(
        store,
        bus,
        config,
        None,
        args.common.shutdown_timeout,
        listener,
        shutdown,
    )
    .await
}

/// Serves query (plus ingest when `ingest` is given) with the writer and the
/// registry sync running beside it.
async fn run_with_writer(
    store: Store,
    bus: Bus,
    config: QueryConfig,
    ingest: Option<&IngestOptions>,
    shutdown_timeout: Duration,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The registry must hold every path before the first webhook is judged.
    bus.sync_paths(store.list_paths().await?).await?;
    let background = CancellationToken::new();
    let writer = tokio::spawn(query::writer::run(
        bus.clone(),
        store.clone(),
        background.clone(),
    ));
    let registry = tokio::spawn(query::writer::sync_registry(
        bus.clone(),
        store.clone(),
        REGISTRY_SYNC,
        background.clone(),
    ));

    let mut app: Router = query::router(store.clone(), bus.clone(), config, shutdown.clone());
    if let Some(options) = ingest {
        app = app.merge(ingest::router(bus.clone(), ingest_config(options)));
    }
    let app = app.merge(health::router(Readiness {
        bus: Some(bus),
        store: Some(store),
        shutdown: shutdown.clone(),
    }));

    let served = serve::serve(listener, serve::finish(app), shutdown.clone());
    let served = serve::bounded(shutdown_timeout, &shutdown, served).await;
    background.cancel();
    serve::bounded(shutdown_timeout, &background, async {
        let _ = writer.await;
        let _ = registry.await;
    })
    .await;
    served.transpose()?;
    Ok(())
}
