//! The JetStream bus on a 3-node nats-server cluster (private processes on
//! loopback): replicas scaled up and never down, a leader killed under
//! publishes, assets that disappear under a running bus.

use std::time::Duration;

use async_nats::jetstream;
use common::bus::jetstream::JetStreamBus;
use common::bus::JetStreamConfig;
use common::{Bus, Store};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bus::{eventually, stored};
use crate::store::capture;

/// A writer that starts consuming again after a failure, as the query
/// role's does (a consumer or stream gone, a leader moving).
fn spawn_writer(bus: &Bus, store: &Store) -> (CancellationToken, JoinHandle<()>) {
    let stop = CancellationToken::new();
    let (bus, store, token) = (bus.clone(), store.clone(), stop.clone());
    let handle = tokio::spawn(async move {
        while let Err(e) = bus.consume(store.clone(), token.clone()).await {
            eprintln!("writer: {e}; consuming again");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = token.cancelled() => return,
            }
        }
    });
    (stop, handle)
}

fn config(seeds: &str, stream: &str, replicas: usize) -> JetStreamConfig {
    JetStreamConfig {
        replicas,
        ..JetStreamConfig::new(seeds, stream)
    }
}

fn assets(stream: &str) -> [String; 5] {
    [
        stream.to_owned(),
        format!("{stream}_PARKED"),
        format!("KV_{stream}_PATHS"),
        format!("KV_{stream}_COUNTS"),
        format!("OBJ_{stream}_BODIES"),
    ]
}

async fn context(seeds: &str) -> jetstream::Context {
    let servers = common::bus::jetstream::parse_servers(seeds).unwrap();
    jetstream::new(async_nats::connect(servers).await.expect("connect"))
}

/// Kills the node that leads `stream` (`kill -9`: no goodbye to the others).
async fn kill_leader(cluster: &mut testkit::NatsCluster, js: &jetstream::Context, stream: &str) {
    let leader = js
        .get_stream(stream)
        .await
        .unwrap()
        .cached_info()
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .unwrap_or_else(|| panic!("{stream} has a leader"));
    let victim = cluster
        .nodes
        .iter()
        .position(|n| n.name == leader)
        .expect("leader is one of ours");
    cluster.nodes[victim].kill();
}

async fn replicas_of(js: &jetstream::Context, stream: &str) -> usize {
    js.get_stream(stream)
        .await
        .unwrap_or_else(|e| panic!("stream {stream}: {e}"))
        .cached_info()
        .config
        .num_replicas
}

async fn consumer_replicas(js: &jetstream::Context, stream: &str) -> usize {
    let mut consumer: jetstream::consumer::PullConsumer = js
        .get_consumer_from_stream(format!("{stream}_writer"), stream)
        .await
        .expect("consumer");
    let info = consumer.info().await.expect("consumer info");
    // Peers besides the leader, plus the leader.
    info.cluster.as_ref().map_or(1, |c| c.replicas.len() + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_created_r1_by_an_older_version_is_scaled_to_r3_at_start() {
    let cluster = testkit::NatsCluster::start().await;
    let stream = testkit::unique("R_").to_uppercase();
    // What an older version created: everything with one replica.
    drop(
        JetStreamBus::connect(config(&cluster.seeds(), &stream, 1))
            .await
            .unwrap(),
    );
    let js = context(&cluster.nodes[0].url()).await;
    for name in assets(&stream) {
        assert_eq!(replicas_of(&js, &name).await, 1, "{name} before");
    }

    let _bus = JetStreamBus::connect(config(&cluster.seeds(), &stream, 3))
        .await
        .unwrap();
    for name in assets(&stream) {
        assert_eq!(replicas_of(&js, &name).await, 3, "{name} after");
    }
    eventually(Duration::from_secs(20), "the consumer on 3 peers", || {
        let js = js.clone();
        let stream = stream.clone();
        async move { consumer_replicas(&js, &stream).await == 3 }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_with_more_replicas_than_asked_is_left_as_it_is() {
    let cluster = testkit::NatsCluster::start().await;
    let stream = testkit::unique("R_").to_uppercase();
    drop(
        JetStreamBus::connect(config(&cluster.seeds(), &stream, 3))
            .await
            .unwrap(),
    );
    let _bus = JetStreamBus::connect(config(&cluster.seeds(), &stream, 1))
        .await
        .unwrap();
    let js = context(&cluster.nodes[1].url()).await;
    for name in assets(&stream) {
        assert_eq!(replicas_of(&js, &name).await, 3, "{name} was lowered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_through_a_killed_stream_leader_all_succeed_and_are_stored_once() {
    let mut cluster = testkit::NatsCluster::start().await;
    let stream = testkit::unique("R_").to_uppercase();
    let db = testkit::TestDb::new().await;
    let store = Store::connect(&db.url).await.unwrap();
    // The CLI's default with replicas: a leader election takes 5-9 s.
    let r3 = JetStreamConfig {
        publish_timeout: Duration::from_secs(15),
        ..config(&cluster.seeds(), &stream, 3)
    };
    let bus = Bus::jetstream(r3).await.unwrap();
    let js = context(&cluster.seeds()).await;
    kill_leader(&mut cluster, &js, &stream).await;

    // Every publish must be made durable within the publish timeout while
    // the cluster elects a new leader (and our client perhaps reconnects).
    let sent: Vec<_> = (0..40).map(|_| capture("failover", b"{}")).collect();
    let publishes = sent.iter().cloned().map(|c| {
        let bus = bus.clone();
        async move { bus.publish(c).await }
    });
    for (i, result) in futures::future::join_all(publishes)
        .await
        .into_iter()
        .enumerate()
    {
        assert!(
            result.is_ok(),
            "publish {i} failed during the failover: {result:?}"
        );
    }

    let (stop, writer) = spawn_writer(&bus, &store);
    eventually(Duration::from_secs(30), "all 40 stored", || {
        let store = store.clone();
        async move { stored(&store, "failover").await.len() >= 40 }
    })
    .await;
    let rows = stored(&store, "failover").await;
    assert_eq!(rows.len(), 40, "stored once each");
    stop.cancel();
    writer.await.unwrap();
}

/// Response-rule counters through the loss of their stream's leader: every
/// increment that answers gets a number no other got, in order; one whose
/// answer was lost in the failover may have counted (the sender got a 503
/// and retried), so the count is exact up to those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_counters_stay_exact_through_a_killed_leader() {
    let mut cluster = testkit::NatsCluster::start().await;
    let stream = testkit::unique("R_").to_uppercase();
    let bus = Bus::jetstream(config(&cluster.seeds(), &stream, 3))
        .await
        .unwrap();
    let peer = Bus::jetstream(config(&cluster.seeds(), &stream, 3))
        .await
        .unwrap();
    let key = "p.rev.rule0";
    let mut got = Vec::new();
    for i in 0..10 {
        let b = if i % 2 == 0 { &bus } else { &peer };
        got.push(b.registry().next_count(key).await.unwrap());
    }
    let js = context(&cluster.seeds()).await;
    kill_leader(&mut cluster, &js, &format!("KV_{stream}_COUNTS")).await;
    let mut failed = 0u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.len() < 20 {
        let b = if got.len() % 2 == 0 { &bus } else { &peer };
        match b.registry().next_count(key).await {
            Ok(n) => got.push(n),
            Err(_) => {
                // What a sender does with the 503 it got.
                failed += 1;
                assert!(tokio::time::Instant::now() < deadline, "no new leader");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    assert_eq!(&got[..10], &(1..=10).collect::<Vec<u64>>()[..]);
    let last = *got.last().unwrap();
    assert!(
        last >= 20 && last <= 20 + failed,
        "{last} after 20 answered and {failed} failed increments: {got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_stream_and_consumer_are_declared_again_without_a_restart() {
    let server = testkit::NatsServer::start().await;
    let stream = testkit::unique("R_").to_uppercase();
    let db = testkit::TestDb::new().await;
    let store = Store::connect(&db.url).await.unwrap();
    let bus = Bus::jetstream(config(&server.url(), &stream, 1))
        .await
        .unwrap();
    let (stop, writer) = spawn_writer(&bus, &store);
    bus.publish(capture("repair", b"before")).await.unwrap();

    // An operator deletes everything under the running service.
    let js = context(&server.url()).await;
    for name in assets(&stream) {
        js.delete_stream(&name).await.unwrap();
    }
    // The first publishes find no stream; they are retried while the
    // stream is declared again, within the publish timeout.
    bus.publish(capture("repair", b"after")).await.unwrap();
    // The capture stream comes back first (the publish above needs only
    // it); the rest follow in the same repair.
    for name in assets(&stream) {
        eventually(
            Duration::from_secs(10),
            &format!("{name} declared again"),
            || {
                let js = js.clone();
                let name = name.clone();
                async move { js.get_stream(&name).await.is_ok() }
            },
        )
        .await;
    }
    eventually(
        Duration::from_secs(30),
        "the capture after the repair stored",
        || {
            let store = store.clone();
            async move {
                stored(&store, "repair")
                    .await
                    .iter()
                    .any(|c| c.body.as_ref() == b"after")
            }
        },
    )
    .await;
    stop.cancel();
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_processes_declaring_r3_at_once_on_a_fresh_cluster_all_start() {
    let cluster = testkit::NatsCluster::start().await;
    let stream = testkit::unique("R_").to_uppercase();
    // A deployment's pods start together: every one declares the assets.
    let starts = (0..4).map(|_| JetStreamBus::connect(config(&cluster.seeds(), &stream, 3)));
    for (i, bus) in futures::future::join_all(starts)
        .await
        .into_iter()
        .enumerate()
    {
        assert!(bus.is_ok(), "process {i} did not start: {:?}", bus.err());
    }
    let js = context(&cluster.seeds()).await;
    for name in assets(&stream) {
        assert_eq!(replicas_of(&js, &name).await, 3, "{name}");
    }
}
