//! Publishing: one JetStream message per capture, deduplicated by its id;
//! bodies too large for one message go to the object store first.
//!
//! A publish is retried until the publish timeout: while a stream's leader
//! moves (a node lost, a rolling restart, a frozen server) JetStream answers
//! nothing, "no responders" or "temporarily unavailable" for a moment. Every
//! attempt carries the same `Nats-Msg-Id`, so JetStream drops the copies and
//! a retry never doubles a capture.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::object_store;
use tokio::time::Instant;

use super::{unavailable, JetStreamBus, HEADROOM};
use crate::bus::BusError;
use crate::capture::Capture;
use crate::envelope::{self, BodyRef};
use crate::trace_context;

/// Largest object store chunk: big chunks mean few round trips per body.
const MAX_CHUNK: usize = 1 << 20;
/// Pause before the first retry; doubled up to [`MAX_BACKOFF`] (jittered).
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// Least time between two forced reconnects of one process.
const RECONNECT_GAP: Duration = Duration::from_secs(5);

/// Why one attempt failed.
enum Attempt {
    /// No answer within the attempt's share of the publish timeout.
    TimedOut,
    Publish(PublishError),
    /// The body could not be stored (already a final `BusError`).
    Body(BusError),
}

impl JetStreamBus {
    /// Returns once JetStream acknowledged the capture (a duplicate ack
    /// counts: the capture is already durable). Retries (and waits for a
    /// reconnect) until the publish timeout, and never much longer.
    pub(super) async fn publish_capture(&self, capture: Capture) -> Result<(), BusError> {
        let deadline = Instant::now() + self.config.publish_timeout;
        let mut message: Option<PublishMessage> = None;
        let mut delays = crate::retry::delays(FIRST_BACKOFF, MAX_BACKOFF);
        loop {
            self.wait_connected(deadline).await?;
            let error = match self.attempt(&capture, &mut message, deadline).await {
                Ok(()) => {
                    let now = self.epoch.elapsed().as_millis() as u64;
                    self.last_ack.store(now, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) => e,
            };
            let (reason, retry) = match &error {
                Attempt::TimedOut => ("timeout", true),
                Attempt::Body(_) => ("body", true),
                Attempt::Publish(e) => match e.kind() {
                    PublishErrorKind::StreamNotFound => {
                        // No stream answers the subject: a leader election, or
                        // the stream is gone and must be declared again.
                        self.guard.suspect();
                        ("no_stream", true)
                    }
                    PublishErrorKind::MaxPayloadExceeded => ("too_large", false),
                    _ => ("other", true),
                },
            };
            let backoff = delays.next_delay();
            if !retry || Instant::now() + backoff >= deadline {
                metrics::counter!("cl_publish_errors_total", "kind" => reason).increment(1);
                return Err(match error {
                    Attempt::TimedOut => BusError::Timeout,
                    Attempt::Body(e) => e,
                    Attempt::Publish(e) => publish_error(e),
                });
            }
            metrics::counter!("cl_publish_retries_total", "reason" => reason).increment(1);
            tokio::time::sleep(backoff).await;
        }
    }

    /// One try, bounded by its share of the publish timeout. The message is
    /// prepared by the first try that gets that far and reused by the next
    /// ones (a body is stored out of band, and encoded, once).
    async fn attempt(
        &self,
        capture: &Capture,
        message: &mut Option<PublishMessage>,
        deadline: Instant,
    ) -> Result<(), Attempt> {
        let until = deadline.min(Instant::now() + self.attempt_timeout());
        let message = match message {
            Some(m) => m.clone(),
            None => message.insert(self.prepare(capture, until).await?).clone(),
        };
        let subject = self.config.subject(&capture.path_id);
        let ack = tokio::time::timeout_at(until, self.js.send_publish(subject, message))
            .await
            .map_err(|_| Attempt::TimedOut)?
            .map_err(Attempt::Publish)?;
        match tokio::time::timeout_at(until, ack).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.kind() == PublishErrorKind::TimedOut => {
                self.maybe_stalled().await;
                Err(Attempt::TimedOut)
            }
            Ok(Err(e)) => Err(Attempt::Publish(e)),
            Err(_) => {
                self.maybe_stalled().await;
                Err(Attempt::TimedOut)
            }
        }
    }

    /// The capture as one message: inline when it fits, else with its body
    /// in the object store first. A body that cannot fit is never encoded
    /// inline (a 16 MiB copy for nothing); a meta line that tips a body over
    /// the limit sends it out of band too.
    async fn prepare(&self, capture: &Capture, until: Instant) -> Result<PublishMessage, Attempt> {
        let max_payload = self.client.server_info().max_payload;
        let fits = |len: usize| len + HEADROOM <= max_payload;
        let inline = fits(capture.body.len())
            .then(|| envelope::encode(capture))
            .filter(|payload| fits(payload.len()));
        let payload = match inline {
            Some(payload) => payload,
            None => {
                let body_ref = tokio::time::timeout_at(until, self.put_body(capture, max_payload))
                    .await
                    .map_err(|_| Attempt::TimedOut)?
                    .map_err(Attempt::Body)?;
                envelope::encode_with_ref(capture, &body_ref)
            }
        };
        let mut message = PublishMessage::build();
        // The receiving span's trace continues in the writer (W3C headers).
        if let Some(cx) = trace_context::of_span(&tracing::Span::current()) {
            let mut headers = async_nats::HeaderMap::new();
            trace_context::inject(&cx, &mut headers);
            message = message.headers(headers);
        }
        Ok(message.payload(payload).message_id(capture.id.to_string()))
    }

    /// A quarter of the publish timeout (0.5-2 s): long enough for a slow
    /// ack under load, short enough to leave room for retries.
    fn attempt_timeout(&self) -> Duration {
        (self.config.publish_timeout / 4).clamp(Duration::from_millis(500), Duration::from_secs(2))
    }

    /// Waits for the client's reconnect (it tries every seed) until the
    /// deadline: a reconnect to another node should not cost a 503.
    async fn wait_connected(&self, deadline: Instant) -> Result<(), BusError> {
        while self.client.connection_state() != State::Connected {
            if Instant::now() >= deadline {
                return Err(BusError::Unavailable("not connected to NATS".into()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// After an attempt timed out: when no publish at all was acknowledged
    /// for a whole attempt, the server we are connected to has probably
    /// stopped answering (frozen, partitioned) while the connection still
    /// looks open, and pings would take seconds more to tell; reconnect to
    /// another seed now. Spaced out, so a slow cluster is not made slower.
    async fn maybe_stalled(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        let quiet = now.saturating_sub(self.last_ack.load(Ordering::Relaxed));
        if quiet < self.attempt_timeout().as_millis() as u64 {
            return;
        }
        let Ok(mut last) = self.reconnecting.try_lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < RECONNECT_GAP) {
            return;
        }
        *last = Some(std::time::Instant::now());
        tracing::warn!(
            quiet_ms = quiet,
            "no publish acknowledged lately; reconnecting to NATS"
        );
        metrics::counter!("cl_nats_forced_reconnects_total").increment(1);
        if let Err(e) = self.client.force_reconnect().await {
            tracing::warn!(error = %e, "forced NATS reconnect failed");
        }
    }

    /// Stores the body under the capture id and returns once the object is
    /// durable (every chunk and the object's metadata acknowledged).
    async fn put_body(&self, capture: &Capture, max_payload: usize) -> Result<BodyRef, BusError> {
        let object = capture.id.to_string();
        let meta = object_store::ObjectMetadata {
            name: object.clone(),
            chunk_size: Some(
                max_payload
                    .saturating_sub(HEADROOM)
                    .clamp(64 << 10, MAX_CHUNK),
            ),
            ..Default::default()
        };
        let mut body: &[u8] = &capture.body;
        self.bodies
            .put(meta, &mut body)
            .await
            .map_err(|e| match e.kind() {
                object_store::PutErrorKind::TimedOut => BusError::Timeout,
                _ => unavailable("storing the body", e),
            })?;
        Ok(BodyRef {
            bucket: self.config.bodies_bucket(),
            object,
        })
    }
}

fn publish_error(e: PublishError) -> BusError {
    match e.kind() {
        PublishErrorKind::TimedOut => BusError::Timeout,
        _ => unavailable("publishing the capture", e),
    }
}
