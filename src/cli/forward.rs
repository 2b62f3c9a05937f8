//! `forward`: follows `GET /api/paths/{id}/stream` of any CallbackListener
//! server and re-sends each capture, in order, to a local target.
//!
//! Nothing missed, nothing doubled: the last capture id *delivered* (the
//! target answered, whatever the status) is remembered, and every reconnect
//! (with backoff) sends it as `Last-Event-ID`, so the server replays exactly
//! what came after. A capture the target could not be reached for is retried,
//! with backoff, before the next one is sent.

use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use bytes::Bytes;
use common::capture::CaptureDetail;
use common::retry::Delays;
use common::{Capture, Header, PathId};
use eventsource_stream::Eventsource as _;
use futures::StreamExt;
use query::replay::Target;
use tokio_util::sync::CancellationToken;

use super::ForwardArgs;

/// The server sends a keep-alive comment every 15 s; silence for longer
/// than this means the connection is dead.
const IDLE: Duration = Duration::from_secs(45);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

fn fresh_delays() -> Delays {
    common::retry::delays(Duration::from_millis(250), MAX_BACKOFF)
}

/// Runs the subcommand until Ctrl-C.
pub async fn main(args: ForwardArgs) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    run(args, cancel).await
}

struct Forwarder {
    args: ForwardArgs,
    api: reqwest::Client,
    target: Target,
    /// The last capture delivered to the target.
    last: Option<String>,
}

/// Forwards until `cancel` fires.
pub async fn run(args: ForwardArgs, cancel: CancellationToken) -> anyhow::Result<()> {
    PathId::parse(&args.path).map_err(|e| anyhow::anyhow!("--path: {e}"))?;
    let target = super::target(&args.to, &args.headers, &args.signing)?;
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &args.token {
        headers.insert("authorization", format!("Bearer {token}").parse()?);
    }
    if let Some(token) = &args.read_token {
        headers.insert("x-read-token", token.parse()?);
    }
    let api = reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let mut me = Forwarder {
        last: args.last_event_id.clone(),
        args,
        api,
        target,
    };
    let mut delays = fresh_delays();
    while !cancel.is_cancelled() {
        let result = me.follow(&cancel, &mut delays).await;
        let backoff = delays.next_delay();
        match result {
            Ok(()) => eprintln!("feed closed by the server; reconnecting"),
            Err(e) => eprintln!("feed lost ({e:#}); reconnecting in {backoff:?}"),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = cancel.cancelled() => break,
        }
    }
    Ok(())
}

impl Forwarder {
    fn url(&self, rest: &str) -> String {
        format!(
            "{}/api/paths/{}{rest}",
            self.args.server.trim_end_matches('/'),
            self.args.path
        )
    }

    /// One connection to the feed; returns when it ends.
    async fn follow(
        &mut self,
        cancel: &CancellationToken,
        delays: &mut Delays,
    ) -> anyhow::Result<()> {
        let mut request = self
            .api
            .get(self.url("/stream"))
            .header("accept", "text/event-stream");
        if let Some(last) = &self.last {
            request = request.header("last-event-id", last);
        }
        let response = request.send().await.context("connecting to the feed")?;
        anyhow::ensure!(
            response.status().is_success(),
            "the feed answered {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        eprintln!("following {}", self.url("/stream"));
        *delays = fresh_delays();
        // SSE framing by a kept parser (comments, CRLF, multi-line data).
        let mut events = response.bytes_stream().eventsource();
        loop {
            let event = tokio::select! {
                e = tokio::time::timeout(IDLE, events.next()) => e.context("the feed went silent")?,
                () = cancel.cancelled() => return Ok(()),
            };
            let Some(event) = event else { return Ok(()) };
            let event = event.context("reading the feed")?;
            // `request` events name a capture; others (and comments) do not.
            if event.event != "request" || event.id.is_empty() {
                continue;
            }
            self.deliver(&event.id, cancel).await?;
            if cancel.is_cancelled() {
                return Ok(());
            }
            self.last = Some(event.id);
        }
    }

    /// Fetches the capture and sends it until the target answers.
    async fn deliver(&self, id: &str, cancel: &CancellationToken) -> anyhow::Result<()> {
        let response = self
            .api
            .get(self.url(&format!("/logs/{id}")))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .context("fetching the capture")?;
        anyhow::ensure!(
            response.status().is_success(),
            "fetching capture {id} answered {}",
            response.status()
        );
        let detail: CaptureDetail = response.json().await.context("reading the capture")?;
        let capture = capture_of(detail)?;
        let mut delays = fresh_delays();
        loop {
            let wait = delays.next_delay();
            let outcome = self.target.send(&capture).await;
            match (outcome.status, outcome.error) {
                (Some(status), _) => {
                    eprintln!(
                        "{} {}{} -> {status} ({:.0} ms)",
                        capture.method,
                        self.target.base(),
                        capture.subpath,
                        outcome.latency_ms
                    );
                    return Ok(());
                }
                (None, error) => {
                    eprintln!(
                        "target unreachable for {id} ({}); retrying in {wait:?}",
                        error.unwrap_or_default()
                    );
                }
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => return Ok(()),
            }
        }
    }
}

/// The capture a detail answer describes, bytes restored.
fn capture_of(d: CaptureDetail) -> anyhow::Result<Capture> {
    let body = match (d.body, d.body_base64) {
        (Some(text), _) => Bytes::from(text),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .context("body_base64")?
            .into(),
        (None, None) => Bytes::new(),
    };
    let headers = d
        .headers
        .into_iter()
        .map(|(name, value)| {
            Ok(Header {
                name,
                value: value.to_bytes().context("header value")?.into(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let header_order = d.header_order;
    let s = d.summary;
    Ok(Capture {
        id: s.id,
        path_id: s.path_id,
        method: s.method,
        subpath: s.subpath,
        query_string: s.query_string,
        headers,
        header_order,
        body,
        ip: s.ip,
        received_at: s.received_at,
        signature: s.signature,
        response: d.response,
    })
}
