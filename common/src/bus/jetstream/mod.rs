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

mod assets;
mod connect;
mod consume;
mod counts;
mod live;
mod publish;
mod pull;
mod read;
mod registry;

pub use connect::{parse_servers, redact, NatsAuth, NatsConnect, NatsTls};
pub use read::{CaptureReader, ReadError};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, object_store};
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{BusBackend, BusError, CommittedHere, Parts, PathRegistry};
use crate::capture::Capture;
use crate::path_id::PathId;
use crate::store::Store;

/// Room left in a message for the protocol line and headers (`Nats-Msg-Id`
/// plus whatever the server adds), so a payload that passes the size check
/// is never refused by the server.
const HEADROOM: usize = 4096;
/// How long readiness waits for its JetStream round trip.
const READY_TIMEOUT: Duration = Duration::from_secs(1);
/// Client pings: a server that stops answering two of them is left for
/// another seed.
const PING_INTERVAL: Duration = Duration::from_secs(2);

/// Where and how the JetStream bus keeps captures.
#[derive(Debug, Clone)]
pub struct JetStreamConfig {
    /// The servers (a seed list), credentials and TLS.
    pub nats: NatsConnect,
    /// Stream name; every other name derives from it.
    pub stream: String,
    /// How long captures (and out-of-band bodies) stay in the stream.
    pub max_age: Duration,
    /// Stream size limit in bytes; the oldest captures go first. `None`: no limit.
    pub max_bytes: Option<u64>,
    /// How long `publish` waits for JetStream's acknowledgement.
    pub publish_timeout: Duration,
    /// Replicas of every stream and of the consumer (1 on a single server;
    /// 3 in a cluster). Existing assets are scaled up, never down.
    pub replicas: usize,
}

impl JetStreamConfig {
    /// Defaults: 7 days, no size limit, 5 s publish timeout, 1 replica; `url`
    /// may be a comma-separated seed list.
    pub fn new(url: &str, stream: &str) -> Self {
        Self {
            nats: NatsConnect::url(url),
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

    pub fn counts_bucket(&self) -> String {
        format!("{}_COUNTS", self.stream)
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

    pub(crate) fn max_bytes_i64(&self) -> i64 {
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
    /// Keeps the streams and the consumer in existence; holds the consumer.
    guard: Arc<assets::Guard>,
    bodies: object_store::ObjectStore,
    reader: CaptureReader,
    /// When this process last had a publish acknowledged (ms since `epoch`),
    /// to tell a stalled connection from one slow message.
    last_ack: AtomicU64,
    epoch: std::time::Instant,
    /// Serialises forced reconnects (a frozen server) and spaces them out.
    reconnecting: tokio::sync::Mutex<Option<std::time::Instant>>,
    registry: Arc<registry::Registry>,
    live: Arc<live::LiveHub>,
    parked: AtomicU64,
    committed: CommittedHere,
    /// Stops the background tasks (registry watch, live forwarder) on drop.
    tasks: CancellationToken,
}

/// Connects, creates or updates the stream, buckets and consumer, and loads
/// the path registry before returning.
pub(crate) async fn connect(config: JetStreamConfig) -> Result<Parts, BusError> {
    let bus = JetStreamBus::connect(config).await?;
    Ok(Parts {
        live: bus.live.feed(),
        registry: PathRegistry::new(bus.registry.clone()),
        committed: bus.committed.clone(),
        transport: bus,
    })
}

impl JetStreamBus {
    /// Like [`connect`], returning the concrete type (tests read
    /// [`JetStreamBus::parked_count`] through it).
    pub async fn connect(config: JetStreamConfig) -> Result<Arc<Self>, BusError> {
        let live = Arc::new(live::LiveHub::new());
        let events = live.clone();
        let servers = config
            .nats
            .server_addrs()
            .map_err(|e| BusError::Unavailable(format!("CL_NATS_URL: {e}")))?;
        let client = config
            .nats
            .options()
            .await?
            .name(format!("callback-listener {}", config.stream))
            .connection_timeout(connect::CONNECT_TIMEOUT)
            .request_timeout(Some(config.publish_timeout))
            // A frozen server is noticed within a few seconds, not 20.
            .ping_interval(PING_INTERVAL)
            .max_reconnects(None)
            // Quick first retries, then at most 2 s apart, so a restarted
            // server (or another seed) is found again promptly.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100 * 2u64.pow(attempts.min(5) as u32))
                    .min(Duration::from_secs(2))
            })
            .event_callback(move |event| {
                let events = events.clone();
                async move { events.on_event(&event) }
            })
            .connect(servers)
            .await
            .map_err(|e| config.nats.connect_error(&e))?;
        if client.connection_state() == async_nats::connection::State::Connected {
            metrics::gauge!("cl_nats_connected").set(1.0);
        }
        let js = jetstream::ContextBuilder::new()
            .timeout(config.publish_timeout)
            // Past the in-flight limit a publish waits rather than fails.
            .backpressure_on_inflight(true)
            .build(client.clone());

        let consumer = assets::declare_at_start(&js, &config).await?;
        let guard = assets::Guard::new(consumer);
        let bodies = js
            .get_object_store(config.bodies_bucket())
            .await
            .map_err(|e| unavailable("opening the body object store", e))?;
        let tasks = CancellationToken::new();
        let registry = Arc::new(registry::Registry::open(&js, &config, tasks.clone()).await?);
        live.start(&client, &config, tasks.clone()).await?;
        tokio::spawn(guard.clone().run(js.clone(), config.clone(), tasks.clone()));

        let reader = CaptureReader::new(js.clone(), config.bodies_bucket(), Some(bodies.clone()));
        Ok(Arc::new(Self {
            config,
            client,
            js,
            guard,
            bodies,
            reader,
            last_ack: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
            reconnecting: tokio::sync::Mutex::new(None),
            registry,
            live,
            parked: AtomicU64::new(0),
            committed: CommittedHere::default(),
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

    async fn ready(&self) -> Result<(), BusError> {
        self.connected()?;
        match tokio::time::timeout(READY_TIMEOUT, self.js.get_stream(&self.config.stream)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                self.guard.suspect();
                Err(unavailable("reading stream info", e))
            }
            Err(_) => Err(BusError::Timeout),
        }
    }

    fn parked_count(&self) -> u64 {
        JetStreamBus::parked_count(self)
    }
}

/// An `Unavailable` error saying what was being done; NATS errors carry no
/// payload bytes, so they are safe to log and return.
fn unavailable(doing: &str, e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(format!("{doing}: {e}"))
}
