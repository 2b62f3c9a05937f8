//! The bus of the split shape, over NATS JetStream.
//!
//! One stream per deployment (default `CAPTURES`) and everything else named
//! after it, so test streams with unique names never overlap:
//!
//! | what | name |
//! | --- | --- |
//! | capture subjects | `{prefix}.<path_id>` (prefix = stream name lower-cased) |
//! | durable pull consumer | `{stream}_writer` |
//! | path registry (KV) | `{stream}_PATHS` |
//! | out-of-band bodies (object store) | `{stream}_BODIES` |
//! | live summaries (core NATS) | `{prefix}_live` |
//! | parked poison messages | stream `{stream}_PARKED`, subjects `{prefix}_parked.<reason>` |
//!
//! The wire format is documented in docs/STREAM_FORMAT.md.

mod consume;
mod live;
mod publish;
mod registry;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, consumer, object_store, stream};
use async_trait::async_trait;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{BusBackend, BusError};
use crate::bus::Announced;
use crate::capture::Capture;
use crate::path_id::PathId;
use crate::paths::{PathInfo, PathTable};
use crate::store::Store;

/// How long the consumer may hold a message before JetStream redelivers it.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// Unacknowledged messages the durable consumer allows in flight (across all
/// query processes); large, so batches pipeline.
const MAX_ACK_PENDING: i64 = 20_000;
/// Room left in a message for the protocol line and headers (`Nats-Msg-Id`
/// plus whatever the server adds), so a payload that passes the size check
/// is never refused by the server.
const HEADROOM: usize = 4096;
/// How long readiness waits for its JetStream round trip.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Where and how the JetStream bus keeps captures.
#[derive(Debug, Clone)]
pub struct JetStreamConfig {
    /// NATS server URL (several may be given, comma-separated).
    pub url: String,
    /// Stream name; every other name derives from it.
    pub stream: String,
    /// How long captures (and out-of-band bodies) stay in the stream.
    pub max_age: Duration,
    /// Stream size limit in bytes; the oldest captures go first. `None`: no limit.
    pub max_bytes: Option<u64>,
    /// How long `publish` waits for JetStream's acknowledgement.
    pub publish_timeout: Duration,
    /// Stream replicas (1 on a single server; 3 in a cluster).
    pub replicas: usize,
}

impl JetStreamConfig {
    /// Defaults: 7 days, no size limit, 5 s publish timeout, 1 replica.
    pub fn new(url: &str, stream: &str) -> Self {
        Self {
            url: url.to_owned(),
            stream: stream.to_owned(),
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: None,
            publish_timeout: Duration::from_secs(5),
            replicas: 1,
        }
    }

    /// Window in which JetStream drops a repeated `Nats-Msg-Id` (the capture
    /// id). A capture can only be sent twice while ingest still waits for
    /// its ack (the client library resending around a reconnect), so twice
    /// the publish timeout (at least 1 s) covers it; the store's idempotent
    /// insert absorbs anything later. Not longer: the server keeps every id
    /// of the window in memory, and a 2-minute window (5 M ids at 40,000
    /// webhooks/s) showed in the webhook p99 (docs/BENCHMARKS.md).
    pub fn duplicate_window(&self) -> Duration {
        (self.publish_timeout * 2).max(Duration::from_secs(1))
    }

    /// Subject prefix: the stream name lower-cased.
    pub fn prefix(&self) -> String {
        self.stream.to_lowercase()
    }

    /// The subject a capture of `path_id` is published on.
    pub fn subject(&self, path_id: &PathId) -> String {
        format!("{}.{}", self.prefix(), path_id)
    }

    pub fn registry_bucket(&self) -> String {
        format!("{}_PATHS", self.stream)
    }

    pub fn bodies_bucket(&self) -> String {
        format!("{}_BODIES", self.stream)
    }

    pub fn consumer_name(&self) -> String {
        format!("{}_writer", self.stream)
    }

    pub fn live_subject(&self) -> String {
        format!("{}_live", self.prefix())
    }

    pub fn parked_stream(&self) -> String {
        format!("{}_PARKED", self.stream)
    }

    /// The subject a poison message is parked on, `reason` being one token.
    pub fn parked_subject(&self, reason: &str) -> String {
        format!("{}_parked.{reason}", self.prefix())
    }

    fn max_bytes_i64(&self) -> i64 {
        self.max_bytes
            .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX))
    }
}

/// The JetStream bus. Cheap to share: one NATS client, many publishes in
/// flight on it at once.
pub struct JetStreamBus {
    config: JetStreamConfig,
    client: async_nats::Client,
    js: jetstream::Context,
    consumer: consumer::PullConsumer,
    bodies: object_store::ObjectStore,
    registry: registry::Registry,
    live: Arc<live::LiveHub>,
    parked: AtomicU64,
    committed: tokio::sync::broadcast::Sender<Arc<Capture>>,
    /// Stops the background tasks (registry watch, live forwarder) on drop.
    tasks: CancellationToken,
}

/// Connects, creates or updates the stream, buckets and consumer, and loads
/// the path registry before returning.
pub async fn connect(config: JetStreamConfig) -> Result<Arc<dyn BusBackend>, BusError> {
    Ok(JetStreamBus::connect(config).await?)
}

impl JetStreamBus {
    /// Like [`connect`], returning the concrete type (tests read
    /// [`JetStreamBus::parked_count`] through it).
    pub async fn connect(config: JetStreamConfig) -> Result<Arc<Self>, BusError> {
        let live = Arc::new(live::LiveHub::new());
        let events = live.clone();
        let client = async_nats::ConnectOptions::new()
            .name(format!("callback-listener {}", config.stream))
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(config.publish_timeout))
            .ping_interval(Duration::from_secs(10))
            .max_reconnects(None)
            // Quick first retries, then at most 2 s apart, so a restarted
            // server is found again promptly.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100 * 2u64.pow(attempts.min(5) as u32))
                    .min(Duration::from_secs(2))
            })
            .event_callback(move |event| {
                let events = events.clone();
                async move { events.on_event(&event) }
            })
            .connect(config.url.as_str())
            .await
            .map_err(|e| unavailable("connecting to NATS", e))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(config.publish_timeout);

        js.create_or_update_stream(stream::Config {
            name: config.stream.clone(),
            description: Some("CallbackListener captures (docs/STREAM_FORMAT.md)".into()),
            subjects: vec![format!("{}.*", config.prefix())],
            storage: stream::StorageType::File,
            discard: stream::DiscardPolicy::Old,
            duplicate_window: config.duplicate_window(),
            max_age: config.max_age,
            max_bytes: config.max_bytes_i64(),
            num_replicas: config.replicas,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("creating the stream", e))?;
        js.create_or_update_stream(stream::Config {
            name: config.parked_stream(),
            description: Some("CallbackListener messages that could not be decoded".into()),
            subjects: vec![format!("{}_parked.>", config.prefix())],
            storage: stream::StorageType::File,
            discard: stream::DiscardPolicy::Old,
            duplicate_window: config.duplicate_window(),
            max_age: config.max_age,
            num_replicas: config.replicas,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("creating the parked stream", e))?;

        let consumer = js
            .create_consumer_on_stream(
                consumer::pull::Config {
                    durable_name: Some(config.consumer_name()),
                    description: Some("CallbackListener writer (query)".into()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: MAX_ACK_PENDING,
                    ..Default::default()
                },
                config.stream.as_str(),
            )
            .await
            .map_err(|e| unavailable("creating the durable consumer", e))?;

        let bodies = publish::bodies_bucket(&js, &config).await?;
        let tasks = CancellationToken::new();
        let registry = registry::Registry::open(&js, &config, tasks.clone()).await?;
        live.start(&client, &config, tasks.clone()).await?;

        Ok(Arc::new(Self {
            config,
            client,
            js,
            consumer,
            bodies,
            registry,
            live,
            parked: AtomicU64::new(0),
            committed: tokio::sync::broadcast::channel(super::COMMITTED_CAPACITY).0,
            tasks,
        }))
    }

    /// How many undecodable messages this bus has parked since it started.
    pub fn parked_count(&self) -> u64 {
        self.parked.load(Ordering::Relaxed)
    }

    pub fn config(&self) -> &JetStreamConfig {
        &self.config
    }

    fn connected(&self) -> Result<(), BusError> {
        match self.client.connection_state() {
            State::Connected => Ok(()),
            _ => Err(BusError::Unavailable("not connected to NATS".into())),
        }
    }
}

impl Drop for JetStreamBus {
    fn drop(&mut self) {
        self.tasks.cancel();
    }
}

#[async_trait]
impl BusBackend for JetStreamBus {
    async fn publish(&self, capture: Capture) -> Result<(), BusError> {
        self.publish_capture(capture).await
    }

    async fn consume(&self, store: Store, shutdown: CancellationToken) -> Result<(), BusError> {
        self.consume_into(store, shutdown).await
    }

    fn live(&self) -> broadcast::Receiver<Arc<Announced>> {
        self.live.subscribe()
    }

    async fn put_path(&self, path: &PathInfo) -> Result<(), BusError> {
        self.registry.put(path).await
    }

    async fn remove_path(&self, id: &PathId) -> Result<(), BusError> {
        self.registry.remove(id).await
    }

    fn paths(&self) -> PathTable {
        self.registry.table()
    }

    async fn ready(&self) -> Result<(), BusError> {
        self.connected()?;
        match tokio::time::timeout(READY_TIMEOUT, self.js.get_stream(&self.config.stream)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(unavailable("reading stream info", e)),
            Err(_) => Err(BusError::Timeout),
        }
    }

    fn parked_count(&self) -> u64 {
        JetStreamBus::parked_count(self)
    }

    fn committed_here(&self) -> tokio::sync::broadcast::Receiver<Arc<Capture>> {
        self.committed.subscribe()
    }
}

/// An `Unavailable` error saying what was being done; NATS errors carry no
/// payload bytes, so they are safe to log and return.
fn unavailable(doing: &str, e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(format!("{doing}: {e}"))
}
