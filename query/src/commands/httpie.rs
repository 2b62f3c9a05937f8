//! Copy as HTTPie (`http`). Not run in tests (HTTPie need not be installed):
//! it mirrors the curl rules in HTTPie's syntax.

use super::shell::{base64_heredoc, header_bytes, quote, quote_bytes};
use super::Replayable;

/// Headers HTTPie adds by itself, unset (`Name:`) when not captured.
const HTTPIE_DEFAULTS: [&str; 4] = ["User-Agent", "Accept", "Accept-Encoding", "Connection"];

pub fn command(r: &Replayable) -> String {
    let mut args = vec![format!(
        "http --path-as-is {} {}",
        quote(&r.method),
        quote(&r.url)
    )];
    for (name, value) in &r.headers {
        args.push(quote_bytes(&header_bytes(name, value, ":")));
    }
    for name in HTTPIE_DEFAULTS {
        if !r.has(name) {
            args.push(quote(&format!("{name}:")));
        }
    }
    if r.body.is_empty() {
        // HTTPie reads a piped stdin as the body; say there is none.
        args.insert(1, "--ignore-stdin".into());
        return args.join(" \\\n  ");
    }
    match r.inline_text() {
        Some(text) => {
            args.insert(1, format!("--raw {}", quote(text)));
            args.join(" \\\n  ")
        }
        None => format!(
            "base64 -d <<'CL_BODY' | {}\n{}",
            args.join(" \\\n  "),
            base64_heredoc(&r.body)
        ),
    }
}
