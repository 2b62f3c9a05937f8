//! Webhooks at a fixed rate, and a live-feed client that times their events.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use bench::{ms, percentile};
use eventsource_stream::Eventsource as _;
use futures::StreamExt as _;
use uuid::Uuid;

use crate::client;

#[derive(serde::Deserialize)]
pub(crate) struct Received {
    pub(crate) request_id: Uuid,
}

pub(crate) struct Sent {
    /// 2xx captures and when their answer arrived.
    pub(crate) ok: Vec<(Uuid, Instant)>,
    pub(crate) failed: u64,
    pub(crate) latencies: Vec<Duration>,
}

/// POSTs the 1 KiB payload at `rate` per second for `secs`, alternating
/// between the ingest URLs; returns once every request has been answered.
pub(crate) async fn send_at_rate(ingest: &str, path: &str, rate: u64, secs: u64) -> Sent {
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
pub(crate) async fn sse_client(
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
        // Told of the first bytes, before the parser has a whole event.
        let mut notify = first.then(|| connected.clone());
        first = false;
        let bytes = resp.bytes_stream().inspect(move |_| {
            if let Some(n) = notify.take() {
                n.notify_one();
            }
        });
        let mut events = std::pin::pin!(bytes.eventsource());
        loop {
            let event = tokio::select! {
                e = events.next() => e,
                () = stop.notified() => return,
            };
            let Some(Ok(event)) = event else { break };
            if let Ok(id) = Uuid::parse_str(&event.id) {
                last = Some(id);
                if event.event == "request" {
                    on_event(id);
                }
            }
        }
        reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) fn summary(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "{name}_p50_ms={:.2} {name}_p99_ms={:.2} {name}_max_ms={:.2}",
        ms(percentile(&v, 50.0)),
        ms(percentile(&v, 99.0)),
        ms(v.last().copied().unwrap_or_default())
    )
}
