//! Who may read what: a path's workspace (`auth.rs` says who is calling),
//! per-path read tokens of private paths, and masking of sensitive header
//! values in every output.

use axum::http::HeaderMap;
use common::capture::{CaptureDetail, CaptureSummary, HeaderValueJson};
use common::PathInfo;
use rand::Rng as _;
use sha2::{Digest, Sha256};

use crate::auth::Principal;

pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    common::capture::parse_query(query.unwrap_or_default())
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Who is asking (set by the auth middleware) and what the request
/// presents to read a private path, taken from its parts.
pub(crate) struct Access {
    pub principal: Principal,
    headers: HeaderMap,
    query: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Access {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self {
            principal: parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or(Principal::Open),
            headers: parts.headers.clone(),
            query: parts.uri.query().map(str::to_owned),
        })
    }
}

impl Access {
    /// A path of another workspace is as good as missing (404), as is a
    /// private path without its read token.
    pub(crate) fn may_read(&self, path: &PathInfo) -> bool {
        self.principal.sees(&path.workspace) && may_read(path, &self.headers, self.query.as_deref())
    }
}

/// A fresh read token for a private path and its stored digest.
pub(crate) fn new_read_token() -> (String, String) {
    let bytes: [u8; 24] = rand::rng().random();
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let digest = digest(&token);
    (token, digest)
}

pub(crate) fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the request may see this path: public paths always; private ones
/// only with their read token (`X-Read-Token` header or `?read_token=`).
fn may_read(path: &PathInfo, headers: &HeaderMap, query: Option<&str>) -> bool {
    let Some(expected) = &path.settings.read_token_sha256 else {
        return true;
    };
    let presented = headers
        .get("x-read-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_param(query, "read_token"));
    presented.is_some_and(|t| {
        constant_time_eq::constant_time_eq(digest(&t).as_bytes(), expected.as_bytes())
    })
}

/// Header names (lower-case) whose values are replaced in every output.
#[derive(Debug, Clone, Default)]
pub struct Mask(Vec<String>);

pub const MASKED: &str = "[masked]";

impl Mask {
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self(
            names
                .into_iter()
                .map(|n| n.trim().to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect(),
        )
    }

    pub fn hides(&self, name: &str) -> bool {
        self.0.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    pub fn summary(&self, mut s: CaptureSummary) -> CaptureSummary {
        if s.user_agent.is_some() && self.hides("user-agent") {
            s.user_agent = Some(MASKED.into());
        }
        if s.content_type.is_some() && self.hides("content-type") {
            s.content_type = Some(MASKED.into());
        }
        s
    }

    pub fn detail(&self, mut d: CaptureDetail) -> CaptureDetail {
        d.summary = self.summary(d.summary);
        for (name, value) in &mut d.headers {
            if self.hides(name) {
                *value = HeaderValueJson::Text(MASKED.into());
            }
        }
        d
    }
}
