//! Serving HTTP: the layers every service shares (JSON fallbacks, request
//! spans), graceful shutdown, and the OS signals that start it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

/// Adds the JSON 404/405 fallbacks and a span per request. The span carries
/// method and path only: query strings, header values and bodies stay out of
/// logs.
pub fn finish(app: Router) -> Router {
    app.fallback(query::route_not_found)
        .method_not_allowed_fallback(query::method_not_allowed)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::info_span!(
                "http",
                method = %req.method(),
                path = %req.uri().path(),
                capture_id = tracing::field::Empty,
            )
        }))
}

/// Serves until `shutdown` fires, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
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
