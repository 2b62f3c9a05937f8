//! Copy as curl. Run with bash, the command reproduces the capture: method,
//! subpath, raw query (`--globoff`, `--path-as-is`: curl neither expands
//! `[]{}` nor squashes `/../`), headers other than hop-by-hop ones, body
//! bytes.

use super::shell::{base64_heredoc, header_bytes, quote, quote_bytes};
use super::Replayable;

/// Headers curl adds by itself, removed (`-H 'Name:'`) when the capture did
/// not carry them. Content-Type only matters with a body (curl sets a form
/// type for `--data-binary`); Expect is added for large bodies.
const CURL_DEFAULTS: [&str; 2] = ["User-Agent", "Accept"];
const CURL_BODY_DEFAULTS: [&str; 2] = ["Content-Type", "Expect"];

pub fn command(r: &Replayable) -> String {
    // HEAD via -X would wait for a body that never comes.
    let method = if r.method == "HEAD" {
        "--head".to_owned()
    } else {
        format!("-X {}", quote(&r.method))
    };
    let mut args = vec![format!(
        "curl --globoff --path-as-is {method} {}",
        quote(&r.url)
    )];
    for (name, value) in &r.headers {
        args.push(format!(
            "-H {}",
            quote_bytes(&header_bytes(name, value, ": "))
        ));
    }
    let has_body = !r.body.is_empty();
    let removed = CURL_DEFAULTS.iter().chain(if has_body {
        &CURL_BODY_DEFAULTS[..]
    } else {
        &[]
    });
    for name in removed {
        if !r.has(name) {
            args.push(format!("-H {}", quote(&format!("{name}:"))));
        }
    }
    if !has_body {
        // No body argument at all: curl sends none and no framing for one.
        return args.join(" \\\n  ");
    }
    // --data-binary reads a file for a leading '@'; such bodies, binary and
    // large ones go through stdin from a here-document, which has no size
    // limit and keeps every byte.
    match r.inline_text().filter(|t| !t.starts_with('@')) {
        Some(text) => {
            args.push(format!("--data-binary {}", quote(text)));
            args.join(" \\\n  ")
        }
        None => {
            args.push("--data-binary @-".into());
            format!(
                "base64 -d <<'CL_BODY' | {}\n{}",
                args.join(" \\\n  "),
                base64_heredoc(&r.body)
            )
        }
    }
}
