//! JetStream floor: pipelined publishes of the same 1 KiB payload to the same
//! nats-server the split shape uses, with many acks in flight, awaiting every
//! ack. A scratch file-backed stream (same storage and duplicate window as
//! the captures stream, and a `Nats-Msg-Id` on every message like ingest) is
//! created first and deleted at the end. Prints one line:
//! `js-floor msgs=N secs=S msgs_per_sec=R`.

use std::future::IntoFuture as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use clap::Parser;
use futures::stream::{FuturesUnordered, StreamExt as _};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    url: String,
    /// Scratch stream name (deleted at the end).
    #[arg(long, default_value = "BENCH_JS_FLOOR")]
    stream: String,
    /// Messages to publish.
    #[arg(long, default_value_t = 200_000)]
    count: u64,
    /// Publishes whose ack is awaited concurrently.
    #[arg(long, default_value_t = 512)]
    inflight: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = async_nats::connect(&args.url)
        .await
        .with_context(|| format!("connecting to {}", args.url))?;
    let js = jetstream::new(client);
    let subject = format!("{}.floor", args.stream.to_lowercase());
    let _ = js.delete_stream(&args.stream).await;
    js.create_stream(stream::Config {
        name: args.stream.clone(),
        subjects: vec![subject.clone()],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .context("creating the scratch stream")?;

    let payload = bytes::Bytes::from(bench::payload());
    let mut acks = FuturesUnordered::new();
    let mut acked = 0u64;
    let start = Instant::now();
    for i in 0..args.count {
        let ack = js
            .send_publish(
                subject.clone(),
                PublishMessage::build()
                    .payload(payload.clone())
                    .message_id(format!("floor-{i}")),
            )
            .await
            .context("publishing")?;
        acks.push(ack.into_future());
        while acks.len() >= args.inflight {
            acks.next().await.expect("non-empty")?;
            acked += 1;
        }
    }
    while let Some(ack) = acks.next().await {
        ack?;
        acked += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut scratch = js.get_stream(&args.stream).await?;
    let info = scratch.info().await?.state.messages;
    js.delete_stream(&args.stream).await.ok();
    anyhow::ensure!(
        acked == args.count && info == args.count,
        "acked {acked}, stream holds {info}, published {}",
        args.count
    );
    println!(
        "js-floor msgs={} secs={secs:.3} msgs_per_sec={:.0}",
        args.count,
        args.count as f64 / secs
    );
    Ok(())
}
