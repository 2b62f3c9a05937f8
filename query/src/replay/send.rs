//! Sending one capture to a target exactly as it came: the one place that
//! turns a [`Capture`] into an HTTP request, used by server-side replay jobs,
//! `forward_url`, and the `replay` / `forward` subcommands.
//!
//! What is sent: the original method; the target's base URL with the original
//! subpath appended and the original raw query string; the original headers in
//! order, minus hop-by-hop ones (`connection`, `keep-alive`, `proxy-*`, `te`,
//! `trailer`, `transfer-encoding`, `upgrade`) and minus `host` and
//! `content-length`, which the client writes for the target and the exact body;
//! then the caller's override headers (each replaces every original header of
//! that name); then `X-CallbackListener-Replay-Of: <capture id>`. The body is
//! the exact captured bytes.
//!
//! With a signing profile ([`Target::with_signing`]), the capture's signature
//! headers are recomputed for the profile's secret, timestamped at sending
//! (see `common::signing`); nothing else changes, the body least of all.
//!
//! Documented rewrites beyond those: headers of the same name are sent
//! together (at the position of the first one), and the HTTP client adds
//! `accept: */*` when the original had no `accept` header.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::signing::SigningProfile;
use common::{Capture, Header};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The header naming the capture a replayed request came from.
pub const REPLAY_OF: &str = "x-callbacklistener-replay-of";

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a target URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("target is not a valid URL: {0}")]
    Malformed(String),
    #[error("target must not carry a query string, fragment or credentials")]
    Extras,
}

/// A parsed, checked target base URL.
pub fn parse_target(raw: &str) -> Result<Url, TargetError> {
    let url = Url::parse(raw.trim()).map_err(|e| TargetError::Malformed(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Malformed(format!(
            "unsupported scheme {:?}: use http:// or https://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::Malformed("no host".into()));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(TargetError::Extras);
    }
    Ok(url)
}

fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    ) || name.starts_with("proxy-")
}

/// Checks override headers (`[name, value]` pairs) and lower-cases names.
pub fn parse_overrides(raw: &[(String, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    if raw.len() > 50 {
        return Err("at most 50 headers".into());
    }
    raw.iter()
        .map(|(n, v)| {
            let name = HeaderName::from_bytes(n.trim().as_bytes())
                .map_err(|_| format!("{n:?} is not a valid header name"))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| format!("header {n:?} has an invalid value"))?;
            Ok((name, value))
        })
        .collect()
}

/// One target and the client that reaches it (one per job or session).
pub struct Target {
    base: Url,
    client: reqwest::Client,
    overrides: Vec<(HeaderName, HeaderValue)>,
    signing: Option<SigningProfile>,
}

/// What happened to one replayed capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    pub capture_id: Uuid,
    /// The target's status code; absent when no answer came.
    pub status: Option<u16>,
    /// From sending the request to the response head.
    pub latency_ms: f64,
    /// Connection refused, timeout, ...; absent when the target answered.
    pub error: Option<String>,
    /// The answer's headers and first bytes, recorded per job (not part of
    /// the job document).
    #[serde(skip)]
    pub answer: Option<Box<Answer>>,
}

/// The `outcome` label of `cl_replay_attempts_total` and
/// `cl_forward_attempts_total`: delivered (2xx), rejected (another status),
/// failed (no answer).
pub fn outcome_label(status: Option<u16>) -> &'static str {
    match status {
        Some(s) if (200..300).contains(&s) => "delivered",
        Some(_) => "rejected",
        None => "failed",
    }
}

/// What a target answered beyond its status.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub headers: Vec<Header>,
    /// The first [`KEPT_BODY`] bytes of the body.
    pub body: Bytes,
    pub body_truncated: bool,
}

/// How much of each answer's body is kept.
pub const KEPT_BODY: usize = 64 << 10;

/// Reads the whole answer (so the connection can be reused), keeping its
/// headers and the first [`KEPT_BODY`] bytes.
async fn answer_of(mut response: reqwest::Response) -> Answer {
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| Header {
            name: name.as_str().to_owned(),
            value: Bytes::copy_from_slice(value.as_bytes()),
        })
        .collect();
    let mut body = Vec::new();
    let mut body_truncated = false;
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = KEPT_BODY - body.len();
        if chunk.len() > room {
            body_truncated = true;
        }
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Answer {
        headers,
        body: Bytes::from(body),
        body_truncated,
    }
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Target {
    /// `pinned`: when given, the target host is connected to only at these
    /// addresses (those the allowlist checked), so DNS cannot change the
    /// answer between the check and the connection. Redirects are never
    /// followed, and proxies from the environment are not used.
    pub fn new(
        base: Url,
        pinned: Option<Vec<SocketAddr>>,
        overrides: Vec<(HeaderName, HeaderValue)>,
    ) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5));
        if let (Some(addrs), Some(host)) = (pinned, base.host_str()) {
            builder = builder.resolve_to_addrs(host, &addrs);
        }
        Ok(Self {
            base,
            client: builder.build()?,
            overrides,
            signing: None,
        })
    }

    /// Re-sign every request for this profile (a staging secret).
    pub fn with_signing(mut self, signing: Option<SigningProfile>) -> Self {
        self.signing = signing;
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The URL a capture goes to: base path (without a trailing `/`) +
    /// subpath, and the raw query string.
    pub fn url_for(&self, capture: &Capture) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        let mut url = format!("{base}{}", capture.subpath);
        if !capture.query_string.is_empty() {
            url.push('?');
            url.push_str(&capture.query_string);
        }
        url
    }

    /// The request for a capture, per the module docs.
    pub fn request_for(&self, capture: &Capture) -> Result<reqwest::Request, String> {
        let method = Method::from_bytes(capture.method.as_bytes())
            .map_err(|_| format!("method {:?} cannot be sent", capture.method))?;
        let mut builder = self.client.request(method, self.url_for(capture));
        let resigned;
        let headers = match &self.signing {
            Some(profile) => {
                let mut headers = capture.headers.clone();
                profile
                    .resign(&mut headers, &capture.body, chrono::Utc::now())
                    .map_err(|e| e.to_string())?;
                resigned = headers;
                &resigned
            }
            None => &capture.headers,
        };
        for h in headers {
            let name = h.name.to_ascii_lowercase();
            if hop_by_hop(&name) || self.overrides.iter().any(|(n, _)| n.as_str() == name) {
                continue;
            }
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(&h.value),
            ) else {
                continue;
            };
            builder = builder.header(name, value);
        }
        for (name, value) in &self.overrides {
            builder = builder.header(name.clone(), value.clone());
        }
        builder = builder.header(REPLAY_OF, capture.id.to_string());
        if !capture.body.is_empty() || capture.header("content-length").is_some() {
            builder = builder.body(capture.body.clone());
        }
        builder.build().map_err(|e| e.to_string())
    }

    /// Sends one capture; never fails, the outcome says what happened.
    pub async fn send(&self, capture: &Capture) -> Outcome {
        let start = Instant::now();
        let result = match self.request_for(capture) {
            Ok(request) => self.client.execute(request).await.map_err(describe),
            Err(e) => Err(e),
        };
        let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let answer = answer_of(response).await;
                Outcome {
                    capture_id: capture.id,
                    status: Some(status),
                    latency_ms,
                    error: None,
                    answer: Some(Box::new(answer)),
                }
            }
            Err(error) => Outcome {
                capture_id: capture.id,
                status: None,
                latency_ms,
                error: Some(error),
                answer: None,
            },
        }
    }
}

/// A short, safe description of a client error (no bodies, no headers).
fn describe(e: reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
