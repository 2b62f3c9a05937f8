//! Consuming: batches from the durable pull consumer into the store, acked
//! only after the commit; poison messages parked; summaries announced live.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Message};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::pull::{Next, Puller};
use super::read::ReadError;
use super::{JetStreamBus, HEADROOM};
use crate::bus::{Announced, BusError};
use crate::capture::Capture;
use crate::envelope::DecodeError;
use crate::store::Store;
use crate::trace_context;

/// Most messages per store transaction. With a backlog each commit waits
/// for its WAL flush, so fewer, larger commits drain faster: 500 drained a
/// 200,000 backlog at 4,700 rows/s, 2,000 at 5,700 (docs/BENCHMARKS.md).
const BATCH: usize = 2000;
/// Most message bytes per fetch (out-of-band bodies are not counted: they
/// arrive one by one from the object store).
const BATCH_BYTES: usize = 32 << 20;
/// How long a batch waits for more messages once it has one.
const GATHER: Duration = Duration::from_millis(2);
/// Pause before trying again after NATS trouble (a reconnect, a broken pull).
const TRY_AGAIN: Duration = Duration::from_millis(200);
/// How long the store may be down before JetStream redelivers a batch that
/// could not be committed.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Why a message was parked; the last token of its parked subject.
fn reason(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::NoMetaLine => "no_meta_line",
        DecodeError::Meta(_) => "bad_meta",
        DecodeError::Version(_) => "unknown_version",
        DecodeError::BodySize { .. } => "body_size",
    }
}

impl JetStreamBus {
    /// Pulls on one inbox (see `pull.rs`), one request at a time; each batch
    /// is what arrived within GATHER of its first message. Two stages
    /// overlap: while one batch is committed, the next is pulled, so with a
    /// backlog the database is never idle waiting for NATS. Commits stay in
    /// delivery order, one at a time. On shutdown it stops asking and
    /// handles what the open request still brings, so nothing the server
    /// sent this process waits out `ack_wait`.
    pub(super) async fn consume_into(
        &self,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<(), BusError> {
        let budget = self.batch_bytes();
        let mut puller: Option<Puller> = None;
        // Pulled, not yet committed.
        let mut ready: Option<Vec<Message>> = None;
        loop {
            let stopping = shutdown.is_cancelled();
            let open = puller.as_ref().is_some_and(Puller::is_open);
            if (stopping && !open) || self.connected().is_err() {
                self.commit_ready(&store, &mut ready).await?;
                if stopping {
                    return Ok(());
                }
                // The client reconnects on its own; wait for it here rather
                // than in the caller's (longer) backoff.
                pause(&shutdown).await;
                continue;
            }
            let p = match &mut puller {
                Some(p) => p,
                None => match Puller::open(self.js.clone(), &self.client, BATCH, budget).await {
                    Ok(p) => puller.insert(p),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot subscribe to pull yet; trying again");
                        self.commit_ready(&store, &mut ready).await?;
                        pause(&shutdown).await;
                        continue;
                    }
                },
            };
            if !p.is_open() {
                if let Err(e) = p.request(&self.guard.consumer()).await {
                    // Just reconnected, JetStream not answering yet: soon.
                    tracing::warn!(error = %e, "cannot pull yet; trying again");
                    self.guard.suspect();
                    self.commit_ready(&store, &mut ready).await?;
                    pause(&shutdown).await;
                    continue;
                }
            }
            let (pulled, committed) = tokio::join!(
                self.pull_batch(p, budget),
                self.commit_ready(&store, &mut ready)
            );
            let (batch, closed) = pulled;
            if closed {
                puller = None;
            }
            if let Err(e) = committed {
                nak_all(batch.iter()).await;
                if let Some(p) = &mut puller {
                    give_back(p).await;
                }
                return Err(e);
            }
            if !batch.is_empty() {
                record_delivery(&batch);
                ready = Some(batch);
            }
        }
    }

    /// The next batch from the open request; `true` when the subscription
    /// ended (the puller must be opened again).
    async fn pull_batch(&self, p: &mut Puller, budget: usize) -> (Vec<Message>, bool) {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < BATCH && bytes < budget {
            // The first message may take the request's whole lifetime.
            let wait = if batch.is_empty() {
                p.time_left()
            } else {
                GATHER
            };
            match p.next(wait).await {
                Next::Message(m) => {
                    bytes += m.payload.len();
                    batch.push(m);
                }
                Next::Idle if batch.is_empty() && p.is_open() => continue,
                Next::Idle => break,
                Next::Ended(status) => {
                    if batch.is_empty() && status == async_nats::StatusCode::TIMEOUT {
                        metrics::gauge!("cl_consumer_pending").set(0.0);
                    } else if status != async_nats::StatusCode::TIMEOUT {
                        // A moved leader, a deleted consumer, the byte
                        // limit: have the assets checked in any case.
                        self.guard.suspect();
                    }
                    break;
                }
                Next::Lost => {
                    tracing::warn!("no answer to a pull request; pulling again");
                    self.guard.suspect();
                    break;
                }
                Next::Closed => return (batch, true),
            }
        }
        (batch, false)
    }

    /// Commits the batch pulled last, if any.
    async fn commit_ready(
        &self,
        store: &Store,
        ready: &mut Option<Vec<Message>>,
    ) -> Result<(), BusError> {
        match ready.take() {
            Some(batch) => self.handle(store, batch).await,
            None => Ok(()),
        }
    }

    /// Most message bytes per batch (and per pull request).
    fn batch_bytes(&self) -> usize {
        BATCH_BYTES.max(2 * self.client.server_info().max_payload)
    }

    /// Decodes, commits in one transaction, then acknowledges and announces.
    async fn handle(&self, store: &Store, batch: Vec<Message>) -> Result<(), BusError> {
        let mut captures: Vec<Capture> = Vec::with_capacity(batch.len());
        let mut committed: Vec<Message> = Vec::with_capacity(batch.len());
        // One span per capture, open until its batch is committed, continuing
        // the trace its webhook was received in.
        let mut spans: Vec<tracing::Span> = Vec::with_capacity(batch.len());
        let mut batch = batch.into_iter();
        while let Some(m) = batch.next() {
            let capture = match self.reader.read(&m.payload).await {
                Ok(capture) => capture,
                Err(ReadError::Decode(e)) => {
                    self.park(&m, reason(&e), &e.to_string()).await;
                    continue;
                }
                Err(ReadError::BodyMissing(what)) => {
                    self.park(&m, "body_missing", &what).await;
                    continue;
                }
                Err(ReadError::Transient(e)) => {
                    let rest = batch.as_slice();
                    nak_all(committed.iter().chain([&m]).chain(rest)).await;
                    return Err(e);
                }
            };
            spans.push(trace_context::written_span(
                capture.id,
                trace_context::extract(m.headers.as_ref()),
            ));
            captures.push(capture);
            committed.push(m);
        }
        if captures.is_empty() {
            return Ok(());
        }
        let write = tracing::info_span!("store.insert_batch", batch = captures.len());
        let stored = async {
            store.judge_signatures(&mut captures).await?;
            store.insert_batch(&captures).await
        };
        let positions = match stored.instrument(write).await {
            Ok(positions) => positions,
            Err(e) => {
                tracing::warn!(error = %e, batch = captures.len(), "store insert failed; batch will be redelivered");
                nak_all(committed.iter()).await;
                return Err(e.into());
            }
        };
        // A lost ack only means a redelivery, which the idempotent insert absorbs.
        for m in &committed {
            if let Err(e) = m.ack().await {
                tracing::debug!(error = %e, "ack failed; the message will be redelivered");
            }
        }
        for c in &captures {
            self.committed.committed(c.clone());
        }
        self.announce(Announced::batch(&captures, &positions)).await;
        drop(spans);
        Ok(())
    }

    /// Moves a message that can never be stored out of the way: a raw copy
    /// goes to the parked stream, then the original is terminated so it
    /// stops blocking the consumer. Payload bytes are never logged.
    async fn park(&self, m: &Message, reason: &str, detail: &str) {
        let seq = m.info().map(|i| i.stream_sequence).unwrap_or_default();
        tracing::warn!(
            reason,
            detail,
            subject = %m.subject,
            stream_sequence = seq,
            bytes = m.payload.len(),
            "parking a message that cannot be stored"
        );
        let publish = PublishMessage::build()
            .payload(m.payload.clone())
            .message_id(format!("{}-{seq}", self.config.stream))
            .header("CL-Parked-Reason", reason)
            .header("CL-Original-Subject", m.subject.as_str());
        let parked = match self
            .js
            .send_publish(self.config.parked_subject(reason), publish)
            .await
        {
            Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = parked {
            tracing::error!(error = %e, stream_sequence = seq, "could not park a message; it will be redelivered");
            return;
        }
        self.parked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("cl_messages_parked_total").increment(1);
        if let Err(e) = m.ack_with(AckKind::Term).await {
            tracing::debug!(error = %e, "terminating a parked message failed; it will be parked again");
        }
    }

    /// Publishes what the batch inserted on the live subject, in position
    /// order: one `{"prev":..,"items":[..]}` message per batch (split only
    /// when too large; each part's `prev` is the last position before it).
    async fn announce(&self, announced: Vec<Announced>) {
        let limit = self
            .client
            .server_info()
            .max_payload
            .saturating_sub(HEADROOM);
        let mut chunk: Vec<u8> = Vec::new();
        for a in &announced {
            let json = serde_json::to_vec(a).expect("summary serializes");
            if !chunk.is_empty() && chunk.len() + json.len() + 2 > limit {
                self.send_live(std::mem::take(&mut chunk)).await;
            }
            if chunk.is_empty() {
                chunk.extend_from_slice(format!("{{\"prev\":{},\"items\":[", a.prev).as_bytes());
            } else {
                chunk.push(b',');
            }
            chunk.extend_from_slice(&json);
        }
        if !chunk.is_empty() {
            self.send_live(chunk).await;
        }
    }

    async fn send_live(&self, mut chunk: Vec<u8>) {
        chunk.extend_from_slice(b"]}");
        if let Err(e) = self
            .client
            .publish(self.config.live_subject(), chunk.into())
            .await
        {
            tracing::warn!(error = %e, "could not announce committed captures live");
        }
    }
}

/// Asks for prompt redelivery of messages that could not be committed now.
/// Consumer lag and redeliveries, from the delivery metadata each message
/// carries (no extra round trip to the server).
fn record_delivery(batch: &[Message]) {
    let redelivered = batch
        .iter()
        .filter_map(|m| m.info().ok())
        .filter(|i| i.delivered > 1)
        .count();
    if redelivered > 0 {
        metrics::counter!("cl_messages_redelivered_total").increment(redelivered as u64);
    }
    if let Some(info) = batch.last().and_then(|m| m.info().ok()) {
        metrics::gauge!("cl_consumer_pending").set(info.pending as f64);
    }
}

/// Waits [`TRY_AGAIN`], or less if shutdown comes first.
async fn pause(shutdown: &CancellationToken) {
    tokio::select! {
        () = tokio::time::sleep(TRY_AGAIN) => {}
        () = shutdown.cancelled() => {}
    }
}

/// Naks what the open pull request still brings, while the store is down,
/// so it is redelivered after `RETRY_DELAY` rather than after `ack_wait`.
async fn give_back(p: &mut Puller) {
    while p.is_open() {
        match p.next(p.time_left()).await {
            Next::Message(m) => {
                let _ = m.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await;
            }
            Next::Idle => {}
            Next::Ended(_) | Next::Lost | Next::Closed => return,
        }
    }
}

async fn nak_all<'a>(messages: impl Iterator<Item = &'a Message>) {
    for m in messages {
        let _ = m.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await;
    }
}
