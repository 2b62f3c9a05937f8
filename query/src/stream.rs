//! Live feeds: `GET /api/paths/{path_id}/stream` and `GET /api/stream`.
//!
//! Gapless resume: the feed subscribes to live commits *before* it reads the
//! catch-up from the store, so a capture committed in between is in both; ids
//! sent during catch-up are remembered and skipped when they come live. A
//! client that falls too far behind is disconnected (never silently skipped)
//! and resumes with `Last-Event-ID`.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use common::capture::CaptureSummary;
use common::{ApiError, PathId};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;
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
    let feed = Feed {
        phase: Phase::Hello(after),
        state,
        path,
        live,
        sent: HashSet::new(),
        _client: ClientGauge::open(),
    };
    let events = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// One client's feed, polled by the client's own connection task: an open
/// stream costs no task and no queue of its own (10,000 of them are held).
struct Feed {
    state: QueryState,
    path: Option<PathId>,
    live: broadcast::Receiver<Arc<Rendered>>,
    phase: Phase,
    /// Ids sent during catch-up, skipped when they come live.
    sent: HashSet<Uuid>,
    _client: ClientGauge,
}

enum Phase {
    /// The first event; then catch up after the cursor, if any.
    Hello(Option<Uuid>),
    CatchUp {
        cursor: Uuid,
        page: VecDeque<CaptureSummary>,
        /// The last page read was full: there may be more.
        more: bool,
    },
    Live,
    Done,
}

impl Feed {
    /// The next event; `None` when the client is done, lagged or the
    /// process is shutting down.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.state.shutdown.is_cancelled() && !matches!(self.phase, Phase::Done) {
                self.phase = Phase::Done;
                return Some(goodbye());
            }
            match &mut self.phase {
                Phase::Hello(after) => {
                    self.phase = match *after {
                        Some(cursor) => Phase::CatchUp {
                            cursor,
                            page: VecDeque::new(),
                            more: true,
                        },
                        None => Phase::Live,
                    };
                    return Some(Event::default().retry(RETRY).comment("connected"));
                }
                Phase::CatchUp { cursor, page, more } => {
                    if let Some(summary) = page.pop_front() {
                        *cursor = summary.id;
                        let rendered = render(&self.state.bus, &self.state.config.mask, &summary);
                        if !visible(self.path.as_ref(), &rendered) {
                            continue;
                        }
                        self.sent.insert(summary.id);
                        return Some(event(&rendered));
                    }
                    if !*more {
                        self.phase = Phase::Live;
                        continue;
                    }
                    if self.sent.len() >= MAX_CATCH_UP {
                        return None;
                    }
                    let next = self
                        .state
                        .store
                        .list_after(self.path.as_ref(), *cursor, PAGE);
                    match next.await {
                        Ok(next) => {
                            *more = next.len() >= PAGE as usize;
                            *page = next.into();
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "live feed catch-up failed; closing");
                            return None;
                        }
                    }
                }
                Phase::Live => {
                    let summary = tokio::select! {
                        next = self.live.recv() => next,
                        () = self.state.shutdown.cancelled() => continue,
                    };
                    let summary = match summary {
                        Ok(summary) => summary,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "live client lagged; closing so it resumes");
                            return None;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    };
                    if !visible(self.path.as_ref(), &summary) {
                        continue;
                    }
                    if !self.sent.is_empty() && self.sent.remove(&summary.id) {
                        continue;
                    }
                    return Some(event(&summary));
                }
                Phase::Done => return None,
            }
        }
    }
}

/// Tells the client when to come back (to another replica, or this one
/// restarted); it resumes with Last-Event-ID.
fn goodbye() -> Event {
    Event::default().retry(RETRY).comment("shutting down")
}

/// Counts open feeds in `cl_sse_clients` for as long as it lives.
struct ClientGauge;

impl ClientGauge {
    fn open() -> Self {
        metrics::gauge!("cl_sse_clients").increment(1.0);
        Self
    }
}

impl Drop for ClientGauge {
    fn drop(&mut self) {
        metrics::gauge!("cl_sse_clients").decrement(1.0);
    }
}

fn event(rendered: &Rendered) -> Event {
    Event::default()
        .id(rendered.id.to_string())
        .event("request")
        .data(&rendered.json)
}

/// Whether a capture belongs on this feed: the path's own feed shows its
/// captures; the all-paths feed leaves private paths out.
fn visible(path: Option<&PathId>, rendered: &Rendered) -> bool {
    match path {
        Some(p) => p.as_str() == rendered.path_id,
        None => !rendered.private,
    }
}
