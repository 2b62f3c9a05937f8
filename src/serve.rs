//! Serving HTTP: the layers every service shares (JSON fallbacks, request
//! spans), graceful shutdown, and the OS signals that start it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ingest::wire_head::{Recording, WireHeads};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use tower_http::trace::TraceLayer;

/// Adds the JSON 404/405 fallbacks, the HTTP metrics and a span per request.
/// The span carries method and path only: query strings, header values and
/// bodies stay out of logs.
pub fn finish(app: Router) -> Router {
    app.fallback(query::route_not_found)
        .method_not_allowed_fallback(query::method_not_allowed)
        .layer(axum::middleware::from_fn(common::metrics::http::track))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::info_span!(
                target: common::telemetry::PER_REQUEST,
                "http",
                method = %req.method(),
                path = %req.uri().path(),
                capture_id = tracing::field::Empty,
            )
        }))
}

/// Connection-level protections, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at most; further ones wait in the accept queue.
    pub max_connections: usize,
    /// A client must send its whole request head within this (slowloris).
    pub header_timeout: Duration,
    /// At most this many request headers (more -> 431).
    pub max_headers: usize,
    /// At most this many bytes of request head (more -> 431).
    pub max_header_bytes: usize,
    /// Record each request's header lines as sent (order and case) for
    /// ingest; see `ingest::wire_head`.
    pub wire_heads: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 16_384,
            header_timeout: Duration::from_secs(10),
            max_headers: 100,
            max_header_bytes: 64 << 10,
            wire_heads: false,
        }
    }
}

/// Serves until `shutdown` fires, then stops accepting and lets in-flight
/// requests finish. A hand-written accept loop rather than `axum::serve`,
/// because the limits above (header timeout, header caps, connection cap)
/// are hyper settings that `axum::serve` does not expose.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    limits: Limits,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(limits.max_headers)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, don't die.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let heads = limits
            .wire_heads
            .then(|| WireHeads::new(limits.max_headers, limits.max_header_bytes));
        let service = hyper::service::service_fn({
            let heads = heads.clone();
            move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                if let Some(head) = heads.as_ref().and_then(WireHeads::next_head) {
                    req.extensions_mut().insert(head);
                }
                app.clone().oneshot(req)
            }
        });
        let io = TokioIo::new(Recording::new(stream, heads));
        let conn = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
pub fn on_signal(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested; draining");
        shutdown.cancel();
    });
}

/// Runs `task` to completion, but once `shutdown` has fired gives it at most
/// `limit` more; `None` when it was cut short.
pub async fn bounded<T>(
    limit: Duration,
    shutdown: &CancellationToken,
    task: impl std::future::Future<Output = T>,
) -> Option<T> {
    let deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(limit).await;
    };
    tokio::select! {
        v = task => Some(v),
        () = deadline => {
            tracing::warn!(?limit, "graceful shutdown timed out; exiting anyway");
            None
        }
    }
}
