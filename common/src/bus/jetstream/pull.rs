//! Pull requests on one inbox, issued only when the writer asks for them.
//!
//! Neither of async-nats' pull readers fits "nothing acknowledged is left
//! waiting": a `pull::Stream` issues a new request whenever it is polled
//! below half its batch, so the request open when it is dropped is served to
//! a dead inbox; a `pull::Batch` has an inbox per request, so what a server
//! sends for a request the writer gave up on (a consumer leader answering
//! late during an election) is lost. Either costs `ack_wait` (30 s) for the
//! messages concerned. Here one subscription lives as long as the writer
//! loop, every request is answered on it (late answers included), and a new
//! request is issued only when the last is over, so on shutdown the writer
//! stops asking and reads until the open request can bring nothing more.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::BatchConfig;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::{self, Context};
use async_nats::{StatusCode, Subject, Subscriber};
use futures::StreamExt as _;

/// Lifetime of each pull request at the server. Short, because a shutdown
/// (and an idle writer's next look at its signal) waits for it.
pub(super) const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// Silence past a request's expiry after which its server is taken for
/// lost (frozen, or a consumer leader gone with the request).
const EXPIRY_MARGIN: Duration = Duration::from_secs(1);

pub(super) struct Puller {
    js: Context,
    inbox: Subject,
    sub: Subscriber,
    batch: usize,
    max_bytes: usize,
    /// When the open request expires at the server; `None`: none is open.
    open_until: Option<Instant>,
    /// Messages the open request may still bring.
    remaining: usize,
}

/// What the inbox brought. (Matched at once, never stored: a message kept
/// inline saves an allocation per message.)
#[allow(clippy::large_enum_variant)]
pub(super) enum Next {
    Message(jetstream::Message),
    /// The open request is over (expired, complete, or ended by a status
    /// such as a moved leader or the byte limit): ask again.
    Ended(StatusCode),
    /// Nothing within the wait; the request is still open.
    Idle,
    /// Nothing, and the request's server is past its expiry: presumed lost.
    Lost,
    /// The subscription ended (the client is closing).
    Closed,
}

impl Puller {
    pub(super) async fn open(
        js: Context,
        client: &async_nats::Client,
        batch: usize,
        max_bytes: usize,
    ) -> Result<Self, async_nats::SubscribeError> {
        let inbox = Subject::from(client.new_inbox());
        let sub = client.subscribe(inbox.clone()).await?;
        Ok(Self {
            js,
            inbox,
            sub,
            batch,
            max_bytes,
            open_until: None,
            remaining: 0,
        })
    }

    pub(super) fn is_open(&self) -> bool {
        self.open_until.is_some()
    }

    /// How long until the open request can bring nothing more.
    pub(super) fn time_left(&self) -> Duration {
        self.open_until
            .map(|u| (u + EXPIRY_MARGIN).saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    pub(super) async fn request(
        &mut self,
        consumer: &PullConsumer,
    ) -> Result<(), async_nats::jetstream::consumer::pull::BatchRequestError> {
        let config = BatchConfig {
            batch: self.batch,
            max_bytes: self.max_bytes,
            expires: Some(PULL_EXPIRES),
            ..BatchConfig::default()
        };
        consumer.request_batch(config, self.inbox.clone()).await?;
        self.open_until = Some(Instant::now() + PULL_EXPIRES);
        self.remaining = self.batch;
        Ok(())
    }

    /// Waits at most `wait` for what the server sends next.
    pub(super) async fn next(&mut self, wait: Duration) -> Next {
        let m = match tokio::time::timeout(wait, self.sub.next()).await {
            Ok(Some(m)) => m,
            Ok(None) => return Next::Closed,
            Err(_) if self.is_open() && self.time_left().is_zero() => {
                self.open_until = None;
                return Next::Lost;
            }
            Err(_) => return Next::Idle,
        };
        match m.status {
            None | Some(StatusCode::OK) => {
                self.remaining = self.remaining.saturating_sub(1);
                if self.remaining == 0 {
                    self.open_until = None;
                }
                Next::Message(jetstream::Message {
                    message: m,
                    context: self.js.clone(),
                })
            }
            Some(StatusCode::IDLE_HEARTBEAT) => Next::Idle,
            Some(status) => {
                // A late notice of an earlier request may end the open one
                // early; the next request then overlaps it, harmlessly: both
                // are answered here.
                self.open_until = None;
                if status != StatusCode::TIMEOUT {
                    tracing::debug!(%status, description = ?m.description, "pull request ended");
                }
                Next::Ended(status)
            }
        }
    }
}
