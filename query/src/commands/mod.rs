//! "Copy as": a capture rewritten as a command that sends it again (curl,
//! HTTPie, a fetch call). Pure: the API module feeds it captures.
//!
//! Shared rules: hop-by-hop headers describe the sender's connection, not
//! the request (replaying `Transfer-Encoding: chunked` with an empty body
//! makes curl announce a body it never sends), Content-Length and Host are
//! the client's to compute from the body and the URL; every other header is
//! kept in the order and case it was captured in.

pub mod curl;
pub mod fetch;
pub mod httpie;
mod shell;

use bytes::Bytes;
use common::Capture;

/// Bodies larger than this leave the command line: Linux refuses one
/// argument over 128 KiB ("Argument list too long").
pub const INLINE_BODY_LIMIT: usize = 64 << 10;

/// What every builder needs: the request to send, already filtered.
pub struct Replayable {
    pub method: String,
    pub url: String,
    /// (name, value bytes) in capture order, hop-by-hop ones dropped.
    pub headers: Vec<(String, Bytes)>,
    pub body: Bytes,
}

pub fn is_hop_by_hop(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "connection"
            | "transfer-encoding"
            | "keep-alive"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
            | "host"
    ) || n.starts_with("proxy-")
}

impl Replayable {
    /// `target` is the URL the subpath and raw query are appended to (the
    /// path's webhook URL by default). `masked` values are replaced, so a
    /// command never reveals what the API hides.
    pub fn new(capture: &Capture, target: &str, masked: impl Fn(&str) -> bool) -> Self {
        let mut url = format!("{}{}", target.trim_end_matches('/'), capture.subpath);
        if !capture.query_string.is_empty() {
            url.push('?');
            url.push_str(&capture.query_string);
        }
        let headers = capture
            .headers
            .iter()
            .filter(|h| !is_hop_by_hop(&h.name))
            .map(|h| {
                let value = if masked(&h.name) {
                    Bytes::from_static(crate::access::MASKED.as_bytes())
                } else {
                    h.value.clone()
                };
                (h.name.clone(), value)
            })
            .collect();
        Self {
            method: capture.method.clone(),
            url,
            headers,
            body: capture.body.clone(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The body as text that can sit in a shell argument or a string
    /// literal as it is: UTF-8, small, no control bytes besides tab, CR, LF.
    pub fn inline_text(&self) -> Option<&str> {
        let text = std::str::from_utf8(&self.body).ok()?;
        let plain = text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'));
        (plain && self.body.len() <= INLINE_BODY_LIMIT).then_some(text)
    }
}
