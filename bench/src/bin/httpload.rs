//! A stand-in for oha in the benchmark's quick mode, which judges only
//! correctness: installing oha on a fresh machine is a release build of a few
//! hundred crates, longer than the quick run itself. It takes the subset of
//! oha's flags bench/run.sh uses and prints the subset of oha's JSON result
//! the script reads (`summary.requestsPerSec`, `statusCodeDistribution`,
//! `errorDistribution`, `latencyPercentiles.p99`). Full mode keeps oha,
//! whose figures docs/BENCHMARKS.md reports.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bench::percentile;
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
#[command(about = "oha's flags as bench/run.sh uses them")]
struct Args {
    /// Concurrent connections.
    #[arg(short = 'c', default_value_t = 50)]
    connections: usize,
    /// Run for this long (`3s`, `500ms`).
    #[arg(short = 'z')]
    duration: Option<String>,
    /// Send this many requests in all.
    #[arg(short = 'n')]
    requests: Option<u64>,
    /// Requests per second in all (unpaced when absent).
    #[arg(short = 'q')]
    qps: Option<f64>,
    #[arg(short = 'm', default_value = "GET")]
    method: String,
    /// `name: value`, repeatable.
    #[arg(short = 'H')]
    headers: Vec<String>,
    /// Body from a file.
    #[arg(short = 'D')]
    body_file: Option<std::path::PathBuf>,
    /// Accepted for oha compatibility: in-flight requests always finish.
    #[arg(short = 'w')]
    _wait: bool,
    /// Accepted for oha compatibility (latency is measured from the send).
    #[arg(long = "latency-correction")]
    _latency_correction: bool,
    #[arg(long = "no-tui")]
    _no_tui: bool,
    /// Always JSON.
    #[arg(long = "output-format")]
    _output_format: Option<String>,
    url: String,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    statuses: HashMap<String, u64>,
    errors: HashMap<String, u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let deadline = args
        .duration
        .as_deref()
        .map(humantime::parse_duration)
        .transpose()
        .context("-z takes a duration such as 3s")?;
    let body = match &args.body_file {
        Some(f) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        None => Vec::new(),
    };
    let mut headers = reqwest::header::HeaderMap::new();
    for h in &args.headers {
        let (name, value) = h.split_once(':').context("a header is `name: value`")?;
        headers.append(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())?,
            value.trim().parse()?,
        );
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let method: reqwest::Method = args.method.parse()?;
    let body = bytes::Bytes::from(body);
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers = args.connections.max(1);
    // Each worker keeps to its share of the rate.
    let gap = args
        .qps
        .map(|q| Duration::from_secs_f64(workers as f64 / q.max(0.001)));
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (client, method, headers, body, url, issued) = (
            client.clone(),
            method.clone(),
            headers.clone(),
            body.clone(),
            args.url.clone(),
            issued.clone(),
        );
        let limit = args.requests;
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut next = Instant::now();
            loop {
                if deadline.is_some_and(|d| start.elapsed() >= d) {
                    break;
                }
                if limit.is_some_and(|n| issued.fetch_add(1, Ordering::Relaxed) >= n) {
                    break;
                }
                if let Some(gap) = gap {
                    tokio::time::sleep_until(next.into()).await;
                    next += gap;
                }
                let sent = Instant::now();
                let answer = client
                    .request(method.clone(), &url)
                    .headers(headers.clone())
                    .body(body.clone())
                    .send()
                    .await;
                let answer = match answer {
                    Ok(r) => {
                        let status = r.status().as_u16().to_string();
                        r.bytes().await.map(|_| status)
                    }
                    Err(e) => Err(e),
                };
                match answer {
                    Ok(status) => {
                        tally.latencies.push(sent.elapsed());
                        *tally.statuses.entry(status).or_default() += 1;
                    }
                    Err(e) => *tally.errors.entry(e.to_string()).or_default() += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await?;
        all.latencies.extend(t.latencies);
        for (k, v) in t.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
        for (k, v) in t.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies.sort_unstable();
    let answered = all.latencies.len() as f64;
    println!(
        "{}",
        json!({
            "summary": {"requestsPerSec": answered / elapsed, "total": elapsed},
            "statusCodeDistribution": all.statuses,
            "errorDistribution": all.errors,
            "latencyPercentiles": {"p99": percentile(&all.latencies, 99.0).as_secs_f64()},
        })
    );
    Ok(())
}
