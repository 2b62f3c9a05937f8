//! Every JetStream asset the service creates, declared in one place with the
//! configured replicas: the captures stream, the parked stream, the streams
//! behind the registry and counter buckets and the body object store, and
//! the writer's durable consumer.
//!
//! Declaring is idempotent, so the same code creates them at start and
//! re-creates whatever disappeared under a running service ([`Guard`]): a
//! node replaced by an empty one, an operator deleting a stream.
//!
//! Replicas only go up: an existing asset with fewer than asked is scaled up
//! (a stream created R1 by an older version becomes R3), one with more is
//! left as it is, with a warning, so a misconfigured process never silently
//! takes a cluster's redundancy away.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::jetstream::consumer::{self, PullConsumer};
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::{self, stream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{unavailable, JetStreamConfig};
use crate::bus::BusError;

/// How long the consumer may hold a message before JetStream redelivers it.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// Unacknowledged messages the durable consumer allows in flight (across all
/// query processes); large, so batches pipeline.
const MAX_ACK_PENDING: i64 = 20_000;
/// How often the guard checks, when nothing asked it to look sooner.
const GUARD_INTERVAL: Duration = Duration::from_secs(5);
/// How long start-up keeps trying to declare the assets.
const STARTUP_DECLARE: Duration = Duration::from_secs(60);
/// Least time between two checks, however often publishes ask for one.
const GUARD_MIN_GAP: Duration = Duration::from_millis(500);
/// How long a sequence counter lives after its last increment.
const COUNTS_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

fn captures(config: &JetStreamConfig) -> stream::Config {
    stream::Config {
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
    }
}

fn parked(config: &JetStreamConfig) -> stream::Config {
    stream::Config {
        name: config.parked_stream(),
        description: Some("CallbackListener messages that could not be decoded".into()),
        subjects: vec![format!("{}_parked.>", config.prefix())],
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::Old,
        duplicate_window: config.duplicate_window(),
        max_age: config.max_age,
        num_replicas: config.replicas,
        ..Default::default()
    }
}

/// The registry bucket's stream, declared directly (with the key-value
/// conventions) rather than through `create_key_value`, whose account query
/// does not parse on nats-server 2.9; this also makes it idempotent.
fn registry(config: &JetStreamConfig) -> stream::Config {
    let bucket = config.registry_bucket();
    stream::Config {
        name: format!("KV_{bucket}"),
        description: Some("CallbackListener path registry".into()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        duplicate_window: Duration::from_secs(120),
        num_replicas: config.replicas,
        ..Default::default()
    }
}

/// The response-rule sequence counters' bucket (`counts.rs`): a key-value
/// bucket whose reads go to the leader (no direct gets), and whose counters
/// of rules long replaced age out.
fn counts(config: &JetStreamConfig) -> stream::Config {
    let bucket = config.counts_bucket();
    stream::Config {
        name: format!("KV_{bucket}"),
        description: Some("CallbackListener response-rule sequence counters".into()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age: COUNTS_MAX_AGE,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        discard: stream::DiscardPolicy::New,
        duplicate_window: Duration::from_secs(120),
        num_replicas: config.replicas,
        ..Default::default()
    }
}

/// The body object store's stream, with the object store conventions, so a
/// changed `max_age` is applied to an existing bucket too. Its objects live
/// as long as the captures that name them.
fn bodies(config: &JetStreamConfig) -> stream::Config {
    let bucket = config.bodies_bucket();
    stream::Config {
        name: format!("OBJ_{bucket}"),
        description: Some("CallbackListener bodies too large for one message".into()),
        subjects: vec![format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")],
        max_age: config.max_age,
        storage: stream::StorageType::File,
        num_replicas: config.replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        allow_direct: true,
        ..Default::default()
    }
}

fn writer(config: &JetStreamConfig, replicas: usize) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(config.consumer_name()),
        description: Some("CallbackListener writer (query)".into()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: ACK_WAIT,
        max_ack_pending: MAX_ACK_PENDING,
        // 0 inherits the stream's replicas; explicit only where it matters,
        // so single servers (nats-server 2.9 included) see the old config.
        num_replicas: if replicas > 1 { replicas } else { 0 },
        ..Default::default()
    }
}

/// Creates the stream, or updates an existing one to `wanted` without ever
/// lowering its replicas. Returns the replicas it has afterwards. An
/// existing stream that already has what we set is not updated: every
/// process of a deployment declares at start, and on a fresh cluster
/// concurrent updates of one replicated stream were seen to time out.
async fn declare_stream(
    js: &jetstream::Context,
    mut wanted: stream::Config,
) -> Result<usize, BusError> {
    match js.get_stream(&wanted.name).await {
        Ok(existing) => {
            let current = &existing.cached_info().config;
            let have = current.num_replicas;
            if have > wanted.num_replicas {
                tracing::warn!(
                    stream = %wanted.name,
                    have,
                    asked = wanted.num_replicas,
                    "the stream has more replicas than CL_STREAM_REPLICAS asks; \
                     leaving them (replicas are never lowered)"
                );
                wanted.num_replicas = have;
            } else if have < wanted.num_replicas {
                tracing::info!(stream = %wanted.name, from = have, to = wanted.num_replicas, "scaling the stream's replicas up");
            }
            if !differs(current, &wanted) {
                return Ok(have);
            }
            js.update_stream(&wanted)
                .await
                .map_err(|e| unavailable(&format!("updating the stream {}", wanted.name), e))?;
        }
        Err(e) if stream_missing(&e) => {
            js.create_stream(wanted.clone())
                .await
                .map_err(|e| unavailable(&format!("creating the stream {}", wanted.name), e))?;
        }
        Err(e) => {
            return Err(unavailable(
                &format!("reading the stream {}", wanted.name),
                e,
            ))
        }
    }
    Ok(wanted.num_replicas)
}

/// Whether `current` lacks anything of what we set in `wanted` (the server
/// fills in the fields we leave at their defaults, so those are not compared).
fn differs(current: &stream::Config, wanted: &stream::Config) -> bool {
    current.subjects != wanted.subjects
        || current.description != wanted.description
        || current.num_replicas != wanted.num_replicas
        || current.max_age != wanted.max_age
        || current.max_bytes != wanted.max_bytes
        || current.duplicate_window != wanted.duplicate_window
        || current.discard != wanted.discard
        || current.storage != wanted.storage
        || current.max_messages_per_subject != wanted.max_messages_per_subject
        || current.allow_rollup != wanted.allow_rollup
        || current.deny_delete != wanted.deny_delete
        || current.allow_direct != wanted.allow_direct
}

fn stream_missing(e: &jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// Declares every asset at start, trying again (with backoff) for up to
/// [`STARTUP_DECLARE`]: a cluster still electing its leaders, or several
/// processes declaring at once, answers late or not at all for a while.
pub(super) async fn declare_at_start(
    js: &jetstream::Context,
    config: &JetStreamConfig,
) -> Result<PullConsumer, BusError> {
    let deadline = tokio::time::Instant::now() + STARTUP_DECLARE;
    let mut delays = crate::retry::delays(Duration::from_millis(200), Duration::from_secs(2));
    loop {
        let pause = delays.next_delay();
        match declare_all(js, config).await {
            Ok(consumer) => return Ok(consumer),
            Err(e) if tokio::time::Instant::now() + pause < deadline => {
                tracing::warn!(error = %e, "declaring the JetStream assets failed; trying again");
                tokio::time::sleep(pause).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Declares every asset and returns the writer's consumer.
pub(super) async fn declare_all(
    js: &jetstream::Context,
    config: &JetStreamConfig,
) -> Result<PullConsumer, BusError> {
    let replicas = declare_stream(js, captures(config)).await?;
    declare_stream(js, parked(config)).await?;
    declare_stream(js, registry(config)).await?;
    declare_stream(js, counts(config)).await?;
    declare_stream(js, bodies(config)).await?;
    declare_consumer(js, config, replicas).await
}

async fn declare_consumer(
    js: &jetstream::Context,
    config: &JetStreamConfig,
    replicas: usize,
) -> Result<PullConsumer, BusError> {
    let wanted = writer(config, replicas);
    // As with streams: leave a consumer that already has our settings alone.
    if let Ok(existing) = js
        .get_consumer_from_stream::<consumer::pull::Config, _, _>(
            config.consumer_name(),
            config.stream.as_str(),
        )
        .await
    {
        let have = &existing.cached_info().config;
        if have.ack_wait == wanted.ack_wait
            && have.max_ack_pending == wanted.max_ack_pending
            && have.num_replicas == wanted.num_replicas
            && have.description == wanted.description
        {
            return Ok(existing);
        }
    }
    js.create_consumer_on_stream(wanted, config.stream.as_str())
        .await
        .map_err(|e| unavailable("creating the durable consumer", e))
}

/// Keeps the assets in existence while the bus runs: checks every
/// [`GUARD_INTERVAL`], or as soon as a publish or fetch [`Guard::suspect`]s
/// something is missing, and re-declares what is gone.
pub(super) struct Guard {
    wake: Notify,
    /// The consumer the writer fetches from; replaced when re-created.
    consumer: RwLock<PullConsumer>,
    /// Set once this process's writer fetches: only then does the check
    /// report the consumer's backlog (ingest has none to report).
    consuming: std::sync::atomic::AtomicBool,
}

impl Guard {
    pub(super) fn new(consumer: PullConsumer) -> Arc<Self> {
        Arc::new(Self {
            wake: Notify::new(),
            consumer: RwLock::new(consumer),
            consuming: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Asks for a check now (cheap; repeated calls coalesce).
    pub(super) fn suspect(&self) {
        self.wake.notify_one();
    }

    /// The writer's consumer; marks this process as one that consumes.
    pub(super) fn consumer(&self) -> PullConsumer {
        self.consuming
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.consumer
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs until `stop` fires.
    pub(super) async fn run(
        self: Arc<Self>,
        js: jetstream::Context,
        config: JetStreamConfig,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(GUARD_INTERVAL) => {}
                () = stop.cancelled() => return,
            }
            if let Err(e) = self.check(&js, &config).await {
                tracing::debug!(error = %e, "JetStream asset check failed; trying again later");
            }
            tokio::select! {
                () = tokio::time::sleep(GUARD_MIN_GAP) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    /// Re-declares everything when any asset is reported missing. Other
    /// errors (no leader for a moment, a timeout) are not a reason to
    /// declare anything: the asset is there, the cluster is busy.
    async fn check(
        &self,
        js: &jetstream::Context,
        config: &JetStreamConfig,
    ) -> Result<(), BusError> {
        let mut missing = Vec::new();
        for name in [
            config.stream.clone(),
            config.parked_stream(),
            format!("KV_{}", config.registry_bucket()),
            format!("KV_{}", config.counts_bucket()),
            format!("OBJ_{}", config.bodies_bucket()),
        ] {
            match js.get_stream(&name).await {
                Ok(_) => {}
                Err(e) if stream_missing(&e) => missing.push(name),
                Err(e) => return Err(unavailable("checking the streams", e)),
            }
        }
        if missing.is_empty() {
            let consumer = js
                .get_consumer_from_stream::<consumer::pull::Config, _, _>(
                    config.consumer_name(),
                    config.stream.as_str(),
                )
                .await;
            match consumer {
                Ok(consumer) => {
                    self.report_backlog(consumer.cached_info());
                    return Ok(());
                }
                Err(e) if consumer_missing(&e) => missing.push(config.consumer_name()),
                Err(e) => return Err(unavailable("checking the consumer", e)),
            }
        }
        tracing::warn!(
            ?missing,
            "JetStream assets disappeared; declaring them again"
        );
        metrics::counter!("cl_jetstream_assets_recreated_total").increment(1);
        let consumer = declare_all(js, config).await?;
        *self.consumer.write().unwrap_or_else(|e| e.into_inner()) = consumer;
        Ok(())
    }
}

impl Guard {
    /// The server's view of the writer's consumer, every check.
    fn report_backlog(&self, info: &consumer::Info) {
        if self.consuming.load(std::sync::atomic::Ordering::Relaxed) {
            metrics::gauge!("cl_consumer_pending").set(info.num_pending as f64);
            metrics::gauge!("cl_consumer_ack_pending").set(info.num_ack_pending as f64);
        }
    }
}

fn consumer_missing(e: &jetstream::stream::ConsumerError) -> bool {
    matches!(e.kind(), jetstream::stream::ConsumerErrorKind::JetStream(j) if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND)
}
