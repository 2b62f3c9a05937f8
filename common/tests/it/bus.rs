//! Bus conformance: every check runs against the in-process bus (with
//! SQLite) and JetStream (with Postgres, against the real servers).

use std::any::Any;
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use common::bus::JetStreamConfig;
use common::{Bus, Capture, PathId, PathInfo, Store};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::capture;

/// A fresh bus and store, a second bus on the same configuration (another
/// process's view: the same bus for the in-process backend), and whatever
/// must live as long as they do.
pub struct Env {
    pub bus: Bus,
    pub store: Store,
    pub peer: Bus,
    /// JetStream only: the configuration, to reach the stream directly.
    pub jetstream: Option<JetStreamConfig>,
    _guards: Box<dyn Any + Send>,
}

pub async fn memory_sqlite() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .unwrap();
    let bus = Bus::memory();
    Env {
        peer: bus.clone(),
        bus,
        store,
        jetstream: None,
        _guards: Box::new(dir),
    }
}

pub async fn jetstream_postgres() -> Env {
    let db = testkit::TestDb::new().await;
    let stream = testkit::TestStream::new().await;
    let store = Store::connect(&db.url).await.unwrap();
    let config = JetStreamConfig::new(&testkit::nats_url(), &stream.name);
    let bus = Bus::jetstream(config.clone()).await.unwrap();
    let peer = Bus::jetstream(config.clone()).await.unwrap();
    Env {
        bus,
        store,
        peer,
        jetstream: Some(config),
        // Buses first, so nothing still uses the stream when it is deleted.
        _guards: Box::new((db, stream)),
    }
}

/// Runs the writer until the returned token is cancelled.
pub fn spawn_writer(bus: &Bus, store: &Store) -> (CancellationToken, JoinHandle<()>) {
    let stop = CancellationToken::new();
    let (bus, store, token) = (bus.clone(), store.clone(), stop.clone());
    let handle = tokio::spawn(async move { bus.consume(store, token).await.unwrap() });
    (stop, handle)
}

/// Polls `check` until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every capture of `path` in the store, in commit (position) order.
pub async fn stored(store: &Store, path: &str) -> Vec<Capture> {
    let path = PathId::parse(path).unwrap();
    let mut out = Vec::new();
    for (_, s) in store
        .list_positions(Some(&path), 0, i64::MAX, 100_000)
        .await
        .unwrap()
    {
        out.push(store.get_capture(&path, s.id).await.unwrap().unwrap());
    }
    out
}

async fn publish_then_consume_stores_each_capture_once(env: Env) {
    let (stop, writer) = spawn_writer(&env.bus, &env.store);
    let sent: Vec<Capture> = (0..200)
        .map(|i| capture("conf_once", format!("body {i}").as_bytes()))
        .collect();
    // Concurrent publishes, as ingest makes them.
    let results = futures::future::join_all(sent.iter().map(|c| env.bus.publish(c.clone()))).await;
    for r in results {
        r.unwrap();
    }
    let store = env.store.clone();
    eventually(Duration::from_secs(10), "all 200 captures stored", || {
        let store = store.clone();
        async move { stored(&store, "conf_once").await.len() >= 200 }
    })
    .await;
    // Redelivery or late duplicates would show up after a pause.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got = stored(&env.store, "conf_once").await;
    assert_eq!(got.len(), 200, "each capture exactly once");
    got.sort_by_key(|c| c.id);
    let mut want = sent;
    want.sort_by_key(|c| c.id);
    assert_eq!(got, want, "stored byte for byte");
    stop.cancel();
    writer.await.unwrap();
}

async fn live_receivers_hear_each_commit_once_in_position_order(env: Env) {
    let mut live = env.peer.live().subscribe();
    let (stop, writer) = spawn_writer(&env.bus, &env.store);
    let sent: Vec<Capture> = (0..50).map(|_| capture("conf_live", b"{}")).collect();
    let results = futures::future::join_all(sent.iter().map(|c| env.bus.publish(c.clone()))).await;
    for r in results {
        r.unwrap();
    }
    let mut heard = Vec::new();
    let mut last = None;
    while heard.len() < sent.len() {
        let a = tokio::time::timeout(Duration::from_secs(10), live.recv())
            .await
            .expect("a live summary within 10 s")
            .expect("live receiver open");
        // One writer: each announcement follows the one before it.
        if let Some(last) = last {
            assert_eq!(a.prev, last, "announced positions chain");
        }
        assert!(a.position > a.prev);
        last = Some(a.position);
        let summary = &a.summary;
        // Announced only after the commit: the row is already readable.
        let path = summary.path_id.clone();
        assert!(
            env.store
                .get_capture(&path, summary.id)
                .await
                .unwrap()
                .is_some(),
            "announced before commit"
        );
        heard.push(summary.id);
    }
    let unique: HashSet<Uuid> = heard.iter().copied().collect();
    assert_eq!(unique.len(), heard.len(), "each capture announced once");
    let want: HashSet<Uuid> = sent.iter().map(|c| c.id).collect();
    assert_eq!(unique, want);
    stop.cancel();
    writer.await.unwrap();
}

async fn live_batch_is_in_id_order(env: Env) {
    // Publish (newest first) before any writer runs, so the writer finds them
    // all waiting and takes them as one batch.
    let mut sent: Vec<Capture> = (0..20).map(|_| capture("conf_order", b"x")).collect();
    sent.reverse();
    let publishing: Vec<_> = sent
        .iter()
        .map(|c| {
            let (bus, c) = (env.bus.clone(), c.clone());
            tokio::spawn(async move { bus.publish(c).await.unwrap() })
        })
        .collect();
    let mut publishing = Some(publishing);
    if env.jetstream.is_some() {
        // Acknowledged means in the stream: all 20 wait for the writer.
        for p in publishing.take().unwrap() {
            p.await.unwrap();
        }
    } else {
        // In-process, a publish returns only after the commit, so there is
        // nothing to await before the writer runs: give the 20 tasks time
        // to queue (the batch check below fails if they did not).
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut live = env.peer.live().subscribe();
    let (stop, writer) = spawn_writer(&env.bus, &env.store);
    for p in publishing.into_iter().flatten() {
        p.await.unwrap();
    }
    let mut heard = Vec::new();
    while heard.len() < sent.len() {
        let s = tokio::time::timeout(Duration::from_secs(10), live.recv())
            .await
            .expect("a live summary within 10 s")
            .expect("live receiver open");
        assert_eq!(s.position, s.prev + 1, "one batch: consecutive positions");
        heard.push(s.summary.id);
    }
    let mut want: Vec<Uuid> = sent.iter().map(|c| c.id).collect();
    want.sort();
    assert_eq!(heard, want, "one batch, announced in id order");
    stop.cancel();
    writer.await.unwrap();
}

async fn registry_changes_reach_every_process(env: Env) {
    let a = PathInfo::new(PathId::parse("conf_reg_a").unwrap());
    let b = PathInfo::new(PathId::parse("conf_reg_b").unwrap());
    let c = PathInfo::new(PathId::parse("conf_reg_c").unwrap());
    env.bus.registry().put(&a).await.unwrap();
    env.bus.registry().put(&b).await.unwrap();
    let peer = env.peer.registry().table();
    eventually(Duration::from_secs(1), "puts reach the peer", || {
        let ok = peer.get(&a.path_id).as_deref() == Some(&a) && peer.get(&b.path_id).is_some();
        async move { ok }
    })
    .await;

    env.bus.registry().remove(&a.path_id).await.unwrap();
    eventually(Duration::from_secs(1), "remove reaches the peer", || {
        let ok = peer.get(&a.path_id).is_none();
        async move { ok }
    })
    .await;

    env.bus.registry().put(&c).await.unwrap();
    env.bus.registry().remove(&b.path_id).await.unwrap();
    eventually(
        Duration::from_secs(1),
        "later changes reach the peer",
        || {
            let ok = peer.get(&b.path_id).is_none() && peer.get(&c.path_id).as_deref() == Some(&c);
            async move { ok }
        },
    )
    .await;
    assert_eq!(env.bus.registry().table().len(), 1);
}

/// Response-rule counters: every increment from either process is counted
/// exactly once (no two callers see the same number), keys are apart.
async fn sequence_counters_are_exact_across_processes(env: Env) {
    let key = format!("p{}.rev.rule0", Uuid::now_v7().simple());
    let other = format!("p{}.rev.path", Uuid::now_v7().simple());
    let mut calls = Vec::new();
    for i in 0..40 {
        let bus = if i % 2 == 0 {
            env.bus.clone()
        } else {
            env.peer.clone()
        };
        let key = key.clone();
        calls.push(tokio::spawn(async move {
            bus.registry().next_count(&key).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for c in calls {
        seen.push(c.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=40).collect::<Vec<u64>>());
    assert_eq!(env.peer.registry().next_count(&other).await.unwrap(), 1);
    assert_eq!(env.bus.registry().next_count(&key).await.unwrap(), 41);
}

async fn ready_is_ok(env: Env) {
    env.bus.ready().await.unwrap();
    env.peer.ready().await.unwrap();
}

#[macro_export]
macro_rules! conformance {
    ($backend:ident: $($check:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::$backend().await).await;
                }
            )*
        }
    };
}

#[macro_export]
macro_rules! both {
    ($($check:ident),* $(,)?) => {
        $crate::conformance!(memory_sqlite: $($check),*);
        $crate::conformance!(jetstream_postgres: $($check),*);
    };
}

both!(
    publish_then_consume_stores_each_capture_once,
    live_receivers_hear_each_commit_once_in_position_order,
    live_batch_is_in_id_order,
    registry_changes_reach_every_process,
    sequence_counters_are_exact_across_processes,
    ready_is_ok,
);
