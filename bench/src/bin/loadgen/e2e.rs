//! `e2e`: answered webhook -> SSE event and -> logs API latency.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use uuid::Uuid;

use crate::client;
use crate::logs::page;
use crate::send::{send_at_rate, sse_client, summary};

pub(crate) async fn e2e(
    ingest: &str,
    api: &str,
    path: &str,
    rate: u64,
    secs: u64,
) -> anyhow::Result<()> {
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
