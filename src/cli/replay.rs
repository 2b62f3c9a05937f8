//! `replay`: reads a path's captures straight from the JetStream stream with
//! an ordered consumer (from a start time or sequence, filtered on the path's
//! subject), fetches out-of-band bodies from the object store, and sends them
//! with the same code as server-side replay. No database involved.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer};
use common::bus::jetstream::CaptureReader;
use common::bus::JetStreamConfig;
use common::{Capture, PathId};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use query::replay::run::{self, percentile, Pacing, Tally};
use query::replay::Outcome;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ReplayArgs;

/// How much earlier than `--since` the consumer starts: the stream's time is
/// the publish time, a little after the capture's `received_at`.
const START_SLACK: Duration = Duration::from_secs(60);

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub tally: Tally,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1} ms"));
        write!(
            f,
            "sent {}, 2xx {}, non-2xx {}, errors {}, p50 {}, p99 {}",
            self.tally.sent,
            self.tally.succeeded,
            self.tally.non_2xx,
            self.tally.errors,
            ms(self.p50_ms),
            ms(self.p99_ms)
        )
    }
}

/// Runs the subcommand until done (or Ctrl-C) and prints the summary.
pub async fn main(args: ReplayArgs) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    let summary = run(args, cancel).await?;
    println!("{summary}");
    Ok(())
}

/// The replay itself, callable in-process (tests).
pub async fn run(args: ReplayArgs, cancel: CancellationToken) -> anyhow::Result<Summary> {
    let path = PathId::parse(&args.path).map_err(|e| anyhow::anyhow!("--path: {e}"))?;
    let pacing = Pacing {
        rate: args.rate,
        concurrency: args.concurrency,
        keep_order: args.keep_order,
        timing_factor: args.timing_factor,
    };
    pacing.validate().map_err(|m| anyhow::anyhow!(m))?;
    let target = Arc::new(super::target(&args.to, &args.headers, &args.signing)?);

    let nats = args.nats_auth.connect(&args.nats_url)?;
    let client = nats.client("callback-listener replay").await?;
    let js = jetstream::new(client);
    let config = JetStreamConfig {
        nats,
        ..JetStreamConfig::new("", &args.stream)
    };
    let stream = js
        .get_stream(&args.stream)
        .await
        .with_context(|| format!("opening the stream {}", args.stream))?;
    let deliver_policy = deliver_policy(&args)?;
    let mut consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: config.subject(&path),
            deliver_policy,
            ..Default::default()
        })
        .await
        .context("creating an ordered consumer")?;
    let pending = consumer.info().await.context("consumer info")?.num_pending;
    let bodies = js.get_object_store(config.bodies_bucket()).await.ok();
    let reader = CaptureReader::new(js.clone(), config.bodies_bucket(), bodies);

    let (captures_tx, captures_rx) = mpsc::channel::<Capture>(64);
    let reader = tokio::spawn(read(
        consumer,
        pending,
        reader,
        args.clone(),
        captures_tx,
        cancel.clone(),
    ));
    let (outcomes_tx, mut outcomes_rx) = mpsc::channel::<Outcome>(256);
    let sender = tokio::spawn(run::run(
        target,
        tokio_stream::wrappers::ReceiverStream::new(captures_rx),
        pacing,
        cancel.clone(),
        outcomes_tx,
    ));

    let mut tally = Tally::default();
    let mut latencies = Vec::new();
    let bar = progress_bar(pending, args.quiet);
    while let Some(outcome) = outcomes_rx.recv().await {
        tally.add(&outcome);
        latencies.push(outcome.latency_ms);
        bar.set_position(tally.sent);
        bar.set_message(counts(&tally));
    }
    bar.finish();
    sender.await?;
    reader.await??;
    latencies.sort_by(f64::total_cmp);
    Ok(Summary {
        tally,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
    })
}

/// A progress line on stderr (indicatif draws it only on a terminal and
/// rate-limits redraws; `--quiet` hides it).
fn progress_bar(pending: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(pending);
    bar.set_style(
        ProgressStyle::with_template("replayed {pos}/{len} {wide_bar} {per_sec} {msg}")
            .expect("valid template"),
    );
    bar
}

fn counts(tally: &Tally) -> String {
    format!(
        "(2xx {}, non-2xx {}, errors {})",
        tally.succeeded, tally.non_2xx, tally.errors
    )
}

/// Start at `--from-seq`, or a little before `--since`, or at the beginning.
fn deliver_policy(args: &ReplayArgs) -> anyhow::Result<consumer::DeliverPolicy> {
    if let Some(seq) = args.from_seq {
        return Ok(consumer::DeliverPolicy::ByStartSequence {
            start_sequence: seq.max(1),
        });
    }
    match args.since {
        // Built through serde, which the client's own format defines.
        Some(since) => {
            let start = since - chrono::Duration::from_std(START_SLACK).expect("small");
            Ok(serde_json::from_value(serde_json::json!({
                "deliver_policy": "by_start_time",
                "opt_start_time": start.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            }))?)
        }
        None => Ok(consumer::DeliverPolicy::All),
    }
}

/// Feeds decoded captures in stream order until the stream (as it was at
/// start), the sequence range or the time range is exhausted.
async fn read(
    consumer: consumer::Consumer<consumer::pull::OrderedConfig>,
    pending: u64,
    reader: CaptureReader,
    args: ReplayArgs,
    out: mpsc::Sender<Capture>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    if pending == 0 {
        return Ok(());
    }
    let mut messages = consumer.messages().await.context("reading the stream")?;
    let mut seen = 0u64;
    loop {
        let message = tokio::select! {
            m = messages.next() => m,
            () = cancel.cancelled() => return Ok(()),
        };
        let Some(message) = message else {
            return Ok(());
        };
        let message = message.map_err(|e| anyhow::anyhow!("reading the stream: {e}"))?;
        seen += 1;
        let (seq, left) = message
            .info()
            .map(|i| (i.stream_sequence, i.pending))
            .map_err(|e| anyhow::anyhow!("message info: {e}"))?;
        if args.to_seq.is_some_and(|to| seq > to) {
            return Ok(());
        }
        let capture = match reader.read(&message.payload).await {
            Ok(capture) => Some(capture),
            Err(e) => {
                eprintln!("\nskipping sequence {seq}: {e}");
                None
            }
        };
        if let Some(capture) = capture {
            let after_since = args.since.is_none_or(|s| capture.received_at >= s);
            let before_until = args.until.is_none_or(|u| capture.received_at < u);
            if after_since && before_until && out.send(capture).await.is_err() {
                return Ok(());
            }
        }
        // The end of the stream as it stood when the replay began.
        if left == 0 || seen >= pending {
            return Ok(());
        }
    }
}
