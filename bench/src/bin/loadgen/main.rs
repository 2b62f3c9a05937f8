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

use std::time::Duration;

use clap::{Parser, Subcommand};
use futures::StreamExt as _;

mod e2e;
mod logs;
mod send;
mod sse_hold;

use e2e::e2e;
use logs::count;
use sse_hold::sse_hold;

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

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

pub(crate) async fn nats_clean(url: &str, contains: &str) -> anyhow::Result<()> {
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
