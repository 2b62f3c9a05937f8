//! JetStream-specific behaviour: out-of-band bodies, dedup, poison parking,
//! shared consumers, and NATS outages (on a private nats-server).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::bus::JetStreamConfig;
use common::{Bus, Capture, Store};
use futures::StreamExt as _;
use tokio::sync::broadcast::error::RecvError;

use crate::bus::{eventually, spawn_writer, stored};
use crate::store::capture;

struct Setup {
    config: JetStreamConfig,
    store: Store,
    _db: testkit::TestDb,
    _stream: testkit::TestStream,
}

async fn setup() -> Setup {
    let db = testkit::TestDb::new().await;
    let stream = testkit::TestStream::new().await;
    let store = Store::connect(&db.url).await.unwrap();
    Setup {
        config: JetStreamConfig::new(&testkit::nats_url(), &stream.name),
        store,
        _db: db,
        _stream: stream,
    }
}

async fn js() -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(testkit::nats_url()).await.unwrap())
}

async fn wait_stored(store: &Store, path: &str, n: usize) {
    let store = store.clone();
    let path = path.to_owned();
    eventually(
        Duration::from_secs(20),
        &format!("{n} captures of {path}"),
        || {
            let (store, path) = (store.clone(), path.clone());
            async move { stored(&store, &path).await.len() >= n }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_of_15_mib_round_trips_byte_exact_through_the_object_store() {
    let s = setup().await;
    let bus = Bus::jetstream(s.config.clone()).await.unwrap();
    let body: Vec<u8> = (0..15u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let c = capture("big_body", &body);
    bus.publish(c.clone()).await.unwrap();

    // The body went out of band: the object exists and the message is small.
    let js = js().await;
    let bodies = js.get_object_store(s.config.bodies_bucket()).await.unwrap();
    let info = bodies.info(c.id.to_string()).await.unwrap();
    assert_eq!(info.size, body.len());
    let mut stream = js.get_stream(&s.config.stream).await.unwrap();
    let state = stream.info().await.unwrap().state.clone();
    assert_eq!(state.messages, 1);
    assert!(state.bytes < 64 << 10, "message carries the body inline");

    let (stop, writer) = spawn_writer(&bus, &s.store);
    wait_stored(&s.store, "big_body", 1).await;
    let got = stored(&s.store, "big_body").await.remove(0);
    assert_eq!(got.body.len(), body.len());
    assert!(got.body[..] == body[..], "body differs");
    assert_eq!(got, c);
    stop.cancel();
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_capture_published_twice_is_one_row() {
    let s = setup().await;
    let bus = Bus::jetstream(s.config.clone()).await.unwrap();
    let c = capture("dup_publish", b"once");
    bus.publish(c.clone()).await.unwrap();
    bus.publish(c.clone()).await.unwrap();
    let mut stream = js().await.get_stream(&s.config.stream).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.state.messages, 1, "deduplicated by Nats-Msg-Id");
    // The window covers a resend while ingest waits for the ack, no more.
    assert_eq!(info.config.duplicate_window, s.config.publish_timeout * 2);

    let (stop, writer) = spawn_writer(&bus, &s.store);
    wait_stored(&s.store, "dup_publish", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored(&s.store, "dup_publish").await, vec![c]);
    stop.cancel();
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_message_is_parked_counted_and_does_not_block() {
    let s = setup().await;
    let bus = Bus::jetstream(s.config.clone()).await.unwrap();
    let js = js().await;
    let garbage = Bytes::from_static(b"\xffnot a capture at all");
    js.publish(format!("{}.poison", s.config.prefix()), garbage.clone())
        .await
        .unwrap()
        .await
        .unwrap();
    let good = capture("after_poison", b"fine");
    bus.publish(good.clone()).await.unwrap();

    let (stop, writer) = spawn_writer(&bus, &s.store);
    wait_stored(&s.store, "after_poison", 1).await;
    let counted = bus.clone();
    eventually(Duration::from_secs(5), "poison counted", || {
        let n = counted.parked_count();
        async move { n == 1 }
    })
    .await;
    assert_eq!(stored(&s.store, "after_poison").await, vec![good]);

    // The raw payload is kept on the parked stream.
    let parked = js.get_stream(s.config.parked_stream()).await.unwrap();
    let msg = parked.get_raw_message(1).await.unwrap();
    assert_eq!(msg.payload, garbage);
    assert!(msg
        .subject
        .starts_with(&format!("{}_parked.", s.config.prefix())));

    // Terminated, not redelivered: the count stays at one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bus.parked_count(), 1);
    stop.cancel();
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_split_1000_captures_without_loss_or_doubles() {
    let s = setup().await;
    let ingest = Bus::jetstream(s.config.clone()).await.unwrap();
    let query_a = Bus::jetstream(s.config.clone()).await.unwrap();
    let query_b = Bus::jetstream(s.config.clone()).await.unwrap();
    let (stop_a, writer_a) = spawn_writer(&query_a, &s.store);
    let (stop_b, writer_b) = spawn_writer(&query_b, &s.store);

    let sent: Vec<Capture> = (0..1000)
        .map(|i| capture("split_work", format!("{i}").as_bytes()))
        .collect();
    let results: Vec<_> = futures::stream::iter(sent.iter().cloned())
        .map(|c| {
            let bus = ingest.clone();
            async move { bus.publish(c).await }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    for r in results {
        r.unwrap();
    }
    wait_stored(&s.store, "split_work", 1000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = stored(&s.store, "split_work").await;
    assert_eq!(got.len(), 1000);
    let ids: HashSet<_> = got.iter().map(|c| c.id).collect();
    assert_eq!(ids, sent.iter().map(|c| c.id).collect());

    stop_a.cancel();
    stop_b.cancel();
    writer_a.await.unwrap();
    writer_b.await.unwrap();
    // Nothing left unacknowledged on the shared consumer.
    let js = js().await;
    let stream = js.get_stream(&s.config.stream).await.unwrap();
    let info = stream
        .consumer_info(s.config.consumer_name())
        .await
        .unwrap();
    assert_eq!(info.num_pending, 0);
    assert_eq!(info.num_ack_pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_fails_publish_promptly_and_the_bus_recovers_after_restart() {
    let mut server = testkit::NatsServer::start().await;
    let db = testkit::TestDb::new().await;
    let store = Store::connect(&db.url).await.unwrap();
    let mut config = JetStreamConfig::new(&server.url(), "OUTAGE");
    config.publish_timeout = Duration::from_secs(2);
    let bus = Bus::jetstream(config).await.unwrap();
    let (stop, writer) = spawn_writer(&bus, &store);

    let before = capture("outage", b"before");
    bus.publish(before.clone()).await.unwrap();
    wait_stored(&store, "outage", 1).await;
    let mut live = bus.live().subscribe();

    server.kill();
    let started = Instant::now();
    let down = bus.publish(capture("outage", b"during")).await;
    assert!(down.is_err(), "publish must fail while NATS is down");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "publish took {:?} to fail",
        started.elapsed()
    );
    assert!(bus.ready().await.is_err());
    // Live receivers are ended, so SSE clients resume from the store.
    let closed = tokio::time::timeout(Duration::from_secs(5), live.recv()).await;
    assert!(matches!(closed, Ok(Err(RecvError::Closed))), "{closed:?}");

    server.restart().await;
    let after = capture("outage", b"after");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match bus.publish(after.clone()).await {
            Ok(()) => break,
            Err(e) => {
                assert!(Instant::now() < deadline, "publish still failing: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    bus.ready().await.unwrap();
    // The consumer resumes too, and the capture published before is intact.
    wait_stored(&store, "outage", 2).await;
    let bodies: HashSet<Bytes> = stored(&store, "outage")
        .await
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert!(bodies.contains(&before.body) && bodies.contains(&after.body));
    stop.cancel();
    writer.await.unwrap();
}
