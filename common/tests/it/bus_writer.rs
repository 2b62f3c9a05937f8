//! Bus conformance, the writer's side: `committed_here`, `parked_count` and
//! the drain on a graceful stop, against every backend.

use std::collections::HashSet;
use std::time::Duration;

use common::store::LogQuery;
use common::{Capture, PathId};
use uuid::Uuid;

use crate::bus::{eventually, jetstream_postgres, memory_sqlite, spawn_writer, Env};
use crate::store::capture;

async fn stored_ids(env: &Env, path: &str) -> HashSet<Uuid> {
    let q = LogQuery {
        limit: 1000,
        ..Default::default()
    };
    let path = PathId::parse(path).unwrap();
    env.store
        .list_captures(&path, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// The writing process hears each capture it commits, whole, exactly once;
/// another process (JetStream: a second bus) hears none of them.
async fn committed_here_hears_each_own_commit_once(env: Env) {
    let mut here = env.bus.committed_here().subscribe();
    let mut elsewhere = env.peer.committed_here().subscribe();
    let (stop, writer) = spawn_writer(&env.bus, &env.store);
    let sent: Vec<Capture> = (0..30)
        .map(|_| capture("conf_here", b"{\"a\":1}"))
        .collect();
    for r in futures::future::join_all(sent.iter().map(|c| env.bus.publish(c.clone()))).await {
        r.unwrap();
    }
    let mut heard = Vec::new();
    while heard.len() < sent.len() {
        let c = tokio::time::timeout(Duration::from_secs(10), here.recv())
            .await
            .expect("a committed capture within 10 s")
            .expect("receiver open");
        heard.push((*c).clone());
    }
    heard.sort_by_key(|c| c.id);
    let mut want = sent.clone();
    want.sort_by_key(|c| c.id);
    assert_eq!(heard, want, "whole captures, each once");
    stop.cancel();
    writer.await.unwrap();
    assert!(here.try_recv().is_err(), "nothing heard twice");
    if env.jetstream.is_some() {
        assert!(
            elsewhere.try_recv().is_err(),
            "another process heard commits it did not make"
        );
    }
}

/// Undecodable messages are set aside and counted, and do not hold up the
/// captures behind them. The in-process bus never carries bytes, so it never
/// parks anything.
async fn parked_count_counts_what_cannot_be_stored(env: Env) {
    let (stop, writer) = spawn_writer(&env.bus, &env.store);
    if let Some(config) = &env.jetstream {
        let client = async_nats::connect(testkit::nats_url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let subject = config.subject(&PathId::parse("conf_parked").unwrap());
        for garbage in [&b"no meta line"[..], b"{\"v\":99}\n", b"{not json\nbody"] {
            js.publish(subject.clone(), garbage.to_vec().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    }
    let good = capture("conf_parked", b"fine");
    env.bus.publish(good.clone()).await.unwrap();
    let want = if env.jetstream.is_some() { 3 } else { 0 };
    eventually(Duration::from_secs(10), "the good capture stored", || {
        let env = &env;
        async move { stored_ids(env, "conf_parked").await.contains(&good.id) }
    })
    .await;
    eventually(Duration::from_secs(10), "the garbage parked", || {
        let n = env.bus.parked_count();
        async move { n == want }
    })
    .await;
    stop.cancel();
    writer.await.unwrap();
    assert_eq!(env.bus.parked_count(), want);
}

/// A writer stopped mid-backlog leaves nothing it was handed waiting out a
/// redelivery timeout: every acknowledged capture is stored at once, by the
/// stopped writer's drain or the next writer (JetStream's `ack_wait` is
/// 30 s; this allows 10).
async fn a_stopped_writer_leaves_nothing_behind(env: Env) {
    let sent: Vec<Capture> = (0..900).map(|_| capture("conf_drain", b"{}")).collect();
    let publishing: Vec<_> = sent
        .iter()
        .map(|c| {
            let (bus, c) = (env.bus.clone(), c.clone());
            tokio::spawn(async move { bus.publish(c.clone()).await.map(|()| c.id) })
        })
        .collect();
    let (stop, writer) = spawn_writer(&env.bus, &env.store);
    eventually(
        Duration::from_secs(10),
        "the first writer stores some",
        || {
            let env = &env;
            async move { !stored_ids(env, "conf_drain").await.is_empty() }
        },
    )
    .await;
    stop.cancel();
    writer.await.unwrap();
    // The in-process bus is consumed once per process: its stop commits all
    // it was handed and refuses the rest, so there is no next writer.
    let next = env
        .jetstream
        .is_some()
        .then(|| spawn_writer(&env.bus, &env.store));
    let mut acked = HashSet::new();
    for p in publishing {
        if let Ok(id) = p.await.unwrap() {
            acked.insert(id);
        }
    }
    assert!(!acked.is_empty(), "publishes were acknowledged");
    eventually(
        Duration::from_secs(10),
        "every acknowledged capture stored by the next writer",
        || {
            let (env, acked) = (&env, &acked);
            async move { stored_ids(env, "conf_drain").await.is_superset(acked) }
        },
    )
    .await;
    if let Some((stop, writer)) = next {
        stop.cancel();
        writer.await.unwrap();
    }
}

crate::both!(
    committed_here_hears_each_own_commit_once,
    parked_count_counts_what_cannot_be_stored,
    a_stopped_writer_leaves_nothing_behind,
);
