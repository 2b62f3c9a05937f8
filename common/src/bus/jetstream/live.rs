//! The live feed: every bus instance hears the summaries that any writer
//! announces on the core subject `{prefix}_live` and fans them out to its
//! local receivers.
//!
//! Core NATS drops messages while disconnected, so a receiver must never
//! believe it saw everything across a reconnect: on every connection change
//! the broadcast sender is replaced, which ends existing receivers (they see
//! `Closed`); SSE clients then resume from the store with `Last-Event-ID`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_nats::Event;
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::{unavailable, JetStreamConfig};
use crate::bus::{Announced, BusError, LiveFeed};

/// One live message (docs/STREAM_FORMAT.md): a committed batch, or part of
/// one, as the position before it and its items in position order.
#[derive(serde::Deserialize)]
struct LiveMessage {
    prev: i64,
    items: Vec<Announced>,
}

pub(super) struct LiveHub {
    feed: LiveFeed,
    /// Set between a disconnect and the next connect, so the first connect
    /// (which may be reported after receivers exist) ends nobody.
    disconnected: AtomicBool,
}

impl LiveHub {
    pub(super) fn new() -> Self {
        Self {
            feed: LiveFeed::default(),
            disconnected: AtomicBool::new(false),
        }
    }

    pub(super) fn feed(&self) -> LiveFeed {
        self.feed.clone()
    }

    /// Called by the NATS client on connection events: ends live receivers
    /// after a gap, and keeps `cl_nats_connected` / `cl_nats_reconnects_total`.
    pub(super) fn on_event(&self, event: &Event) {
        match event {
            Event::Disconnected | Event::Closed => {
                metrics::gauge!("cl_nats_connected").set(0.0);
                self.disconnected.store(true, Ordering::SeqCst);
                tracing::warn!(%event, "NATS connection lost; ending live receivers");
                self.feed.restart();
            }
            Event::Connected => {
                metrics::gauge!("cl_nats_connected").set(1.0);
                // Receivers that subscribed while disconnected missed messages too.
                if self.disconnected.swap(false, Ordering::SeqCst) {
                    metrics::counter!("cl_nats_reconnects_total").increment(1);
                    tracing::info!(%event, "NATS connection back; ending live receivers");
                    self.feed.restart();
                }
            }
            Event::SlowConsumer(_) => {
                // A dropped live message is a gap: end receivers so they resume.
                tracing::warn!(%event, "NATS reports a slow consumer; ending live receivers");
                self.feed.restart();
            }
            _ => tracing::debug!(%event, "NATS event"),
        }
    }

    /// Subscribes to the live subject and forwards until `stop` fires.
    pub(super) async fn start(
        self: &Arc<Self>,
        client: &async_nats::Client,
        config: &JetStreamConfig,
        stop: CancellationToken,
    ) -> Result<(), BusError> {
        let mut sub = client
            .subscribe(config.live_subject())
            .await
            .map_err(|e| unavailable("subscribing to the live subject", e))?;
        let hub = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    m = sub.next() => m,
                    () = stop.cancelled() => None,
                };
                let (Some(message), Some(hub)) = (message, hub.upgrade()) else {
                    break;
                };
                match serde_json::from_slice::<LiveMessage>(&message.payload) {
                    Ok(batch) => {
                        let mut prev = batch.prev;
                        for mut a in batch.items {
                            a.prev = prev;
                            prev = a.position;
                            hub.feed.announce(a);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "ignoring a malformed live message"),
                }
            }
        });
        Ok(())
    }
}
