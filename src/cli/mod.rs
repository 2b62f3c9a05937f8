//! Client subcommands: `replay` (from the JetStream stream, no database) and
//! `forward` (follow a server's live feed). They run with the user's own
//! rights, so the server's replay allowlist does not apply to them.

pub mod forward;
pub mod replay;

use chrono::{DateTime, Utc};
use clap::Args;

/// `callback-listener replay`: send a path's captures, read straight from the
/// JetStream stream, to a target.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// NATS server URL, or a comma-separated seed list.
    #[arg(long, env = "CL_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    #[command(flatten)]
    pub nats_auth: crate::config::NatsAuthArgs,
    /// JetStream stream name.
    #[arg(long, env = "CL_STREAM", default_value = "CAPTURES")]
    pub stream: String,
    /// The path whose captures are replayed.
    #[arg(long)]
    pub path: String,
    /// Target base URL; each capture's subpath and query string are appended.
    #[arg(long = "to")]
    pub to: String,
    /// Only captures received at or after this RFC 3339 time.
    #[arg(long, value_parser = parse_time, conflicts_with_all = ["from_seq", "to_seq"])]
    pub since: Option<DateTime<Utc>>,
    /// Only captures received before this RFC 3339 time.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Start at this stream sequence.
    #[arg(long)]
    pub from_seq: Option<u64>,
    /// Stop after this stream sequence (inclusive).
    #[arg(long)]
    pub to_seq: Option<u64>,
    /// Requests per second (0 < rate <= 1000); unlimited when absent.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Requests in flight (1..=64).
    #[arg(long, default_value_t = query::replay::run::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// One at a time, in capture order.
    #[arg(long)]
    pub keep_order: bool,
    /// Keep the original gaps between captures, scaled by this.
    #[arg(long)]
    pub timing_factor: Option<f64>,
    /// Extra or overriding header, `Name: value` (repeatable).
    #[arg(long = "header", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    #[command(flatten)]
    pub signing: SigningArgs,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// `callback-listener forward`: follow a server's live feed of a path and
/// re-send each capture to a local target, resuming where it left off.
#[derive(Debug, Clone, Args)]
pub struct ForwardArgs {
    /// The CallbackListener server (its API), e.g. http://host:8080.
    #[arg(long)]
    pub server: String,
    /// The path to follow.
    #[arg(long)]
    pub path: String,
    /// Target base URL, e.g. http://localhost:3000.
    #[arg(long = "to")]
    pub to: String,
    /// The server's API token.
    #[arg(long, env = "CL_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The read token of a private path.
    #[arg(long)]
    pub read_token: Option<String>,
    /// Start after this capture id (otherwise: captures from now on).
    #[arg(long)]
    pub last_event_id: Option<String>,
    /// Extra or overriding header, `Name: value` (repeatable).
    #[arg(long = "header", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// Re-signing for the target (a staging receiver checking its own secret):
/// only the signature headers are recomputed, with a fresh timestamp.
#[derive(Clone, Default, Args)]
pub struct SigningArgs {
    /// Re-sign each request: github, stripe, slack, shopify,
    /// standard-webhooks or hmac.
    #[arg(long = "sign-provider", env = "CL_SIGN_PROVIDER")]
    pub provider: Option<String>,
    /// The target's signing secret (prefer the environment variable: a
    /// command line is visible to other users of the machine).
    #[arg(
        long = "sign-secret",
        env = "CL_SIGN_SECRET",
        hide_env_values = true,
        requires = "provider"
    )]
    pub secret: Option<String>,
    /// hmac only: the header carrying the signature.
    #[arg(long = "sign-header", requires = "provider")]
    pub header: Option<String>,
    /// hmac only: hex (default) or base64.
    #[arg(long = "sign-encoding", requires = "provider")]
    pub encoding: Option<String>,
    /// hmac only: text before the signature, e.g. `sha256=`.
    #[arg(long = "sign-prefix", requires = "provider")]
    pub prefix: Option<String>,
}

impl std::fmt::Debug for SigningArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningArgs")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl SigningArgs {
    /// The checked profile, if re-signing was asked for.
    pub fn profile(&self) -> anyhow::Result<Option<common::signing::SigningProfile>> {
        let Some(provider) = &self.provider else {
            return Ok(None);
        };
        let spec = common::signing::SigningSpec {
            provider: provider.clone(),
            secret: self.secret.clone(),
            header: self.header.clone(),
            encoding: self.encoding.clone(),
            prefix: self.prefix.clone(),
        };
        Ok(Some(common::signing::SigningProfile::from_spec(&spec)?))
    }
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("not an RFC 3339 time: {raw:?}"))
}

fn parse_header(raw: &str) -> Result<(String, String), String> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| format!("header must be `Name: value`, got {raw:?}"))?;
    Ok((name.trim().to_owned(), value.trim_start().to_owned()))
}

/// Builds the target (no allowlist, no pinning: the user's own rights).
fn target(
    to: &str,
    headers: &[(String, String)],
    signing: &SigningArgs,
) -> anyhow::Result<query::replay::Target> {
    let url = query::replay::send::parse_target(to)?;
    let overrides =
        query::replay::send::parse_overrides(headers).map_err(|m| anyhow::anyhow!(m))?;
    let signing = signing.profile()?;
    Ok(query::replay::Target::new(url, None, overrides)?.with_signing(signing))
}
