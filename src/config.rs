//! Command line and environment: every option is a flag with a `CL_`
//! environment fallback, parsed once at start-up into typed structs.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use common::telemetry::LogFormat;
use ingest::TrustedProxies;

#[derive(Debug, Parser)]
#[command(
    name = "callback-listener",
    version,
    about = "Self-hosted webhook catcher and request inspector.",
    long_about = "Self-hosted webhook catcher and request inspector.\n\n\
        Without a subcommand it runs the standalone service: ingest and query in one process, \
        an in-process bus and an SQLite file, on http://127.0.0.1:8080.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub standalone: StandaloneArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest and query in one process (the default).
    Standalone(StandaloneArgs),
    /// Split shape: accept webhooks and publish them to NATS JetStream.
    Ingest(IngestArgs),
    /// Split shape: consume JetStream into Postgres; serve the API, live feeds and web page.
    Query(QueryArgs),
    /// Apply database migrations and exit.
    Migrate(MigrateArgs),
    /// Exit 0 when URL answers 2xx (container health checks without curl).
    Healthcheck { url: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(value: LogFormatArg) -> Self {
        match value {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Log format; logs never contain bodies or header values.
    #[arg(long, env = "CL_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormatArg,
    /// How long a graceful shutdown may take before in-flight work is abandoned.
    #[arg(long, env = "CL_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct IngestOptions {
    /// Largest webhook body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "CL_MAX_BODY_BYTES", default_value_t = 16 << 20)]
    pub max_body_bytes: usize,
    /// Comma-separated proxies (IPs or CIDRs) whose X-Forwarded-For is believed.
    #[arg(long, env = "CL_TRUSTED_PROXIES", default_value = "", value_parser = parse_proxies)]
    pub trusted_proxies: TrustedProxies,
}

#[derive(Debug, Clone, Args)]
pub struct NatsOptions {
    /// NATS server URL.
    #[arg(long, env = "CL_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// JetStream stream name; the registry bucket and consumer names derive from it.
    #[arg(long, env = "CL_STREAM", default_value = "CAPTURES")]
    pub stream: String,
}

#[derive(Debug, Clone, Args)]
pub struct StandaloneArgs {
    /// Address to listen on.
    #[arg(long, env = "CL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL senders use; defaults to http://<listen>.
    #[arg(long, env = "CL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Database: sqlite://FILE or postgres://...
    #[arg(
        long,
        env = "CL_DATABASE_URL",
        default_value = "sqlite://data/callback-listener.db"
    )]
    pub database_url: String,
    /// Use NATS JetStream as the bus instead of the in-process one.
    #[arg(long, env = "CL_NATS_URL")]
    pub nats_url: Option<String>,
    /// JetStream stream name (only with --nats-url).
    #[arg(long, env = "CL_STREAM", default_value = "CAPTURES")]
    pub stream: String,
    #[command(flatten)]
    pub ingest: IngestOptions,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// Address to listen on.
    #[arg(long, env = "CL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub nats: NatsOptions,
    #[command(flatten)]
    pub ingest: IngestOptions,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// Address to listen on.
    #[arg(long, env = "CL_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Base URL senders use to reach ingest (builds each path's webhook_url).
    #[arg(long, env = "CL_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Database: postgres://... (sqlite://FILE also works for one query process).
    #[arg(
        long,
        env = "CL_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/callback_listener"
    )]
    pub database_url: String,
    #[command(flatten)]
    pub nats: NatsOptions,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Database: postgres://... or sqlite://FILE
    #[arg(
        long,
        env = "CL_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/callback_listener"
    )]
    pub database_url: String,
}

fn parse_proxies(raw: &str) -> Result<TrustedProxies, String> {
    raw.parse()
}

/// `30s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a duration: {raw:?}"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!(
            "unknown duration unit in {raw:?}: use ms, s, m or h"
        )),
    }
}
