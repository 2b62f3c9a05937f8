//! `sse-hold`: many live-feed clients on one query process.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::sync::Semaphore;

use crate::send::{send_at_rate, sse_client, summary};

/// Per-client tally: how many events and an order-independent fingerprint
/// of their ids (wrapping sum and xor), compared with the 2xx ids'.
#[derive(Default)]
pub(crate) struct Tally {
    events: u64,
    sum: u128,
    xor: u128,
}

pub(crate) async fn sse_hold(
    ingest: &str,
    api: &str,
    path: &str,
    clients: usize,
    rate: u64,
    secs: u64,
) -> anyhow::Result<()> {
    let stop = Arc::new(tokio::sync::Notify::new());
    let reconnects = Arc::new(AtomicU64::new(0));
    let tallies: Vec<Arc<Mutex<Tally>>> = (0..clients).map(|_| Arc::default()).collect();
    let connected_count = Arc::new(AtomicUsize::new(0));
    let opening = Arc::new(Semaphore::new(256));
    let url = format!("{api}/api/paths/{path}/stream");
    let t_open = Instant::now();
    let mut handles = Vec::with_capacity(clients);
    for tally in &tallies {
        let (stop, reconnects, tally, count, opening, url) = (
            stop.clone(),
            reconnects.clone(),
            tally.clone(),
            connected_count.clone(),
            opening.clone(),
            url.clone(),
        );
        handles.push(tokio::spawn(async move {
            // One connection per client, opened at most 256 at a time.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client");
            let permit = opening.acquire_owned().await.expect("open");
            let connected = Arc::new(tokio::sync::Notify::new());
            let waiter = {
                let (connected, count) = (connected.clone(), count.clone());
                tokio::spawn(async move {
                    connected.notified().await;
                    count.fetch_add(1, Ordering::Relaxed);
                    drop(permit);
                })
            };
            sse_client(http, url, connected, stop, reconnects, move |id| {
                let mut t = tally.lock().unwrap();
                t.events += 1;
                t.sum = t.sum.wrapping_add(id.as_u128());
                t.xor ^= id.as_u128();
            })
            .await;
            waiter.abort();
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected_count.load(Ordering::Relaxed) < clients {
        if Instant::now() >= deadline {
            bail!(
                "only {} of {clients} live feeds opened within 120 s",
                connected_count.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let open_secs = t_open.elapsed().as_secs_f64();

    let sent = send_at_rate(ingest, path, rate, secs).await;
    let (want_n, want_sum, want_xor) = sent.ok.iter().fold((0u64, 0u128, 0u128), |acc, (id, _)| {
        (
            acc.0 + 1,
            acc.1.wrapping_add(id.as_u128()),
            acc.2 ^ id.as_u128(),
        )
    });
    let complete = |t: &Tally| t.events == want_n && t.sum == want_sum && t.xor == want_xor;
    let deadline = Instant::now() + Duration::from_secs(30);
    let t_sent = Instant::now();
    loop {
        let done = tallies
            .iter()
            .filter(|t| complete(&t.lock().unwrap()))
            .count();
        if done == clients || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settle_secs = t_sent.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await; // late duplicates, if any
    stop.notify_waiters();
    for h in handles {
        h.abort();
    }
    let complete_clients = tallies
        .iter()
        .filter(|t| complete(&t.lock().unwrap()))
        .count();
    let short = tallies
        .iter()
        .filter(|t| t.lock().unwrap().events < want_n)
        .count();
    println!(
        "clients={clients} open_secs={open_secs:.1} sent={} ok={} failed={} complete_clients={complete_clients} \
         short_clients={short} settle_secs={settle_secs:.1} reconnects={} {}",
        rate * secs,
        sent.ok.len(),
        sent.failed,
        reconnects.load(Ordering::Relaxed),
        summary("webhook", sent.latencies),
    );
    if sent.failed > 0 || complete_clients != clients {
        bail!("not every client got every capture exactly once");
    }
    Ok(())
}
