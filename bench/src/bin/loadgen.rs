//! The measurements wrk/oha cannot make, against a running CallbackListener:
//!
//! - `count`: pages through a path's logs API and counts captures, checking
//!   that no id appears twice (the correctness check after a load run).
//! - `e2e`: webhooks at a fixed rate; for each one answered 2xx, the time
//!   until its SSE event arrives on a live feed and until it is visible in
//!   the logs API. Every 2xx capture must arrive on both, exactly once.
//! - `sse-hold`: N live-feed clients on one query process while webhooks
//!   arrive at a fixed rate; every client must get every 2xx capture.
//!
//! Each prints one `key=value` line for bench/run.sh and exits non-zero when
//! a correctness check fails.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bench::{ms, percentile};
use clap::{Parser, Subcommand};
use futures::StreamExt as _;
use tokio::sync::Semaphore;
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Count a path's captures through the logs API (and check ids are unique).
    Count {
        #[arg(long)]
        api: String,
        #[arg(long)]
        path: String,
        /// Fail unless exactly this many (after waiting up to --wait seconds).
        #[arg(long)]
        expect: Option<u64>,
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// Fixed-rate webhooks; latency to the SSE event and to the logs API.
    E2e {
        /// Ingest base URLs, comma separated (requests alternate).
        #[arg(long)]
        ingest: String,
        #[arg(long)]
        api: String,
        #[arg(long)]
        path: String,
        #[arg(long, default_value_t = 2000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// Prints the 1 KiB JSON payload every scenario sends.
    Payload,
    /// Deletes the JetStream streams whose name contains a string (a run's
    /// scratch stream and the KV / object-store streams named after it).
    NatsClean {
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        url: String,
        #[arg(long)]
        contains: String,
    },
    /// Many SSE clients on one query process, webhooks at a fixed rate.
    SseHold {
        #[arg(long)]
        ingest: String,
        #[arg(long)]
        api: String,
        #[arg(long)]
        path: String,
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Count {
            api,
            path,
            expect,
            wait,
        } => count(&api, &path, expect, wait).await,
        Cmd::E2e {
            ingest,
            api,
            path,
            rate,
            secs,
        } => e2e(&ingest, &api, &path, rate, secs).await,
        Cmd::Payload => {
            use std::io::Write as _;
            std::io::stdout().write_all(&bench::payload())?;
            Ok(())
        }
        Cmd::NatsClean { url, contains } => nats_clean(&url, &contains).await,
        Cmd::SseHold {
            ingest,
            api,
            path,
            clients,
            rate,
            secs,
        } => sse_hold(&ingest, &api, &path, clients, rate, secs).await,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn nats_clean(url: &str, contains: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        contains.len() >= 4,
        "refusing to match on fewer than 4 characters"
    );
    let js = async_nats::jetstream::new(async_nats::connect(url).await?);
    let names: Vec<String> = js
        .stream_names()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    for name in names.into_iter().filter(|n| n.contains(contains)) {
        js.delete_stream(&name).await?;
        println!("deleted stream {name}");
    }
    Ok(())
}

// --- logs API -----------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Page {
    items: Vec<Item>,
    next_cursor: Option<String>,
}

#[derive(serde::Deserialize)]
struct Item {
    id: Uuid,
}

async fn page(
    http: &reqwest::Client,
    api: &str,
    path: &str,
    cursor: Option<&str>,
) -> anyhow::Result<Page> {
    let mut url = format!("{api}/api/paths/{path}/logs?limit=500");
    if let Some(c) = cursor {
        url.push_str("&cursor=");
        url.push_str(c);
    }
    let resp = http.get(&url).send().await?;
    let status = resp.status();
    if !status.is_success() {
        bail!(
            "GET {url}: {status}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
    Ok(resp.json().await?)
}

/// Every id of a path, newest first, through the logs API's pagination.
async fn all_ids(http: &reqwest::Client, api: &str, path: &str) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let p = page(http, api, path, cursor.as_deref()).await?;
        ids.extend(p.items.iter().map(|i| i.id));
        match p.next_cursor {
            Some(c) if !p.items.is_empty() => cursor = Some(c),
            _ => return Ok(ids),
        }
    }
}

async fn count(api: &str, path: &str, expect: Option<u64>, wait: u64) -> anyhow::Result<()> {
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let ids = all_ids(&http, api, path).await?;
        let unique = ids.iter().collect::<HashSet<_>>().len();
        let n = ids.len() as u64;
        let done = match expect {
            None => true,
            Some(e) => n >= e || Instant::now() >= deadline,
        };
        if done {
            println!("count={n} unique={unique}");
            if unique as u64 != n {
                bail!("{} ids appear more than once", n - unique as u64);
            }
            if let Some(e) = expect {
                if n != e {
                    bail!("stored {n} captures, expected exactly {e}");
                }
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// --- fixed-rate webhooks ----------------------------------------------------------

#[derive(serde::Deserialize)]
struct Received {
    request_id: Uuid,
}

struct Sent {
    /// 2xx captures and when their answer arrived.
    ok: Vec<(Uuid, Instant)>,
    failed: u64,
    latencies: Vec<Duration>,
}

/// POSTs the 1 KiB payload at `rate` per second for `secs`, alternating
/// between the ingest URLs; returns once every request has been answered.
async fn send_at_rate(ingest: &str, path: &str, rate: u64, secs: u64) -> Sent {
    let http = client();
    let urls: Vec<String> = ingest
        .split(',')
        .map(|u| format!("{}/webhook/{path}", u.trim_end_matches('/')))
        .collect();
    let body = bytes::Bytes::from(bench::payload());
    let out = Arc::new(Mutex::new(Sent {
        ok: Vec::new(),
        failed: 0,
        latencies: Vec::new(),
    }));
    let total = rate * secs;
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        // Scheduled send time of request i; late ticks are sent at once (and
        // their latency counts from when they were sent).
        let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(at).await;
        let (http, url, body, out) = (
            http.clone(),
            urls[i as usize % urls.len()].clone(),
            body.clone(),
            out.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let result = async {
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                if !resp.status().is_success() {
                    bail!("status {}", resp.status());
                }
                Ok(resp.json::<Received>().await?.request_id)
            }
            .await;
            let t1 = Instant::now();
            let mut out = out.lock().unwrap();
            match result {
                Ok(id) => {
                    out.ok.push((id, t1));
                    out.latencies.push(t1 - t0);
                }
                Err(e) => {
                    if out.failed < 5 {
                        eprintln!("loadgen: webhook failed: {e}");
                    }
                    out.failed += 1;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Arc::try_unwrap(out)
        .ok()
        .expect("all tasks done")
        .into_inner()
        .unwrap()
}

// --- SSE ------------------------------------------------------------------------

/// Reads one live feed until `stop`, calling `on_event(id)` for every
/// `event: request`; reconnects with Last-Event-ID when the server closes the
/// stream (as EventSource does). Signals `connected` once the first bytes
/// arrived.
async fn sse_client(
    http: reqwest::Client,
    url: String,
    connected: Arc<tokio::sync::Notify>,
    stop: Arc<tokio::sync::Notify>,
    reconnects: Arc<AtomicU64>,
    mut on_event: impl FnMut(Uuid) + Send,
) {
    let mut last: Option<Uuid> = None;
    let mut first = true;
    loop {
        let mut req = http.get(&url).header("accept", "text/event-stream");
        if let Some(id) = last {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = tokio::select! {
            r = req.send() => r,
            () = stop.notified() => return,
        };
        let resp = match resp {
            Ok(r) if r.status().is_success() => r,
            _ => {
                reconnects.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let mut stream = resp.bytes_stream();
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let chunk = tokio::select! {
                c = stream.next() => c,
                () = stop.notified() => return,
            };
            let Some(Ok(chunk)) = chunk else { break };
            if first {
                first = false;
                connected.notify_one();
            }
            buf.extend_from_slice(&chunk);
            while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                if let Some(rest) = line.strip_prefix(b"id:") {
                    let s = std::str::from_utf8(rest).unwrap_or("").trim();
                    if let Ok(id) = Uuid::parse_str(s) {
                        last = Some(id);
                        on_event(id);
                    }
                }
            }
        }
        reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

fn summary(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "{name}_p50_ms={:.2} {name}_p99_ms={:.2} {name}_max_ms={:.2}",
        ms(percentile(&v, 50.0)),
        ms(percentile(&v, 99.0)),
        ms(v.last().copied().unwrap_or_default())
    )
}

async fn e2e(ingest: &str, api: &str, path: &str, rate: u64, secs: u64) -> anyhow::Result<()> {
    let http = client();
    let sse_http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    // SSE: first arrival time of each id, and how many arrivals in all.
    let seen_sse: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    let sse_events = Arc::new(AtomicU64::new(0));
    let connected = Arc::new(tokio::sync::Notify::new());
    let stop = Arc::new(tokio::sync::Notify::new());
    let reconnects = Arc::new(AtomicU64::new(0));
    let sse = {
        let (seen, events) = (seen_sse.clone(), sse_events.clone());
        tokio::spawn(sse_client(
            sse_http,
            format!("{api}/api/paths/{path}/stream"),
            connected.clone(),
            stop.clone(),
            reconnects.clone(),
            move |id| {
                events.fetch_add(1, Ordering::Relaxed);
                seen.lock().unwrap().entry(id).or_insert_with(Instant::now);
            },
        ))
    };
    tokio::time::timeout(Duration::from_secs(10), connected.notified())
        .await
        .context("the live feed did not open within 10 s")?;

    // Logs API: poll the newest pages; first time each id is seen.
    let seen_logs: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    let polling = Arc::new(tokio::sync::Notify::new());
    let poller = {
        let (http, api, path, seen, stop) = (
            http.clone(),
            api.to_owned(),
            path.to_owned(),
            seen_logs.clone(),
            polling.clone(),
        );
        tokio::spawn(async move {
            loop {
                let mut cursor: Option<String> = None;
                for _ in 0..20 {
                    let Ok(p) = page(&http, &api, &path, cursor.as_deref()).await else {
                        break;
                    };
                    let now = Instant::now();
                    let mut fresh = 0;
                    {
                        let mut seen = seen.lock().unwrap();
                        for item in &p.items {
                            seen.entry(item.id).or_insert_with(|| {
                                fresh += 1;
                                now
                            });
                        }
                    }
                    // Keep paging while the page still held unseen ids.
                    match p.next_cursor {
                        Some(c) if fresh > 0 => cursor = Some(c),
                        _ => break,
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                    () = stop.notified() => return,
                }
            }
        })
    };

    let sent = send_at_rate(ingest, path, rate, secs).await;

    // Wait (bounded) until every 2xx capture arrived on both.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all = {
            let sse = seen_sse.lock().unwrap();
            let logs = seen_logs.lock().unwrap();
            sent.ok
                .iter()
                .all(|(id, _)| sse.contains_key(id) && logs.contains_key(id))
        };
        if all || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // late duplicates, if any
    stop.notify_waiters();
    polling.notify_waiters();
    sse.abort();
    poller.abort();

    let sse = seen_sse.lock().unwrap();
    let logs = seen_logs.lock().unwrap();
    let (mut to_sse, mut to_logs) = (Vec::new(), Vec::new());
    let (mut sse_missing, mut logs_missing) = (0u64, 0u64);
    for (id, answered) in &sent.ok {
        match sse.get(id) {
            Some(t) => to_sse.push(t.saturating_duration_since(*answered)),
            None => sse_missing += 1,
        }
        match logs.get(id) {
            Some(t) => to_logs.push(t.saturating_duration_since(*answered)),
            None => logs_missing += 1,
        }
    }
    let events = sse_events.load(Ordering::Relaxed);
    let sse_dups = events.saturating_sub(sse.len() as u64);
    let extra_sse = sse.len() as u64 - (sent.ok.len() as u64 - sse_missing);
    println!(
        "sent={} ok={} failed={} sse_missing={sse_missing} sse_dups={sse_dups} sse_extra={extra_sse} \
         logs_missing={logs_missing} reconnects={} {} {} {}",
        rate * secs,
        sent.ok.len(),
        sent.failed,
        reconnects.load(Ordering::Relaxed),
        summary("webhook", sent.latencies),
        summary("sse", to_sse),
        summary("logs", to_logs),
    );
    if sent.failed > 0 || sse_missing > 0 || sse_dups > 0 || extra_sse > 0 || logs_missing > 0 {
        bail!("e2e correctness failed");
    }
    Ok(())
}

/// Per-client tally: how many events and an order-independent fingerprint
/// of their ids (wrapping sum and xor), compared with the 2xx ids'.
#[derive(Default)]
struct Tally {
    events: u64,
    sum: u128,
    xor: u128,
}

async fn sse_hold(
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
