//! The three roles. Each takes an already-bound listener (tests bind port 0)
//! and a shutdown token, and returns once it has drained.
//!
//! Shutdown order matters for "nothing acknowledged is lost": HTTP stops
//! first and waits for in-flight webhooks (which wait for their publish to be
//! durable), and only then does the writer stop, committing what it holds.

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use common::health::{self, Readiness};
use common::metrics::{Build, Scope};
use common::{Bus, Store};
use ingest::IngestConfig;
use query::retention::RetentionConfig;
use query::QueryConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{IngestArgs, IngestOptions, QueryArgs, QueryOptions, StandaloneArgs};
use crate::serve;

const REGISTRY_SYNC: Duration = Duration::from_secs(30);

/// This binary, for `cl_build_info` (the commit comes from build.rs).
const BUILD: Build = Build {
    version: env!("CARGO_PKG_VERSION"),
    git_commit: match option_env!("CL_GIT_COMMIT") {
        Some(commit) => commit,
        None => "unknown",
    },
};

fn ingest_config(o: &IngestOptions) -> IngestConfig {
    IngestConfig {
        max_body_bytes: o.max_body_bytes,
        trusted_proxies: o.trusted_proxies.clone(),
        body_timeout: o.body_timeout,
        rate_limit: (o.rate_limit > 0).then_some((o.rate_limit, o.rate_burst.max(1))),
        ingest_processes: o.ingest_processes,
    }
}

/// Everything in one process: in-process bus (or JetStream with
/// `--nats-url`) and SQLite (or Postgres).
pub async fn standalone(
    args: StandaloneArgs,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let jetstream = args.jetstream()?;
    let mut scopes = vec![Scope::All, Scope::Ingest, Scope::Query];
    if jetstream.is_some() {
        scopes.extend([Scope::Nats, Scope::IngestNats, Scope::QueryNats]);
    }
    common::metrics::start(&scopes, BUILD);
    let store = Store::connect(&args.database_url)
        .await
        .with_context(|| format!("opening the database {}", args.database_url))?;
    let bus = match jetstream {
        Some(config) => Bus::jetstream(config).await?,
        None => Bus::memory(),
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", listener.local_addr().expect("bound")));
    let plan = Plan {
        public_url,
        query: &args.query,
        ingest: Some(&args.ingest),
        shutdown_timeout: args.common.shutdown_timeout,
        limits: webhook_limits(args.http.limits()),
    };
    run_with_writer(store, bus, plan, listener, shutdown).await
}

/// A process serving webhooks records each request's header lines as sent.
fn webhook_limits(limits: serve::Limits) -> serve::Limits {
    serve::Limits {
        wire_heads: true,
        ..limits
    }
}

/// Split shape: webhooks in, JetStream out. No database.
pub async fn ingest(
    args: IngestArgs,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    common::metrics::start(
        &[Scope::All, Scope::Nats, Scope::Ingest, Scope::IngestNats],
        BUILD,
    );
    let bus = Bus::jetstream(args.nats.jetstream()?).await?;
    let app = ingest::router(bus.clone(), ingest_config(&args.ingest))
        .merge(health::router(Readiness {
            bus: Some(bus),
            store: None,
            shutdown: shutdown.clone(),
        }))
        .merge(common::metrics::router());
    let limit = args.common.shutdown_timeout;
    let served = serve::serve(
        listener,
        serve::finish(app),
        shutdown.clone(),
        webhook_limits(args.http.limits()),
    );
    serve::bounded(limit, &shutdown, served).await.transpose()?;
    Ok(())
}

/// Split shape: JetStream into the store; the API, live feeds and page.
pub async fn query(
    args: QueryArgs,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    common::metrics::start(
        &[Scope::All, Scope::Nats, Scope::Query, Scope::QueryNats],
        BUILD,
    );
    let store = Store::connect(&args.database_url)
        .await
        .with_context(|| format!("opening the database {}", args.database_url))?;
    let bus = Bus::jetstream(args.nats.jetstream()?).await?;
    let plan = Plan {
        public_url: args.public_url.clone(),
        query: &args.query,
        ingest: None,
        shutdown_timeout: args.common.shutdown_timeout,
        limits: args.http.limits(),
    };
    run_with_writer(store, bus, plan, listener, shutdown).await
}

/// What a process serving query runs, besides its store and bus.
struct Plan<'a> {
    public_url: String,
    query: &'a QueryOptions,
    /// Also serve webhooks (standalone).
    ingest: Option<&'a IngestOptions>,
    shutdown_timeout: Duration,
    limits: serve::Limits,
}

/// Serves query (plus ingest in standalone) with the writer, the registry
/// sync and retention running beside it.
async fn run_with_writer(
    store: Store,
    bus: Bus,
    plan: Plan<'_>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let api_token = plan.query.token()?;
    if api_token.is_none() {
        tracing::warn!(
            "no CL_API_TOKEN: the API and captures are open to anyone who can reach {}; \
             keep it on loopback or set a token",
            listener.local_addr()?
        );
    }
    let config = QueryConfig {
        public_url: plan.public_url,
        api_token,
        api_key_rate: plan.query.api_key_rate,
        mask: query::Mask::new(plan.query.mask_headers.iter().cloned()),
        replay_allow: plan.query.replay_allow_hosts.clone(),
    };
    let quota_interval = plan.query.quota_interval;
    let retention = RetentionConfig {
        interval: plan.query.retention_interval,
        default_max_requests: plan.query.default_max_requests,
        default_ttl: plan.query.default_ttl,
    };
    let (ingest, shutdown_timeout, limits) = (plan.ingest, plan.shutdown_timeout, plan.limits);
    // The registry must hold every path before the first webhook is judged.
    query::registry_sync::reconcile(&bus, &store).await?;
    // Every task of the process, awaited (within the shutdown timeout)
    // before it exits. The writer and its companions stop on `background`,
    // after HTTP has drained; the rest on `shutdown`.
    let tasks = TaskTracker::new();
    let background = CancellationToken::new();
    tasks.spawn(query::writer::run(
        bus.clone(),
        store.clone(),
        background.clone(),
    ));
    tasks.spawn(query::registry_sync::sync_registry(
        bus.clone(),
        store.clone(),
        REGISTRY_SYNC,
        background.clone(),
    ));
    tasks.spawn(query::retention::run(
        store.clone(),
        retention,
        background.clone(),
    ));
    tasks.spawn(query::quotas::run(
        bus.clone(),
        store.clone(),
        quota_interval,
        background.clone(),
    ));

    let mut app: Router = query::router(
        store.clone(),
        bus.clone(),
        config,
        shutdown.clone(),
        tasks.clone(),
    );
    if let Some(options) = ingest {
        app = app.merge(ingest::router(bus.clone(), ingest_config(options)));
    }
    let app = app
        .merge(health::router(Readiness {
            bus: Some(bus),
            store: Some(store),
            shutdown: shutdown.clone(),
        }))
        .merge(common::metrics::router());

    // Outermost, so preflights are answered before the token check and the
    // JSON 405 fallback; it acts on /api only (webhooks stay captures).
    let app = query::cors::apply(serve::finish(app), &plan.query.cors_origins);
    let served = serve::serve(listener, app, shutdown.clone(), limits);
    let served = serve::bounded(shutdown_timeout, &shutdown, served).await;
    background.cancel();
    tasks.close();
    serve::bounded(shutdown_timeout, &background, tasks.wait()).await;
    served.transpose()?;
    Ok(())
}
