//! Command line and environment: every option is a flag with a `CL_`
//! environment fallback, parsed once at start-up into typed structs.

mod nats;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use common::bus::jetstream::NatsConnect;
use common::bus::JetStreamConfig;
use common::telemetry::LogFormat;
use ingest::TrustedProxies;

pub use nats::{NatsAuthArgs, Secret};

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
    /// Send a path's captures, read straight from the JetStream stream (no database), to a target.
    Replay(crate::cli::ReplayArgs),
    /// Follow a server's live feed of a path and re-send each capture to a (local) target.
    Forward(crate::cli::ForwardArgs),
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
pub struct HttpOptions {
    /// Most open connections; further ones wait in the accept queue.
    #[arg(long, env = "CL_MAX_CONNECTIONS", default_value_t = 16_384)]
    pub max_connections: usize,
    /// A client must send its whole request head within this (slowloris guard).
    #[arg(long, env = "CL_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Most request headers (more -> 431).
    #[arg(long, env = "CL_MAX_HEADERS", default_value_t = 100)]
    pub max_headers: usize,
    /// Most bytes of request head (more -> 431).
    #[arg(long, env = "CL_MAX_HEADER_BYTES", default_value_t = 64 << 10)]
    pub max_header_bytes: usize,
}

impl HttpOptions {
    pub fn limits(&self) -> crate::serve::Limits {
        crate::serve::Limits {
            max_connections: self.max_connections.max(1),
            header_timeout: self.header_timeout,
            max_headers: self.max_headers,
            max_header_bytes: self.max_header_bytes,
            wire_heads: false,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct IngestOptions {
    /// Largest webhook body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "CL_MAX_BODY_BYTES", default_value_t = 16 << 20)]
    pub max_body_bytes: usize,
    /// Comma-separated proxies (IPs or CIDRs) whose X-Forwarded-For is believed.
    #[arg(long, env = "CL_TRUSTED_PROXIES", default_value = "", value_parser = parse_proxies)]
    pub trusted_proxies: TrustedProxies,
    /// A webhook body must arrive within this (slow-body guard; 408 after).
    #[arg(long, env = "CL_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,
    /// Webhooks per second per client IP (429 with Retry-After above); 0 = off.
    #[arg(long, env = "CL_RATE_LIMIT", default_value_t = 0)]
    pub rate_limit: u32,
    /// Burst allowed above the per-IP rate.
    #[arg(long, env = "CL_RATE_BURST", default_value_t = 100)]
    pub rate_burst: u32,
    /// How many ingest processes run: each admits this share of every workspace's
    /// webhooks_per_second quota (docs/TEAMS.md).
    #[arg(long, env = "CL_INGEST_PROCESSES", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub ingest_processes: u32,
}

#[derive(Debug, Clone, Args)]
pub struct QueryOptions {
    /// Require `Authorization: Bearer <token>` on every /api route: this token is the
    /// administrator's (creates workspaces and their keys); workspace API keys work too.
    #[arg(long, env = "CL_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Read the API token from this file instead (e.g. a mounted secret).
    #[arg(long, env = "CL_API_TOKEN_FILE", conflicts_with = "api_token")]
    pub api_token_file: Option<std::path::PathBuf>,
    /// API requests per second each workspace API key may make (429 with Retry-After
    /// beyond); unlimited when unset.
    #[arg(long, env = "CL_API_KEY_RATE")]
    pub api_key_rate: Option<std::num::NonZeroU32>,
    /// Comma-separated header names whose values are masked in API, export and UI output.
    #[arg(
        long,
        env = "CL_MASK_HEADERS",
        default_value = "",
        value_delimiter = ','
    )]
    pub mask_headers: Vec<String>,
    /// How often retention removes old captures.
    #[arg(long, env = "CL_RETENTION_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub retention_interval: Duration,
    /// How often each workspace's storage use is checked against its max_captures and
    /// max_body_bytes quotas (a workspace may pass them by one interval's webhooks).
    #[arg(long, env = "CL_QUOTA_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub quota_interval: Duration,
    /// Keep at most this many captures per path, for paths without their own max_requests.
    #[arg(long, env = "CL_DEFAULT_MAX_REQUESTS")]
    pub default_max_requests: Option<u64>,
    /// Remove captures older than this (e.g. 7d is 168h), for paths without their own ttl.
    #[arg(long, env = "CL_DEFAULT_TTL", value_parser = parse_duration)]
    pub default_ttl: Option<Duration>,
    /// Comma-separated host names, IPs and CIDR ranges that server-side replay
    /// and forwarding may reach (replaces the loopback-only default).
    #[arg(long, env = "CL_REPLAY_ALLOW_HOSTS", default_value = query::replay::allow::DEFAULT, value_parser = parse_allowlist)]
    pub replay_allow_hosts: query::replay::Allowlist,
    /// Comma-separated origins (scheme://host[:port]) whose pages may call the API and
    /// live feeds from a browser, or `*` for any; off when empty. Never with credentials.
    #[arg(long, env = "CL_CORS_ORIGINS", default_value = "", value_parser = parse_cors)]
    pub cors_origins: query::cors::CorsOrigins,
}

impl QueryOptions {
    /// The API token from the flag or the file, trimmed.
    pub fn token(&self) -> anyhow::Result<Option<String>> {
        if let Some(file) = &self.api_token_file {
            return nats::read_secret(file, "CL_API_TOKEN_FILE").map(Some);
        }
        Ok(self.api_token.clone().filter(|t| !t.is_empty()))
    }
}

/// The stream's name and limits, shared by every role that talks to JetStream.
#[derive(Debug, Clone, Args)]
pub struct StreamOptions {
    /// JetStream stream name; the registry bucket and consumer names derive from it.
    #[arg(long, env = "CL_STREAM", default_value = "CAPTURES")]
    pub stream: String,
    /// How long captures stay in the stream (and large bodies in the object store).
    #[arg(long, env = "CL_STREAM_MAX_AGE", default_value = "168h", value_parser = parse_duration)]
    pub stream_max_age: Duration,
    /// Stream size limit in bytes (oldest captures are dropped first); unlimited when unset.
    #[arg(long, env = "CL_STREAM_MAX_BYTES")]
    pub stream_max_bytes: Option<u64>,
    /// How long a webhook waits for JetStream to make its capture durable before it gets 503;
    /// publishes are retried within it while a stream's leader moves. Default 5s, or 15s with
    /// more than one replica (a leader election after a lost node takes 5-9 s).
    #[arg(long, env = "CL_PUBLISH_TIMEOUT", value_parser = parse_duration)]
    pub publish_timeout: Option<Duration>,
    /// Replicas of the stream, the registry and body buckets and the consumer (3 on a
    /// cluster); existing ones are scaled up, never down.
    #[arg(long, env = "CL_STREAM_REPLICAS", default_value_t = 1,
        value_parser = clap::value_parser!(u8).range(1..=5))]
    pub stream_replicas: u8,
}

impl StreamOptions {
    /// The publish timeout given, or the default for the replicas asked.
    pub fn publish_timeout(&self) -> Duration {
        let default = if self.stream_replicas > 1 { 15 } else { 5 };
        self.publish_timeout.unwrap_or(Duration::from_secs(default))
    }

    /// The JetStream bus configuration for the servers `nats` describes.
    pub fn jetstream(&self, nats: NatsConnect) -> JetStreamConfig {
        JetStreamConfig {
            nats,
            max_age: self.stream_max_age,
            max_bytes: self.stream_max_bytes,
            publish_timeout: self.publish_timeout(),
            replicas: usize::from(self.stream_replicas),
            ..JetStreamConfig::new("", &self.stream)
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct NatsOptions {
    /// NATS server URL, or a comma-separated seed list of a cluster's servers
    /// (nats:// or tls://).
    #[arg(long, env = "CL_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    #[command(flatten)]
    pub auth: NatsAuthArgs,
    #[command(flatten)]
    pub stream: StreamOptions,
}

impl NatsOptions {
    /// The JetStream bus configuration these options describe.
    pub fn jetstream(&self) -> anyhow::Result<JetStreamConfig> {
        Ok(self.stream.jetstream(self.auth.connect(&self.nats_url)?))
    }
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
    /// Use NATS JetStream as the bus instead of the in-process one (a URL or a
    /// comma-separated seed list).
    #[arg(long, env = "CL_NATS_URL")]
    pub nats_url: Option<String>,
    /// NATS credentials and TLS (used only with --nats-url).
    #[command(flatten)]
    pub nats_auth: NatsAuthArgs,
    /// Stream settings (used only with --nats-url).
    #[command(flatten)]
    pub stream: StreamOptions,
    #[command(flatten)]
    pub ingest: IngestOptions,
    #[command(flatten)]
    pub query: QueryOptions,
    #[command(flatten)]
    pub http: HttpOptions,
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
    pub http: HttpOptions,
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
    pub query: QueryOptions,
    #[command(flatten)]
    pub http: HttpOptions,
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

impl StandaloneArgs {
    /// The JetStream bus configuration, when `--nats-url` asks for one.
    pub fn jetstream(&self) -> anyhow::Result<Option<JetStreamConfig>> {
        self.nats_url
            .as_deref()
            .map(|url| Ok(self.stream.jetstream(self.nats_auth.connect(url)?)))
            .transpose()
    }
}

fn parse_allowlist(raw: &str) -> Result<query::replay::Allowlist, String> {
    raw.parse()
}

fn parse_cors(raw: &str) -> Result<query::cors::CorsOrigins, String> {
    raw.parse()
}

fn parse_proxies(raw: &str) -> Result<TrustedProxies, String> {
    raw.parse()
}

/// Plain seconds, or humantime's forms: `500ms`, `30s`, `2m`, `1h 30m`, `7d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(raw)
        .map_err(|e| format!("not a duration: {raw:?} ({e}); e.g. 500ms, 30s, 2m, 1h, 7d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_plain_seconds_and_humantime_forms() {
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        let e = parse_duration("soon").unwrap_err();
        assert!(e.contains("not a duration") && e.contains("7d"), "{e}");
    }
}
