//! Live feeds: `GET /api/paths/{path_id}/stream` and `GET /api/stream`.
//!
//! Gapless and duplicate-free by construction, whatever the number of ingest
//! and query processes. The store gives every capture a *position* when its
//! batch commits, under a lock that serialises batch commits, so positions
//! follow commit order and seeing position P committed means every lower
//! position is committed too (ids cannot promise that: ingest clocks
//! interleave and writer batches commit in any order).
//!
//! A feed keeps one number, `seen`: the highest position it has accounted
//! for (sent, or passed over as not for this feed). Live announcements carry
//! each capture's position and the position it follows (`prev`, from the
//! batch). One that follows `seen` or less extends it; one that does not
//! reveals a batch this process has not heard (another writer's, still on its
//! way or lost), and the feed catches up from the store: first the store's
//! head, then everything in `(seen, head]` in position order, then `seen` =
//! head. So every feed on every query process sends every capture once, in
//! the same (position) order, across reconnects.
//!
//! `Last-Event-ID` stays a capture id (the SSE `id:`) and is mapped to its
//! position; events go out in position order, so everything before it was
//! sent. A client that falls too far behind is disconnected (never silently
//! skipped) and resumes with `Last-Event-ID`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use common::capture::CaptureSummary;
use common::workspaces::WorkspaceId;
use common::{ApiError, PathId};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{existing, Query};
use crate::access::Access;
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

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
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
        (status = 503, description = "the database could not be read for the feed's start", body = common::http_error::ErrorBody),
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
    feed(state, Some(path.path_id), None, after).await
}

/// Live captures of every path as server-sent events (dashboards).
#[utoipa::path(get, path = "/api/stream", tag = "live",
    params(StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this capture id")),
    responses(
        (status = 200, description = "`text/event-stream` of every path", content_type = "text/event-stream"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 503, description = "the database could not be read for the feed's start", body = common::http_error::ErrorBody),
    ))]
pub async fn all_stream(
    State(state): State<QueryState>,
    headers: HeaderMap,
    access: Access,
    Query(params): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = resume_point(&headers, &params)?;
    let workspace = access.principal.workspace().cloned();
    feed(state, None, workspace, after).await
}

async fn feed(
    state: QueryState,
    path: Option<PathId>,
    workspace: Option<WorkspaceId>,
    after: Option<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading the store: a batch committed after the read
    // is then heard (or its absence noticed from the next one's `prev`),
    // rather than waiting for the next batch to reveal it.
    let live = state.fanout.subscribe();
    // Where the feed starts, read before the response goes out, so a capture
    // committed once the client sees the stream open is never before it.
    let seen = match after {
        // A capture id the store no longer has (retention, clear) resumes
        // just before the first capture with a larger id; see
        // `StoreBackend::resume_position`.
        Some(id) => state.store.resume_position(id).await?,
        // A new client: what is committed now is history, not live.
        None => state.store.head().await?,
    };
    let feed = Feed {
        phase: Phase::Hello {
            catch_up: after.is_some(),
        },
        state,
        path,
        workspace,
        live,
        seen,
        _client: ClientGauge::open(),
    };
    let events = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One client's feed, polled by the client's own connection task: an open
/// stream costs no task and no queue of its own (10,000 of them are held).
struct Feed {
    state: QueryState,
    path: Option<PathId>,
    /// A workspace key's all-paths feed: only that workspace's paths.
    workspace: Option<WorkspaceId>,
    live: broadcast::Receiver<Arc<Rendered>>,
    phase: Phase,
    /// The highest position accounted for: every capture at or below it was
    /// sent or is not for this feed (see the module docs).
    seen: i64,
    _client: ClientGauge,
}

enum Phase {
    /// The first event; then catch up from `seen` if the client resumes.
    Hello {
        catch_up: bool,
    },
    /// Sending `(seen, high]` from the store, page by page.
    CatchUp {
        /// The store's head, read first: `None` until it is.
        high: Option<i64>,
        page: VecDeque<(i64, CaptureSummary)>,
        /// The last page read was full: there may be more.
        more: bool,
        /// Events sent by this catch-up, bounded by `MAX_CATCH_UP`.
        sent: usize,
    },
    Live,
    Done,
}

impl Phase {
    fn catch_up() -> Self {
        Self::CatchUp {
            high: None,
            page: VecDeque::new(),
            more: true,
            sent: 0,
        }
    }
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
                Phase::Hello { catch_up } => {
                    self.phase = if *catch_up {
                        Phase::catch_up()
                    } else {
                        Phase::Live
                    };
                    return Some(Event::default().retry(RETRY).comment("connected"));
                }
                Phase::CatchUp {
                    high,
                    page,
                    more,
                    sent,
                } => {
                    let Some(upto) = *high else {
                        // The head first: everything at or below it is
                        // committed, so the pages below are complete.
                        match self.state.store.head().await {
                            Ok(head) => *high = Some(head),
                            Err(e) => return caught_up_failed(&e),
                        }
                        continue;
                    };
                    if let Some((position, summary)) = page.pop_front() {
                        self.seen = position;
                        let rendered = render(
                            &self.state.bus,
                            &self.state.config.mask,
                            position - 1,
                            position,
                            &summary,
                        );
                        if !visible(self.path.as_ref(), self.workspace.as_ref(), &rendered) {
                            continue;
                        }
                        *sent += 1;
                        return Some(event(&rendered));
                    }
                    if !*more {
                        // Pages cover (seen, upto] for this feed, even where
                        // the last captures were another path's.
                        self.seen = self.seen.max(upto);
                        self.phase = Phase::Live;
                        continue;
                    }
                    if *sent >= MAX_CATCH_UP {
                        return None;
                    }
                    let next =
                        self.state
                            .store
                            .list_positions(self.path.as_ref(), self.seen, upto, PAGE);
                    match next.await {
                        Ok(next) => {
                            *more = next.len() >= PAGE as usize;
                            *page = next.into();
                        }
                        Err(e) => return caught_up_failed(&e),
                    }
                }
                Phase::Live => {
                    let rendered = tokio::select! {
                        next = self.live.recv() => next,
                        () = self.state.shutdown.cancelled() => continue,
                    };
                    let rendered = match rendered {
                        Ok(rendered) => rendered,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "live client lagged; closing so it resumes");
                            metrics::counter!("cl_sse_lagged_disconnects_total").increment(1);
                            return None;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    };
                    if rendered.position <= self.seen {
                        // Sent from the store already, or from before the
                        // client connected.
                        continue;
                    }
                    if rendered.prev > self.seen {
                        // A batch between `seen` and this one was not heard
                        // (yet): the store has it, and this one too.
                        self.phase = Phase::catch_up();
                        continue;
                    }
                    self.seen = rendered.position;
                    if !visible(self.path.as_ref(), self.workspace.as_ref(), &rendered) {
                        continue;
                    }
                    return Some(event(&rendered));
                }
                Phase::Done => return None,
            }
        }
    }
}

fn caught_up_failed(e: &common::StoreError) -> Option<Event> {
    tracing::warn!(error = %e, "live feed catch-up failed; closing");
    None
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
/// captures; the all-paths feed leaves private paths out, and, for a
/// workspace key, other workspaces' paths.
fn visible(path: Option<&PathId>, workspace: Option<&WorkspaceId>, rendered: &Rendered) -> bool {
    match path {
        Some(p) => *p == rendered.path_id,
        None => !rendered.private && workspace.is_none_or(|w| *w == rendered.workspace),
    }
}
