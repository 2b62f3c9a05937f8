//! Live feeds: `GET /api/paths/{path_id}/stream` and `GET /api/stream`.
//!
//! Gapless resume: the feed subscribes to live commits *before* it reads the
//! catch-up from the store, so a capture committed in between is in both; ids
//! sent during catch-up are remembered and skipped when they come live. A
//! client that falls too far behind is disconnected (never silently skipped)
//! and resumes with `Last-Event-ID`.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use common::{ApiError, PathId};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::Access;
use crate::api::{existing, Query};
use crate::fanout::{render, Rendered};
use crate::QueryState;

/// Most events one connection replays from the store; past that the stream
/// ends and the client resumes from where it got to, keeping memory bounded.
const MAX_CATCH_UP: usize = 10_000;
const PAGE: u32 = 500;
/// Events buffered per client between its task and its socket.
const CLIENT_BUFFER: usize = 16;
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Resume after this capture id, for clients that cannot set the
    /// `Last-Event-ID` header.
    last_event_id: Option<String>,
    /// The API token, for clients (EventSource) that cannot set headers.
    #[allow(dead_code)]
    access_token: Option<String>,
    /// A private path's read token, for clients that cannot set headers.
    #[allow(dead_code)]
    read_token: Option<String>,
}

pub(crate) fn openapi_router() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new()
        .routes(routes!(path_stream))
        .routes(routes!(all_stream))
}

fn resume_point(headers: &HeaderMap, params: &StreamParams) -> Result<Option<Uuid>, ApiError> {
    let raw = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| params.last_event_id.clone());
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => Uuid::try_parse(raw).map(Some).map_err(|_| {
            ApiError::bad_request(
                "invalid_last_event_id",
                "Last-Event-ID must be a capture id",
            )
        }),
    }
}

/// Live captures of one path as server-sent events.
#[utoipa::path(get, path = "/api/paths/{path_id}/stream", tag = "live",
    params(("path_id" = String, Path), StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this capture id")),
    responses(
        (status = 200, description = "`text/event-stream`: `event: request`, `id:` the capture id, `data:` the capture summary", content_type = "text/event-stream"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn path_stream(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
    access: Access,
    Query(params): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let path = existing(&state, &path_id, &access).await?;
    let after = resume_point(&headers, &params)?;
    Ok(feed(state, Some(path.path_id), after))
}

/// Live captures of every path as server-sent events (dashboards).
#[utoipa::path(get, path = "/api/stream", tag = "live",
    params(StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this capture id")),
    responses(
        (status = 200, description = "`text/event-stream` of every path", content_type = "text/event-stream"),
        (status = 400, body = common::http_error::ErrorBody),
    ))]
pub async fn all_stream(
    State(state): State<QueryState>,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = resume_point(&headers, &params)?;
    Ok(feed(state, None, after))
}

fn feed(
    state: QueryState,
    path: Option<PathId>,
    after: Option<Uuid>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe first: see the module docs for why the order matters.
    let live = state.fanout.subscribe();
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(async move {
        let shutdown = state.shutdown.clone();
        metrics::gauge!("cl_sse_clients").increment(1.0);
        tokio::select! {
            () = pump(state, path, after, live, tx.clone()) => {}
            () = shutdown.cancelled() => {
                // Tell the client when to come back (to another replica, or
                // this one restarted); it resumes with Last-Event-ID.
                let bye = Event::default().retry(RETRY).comment("shutting down");
                let _ = tx.try_send(Ok(bye));
            }
        }
        metrics::gauge!("cl_sse_clients").decrement(1.0);
    });
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

fn event(rendered: &Rendered) -> Result<Event, Infallible> {
    Ok(Event::default()
        .id(rendered.id.to_string())
        .event("request")
        .data(&rendered.json))
}

/// Whether a capture belongs on this feed: the path's own feed shows its
/// captures; the all-paths feed leaves private paths out.
fn visible(path: Option<&PathId>, rendered: &Rendered) -> bool {
    match path {
        Some(p) => p.as_str() == rendered.path_id,
        None => !rendered.private,
    }
}

/// Feeds one client; returns when the client goes away, lags or is done.
async fn pump(
    state: QueryState,
    path: Option<PathId>,
    after: Option<Uuid>,
    mut live: broadcast::Receiver<Arc<Rendered>>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
) {
    if tx
        .send(Ok(Event::default().retry(RETRY).comment("connected")))
        .await
        .is_err()
    {
        return;
    }
    let mut sent = HashSet::new();
    if let Some(mut cursor) = after {
        loop {
            let page = match state.store.list_after(path.as_ref(), cursor, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "live feed catch-up failed; closing");
                    return;
                }
            };
            for summary in &page {
                cursor = summary.id;
                let rendered = render(&state.bus, &state.config.mask, summary);
                if !visible(path.as_ref(), &rendered) {
                    continue;
                }
                if tx.send(event(&rendered)).await.is_err() {
                    return;
                }
                sent.insert(summary.id);
            }
            if page.len() < PAGE as usize {
                break;
            }
            if sent.len() >= MAX_CATCH_UP {
                return;
            }
        }
    }
    loop {
        let summary = match live.recv().await {
            Ok(summary) => summary,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "live client lagged; closing so it resumes");
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !visible(path.as_ref(), &summary) {
            continue;
        }
        if !sent.is_empty() && sent.remove(&summary.id) {
            continue;
        }
        if tx.send(event(&summary)).await.is_err() {
            return;
        }
    }
}
