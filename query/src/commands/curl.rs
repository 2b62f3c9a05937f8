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

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn req(method: &str, headers: &[(&str, &[u8])], body: &'static [u8]) -> Replayable {
        Replayable {
            method: method.into(),
            url: "http://h/webhook/p/s?a=[1]".into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), Bytes::copy_from_slice(v)))
                .collect(),
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn no_body_means_no_data_argument_and_head_is_not_a_method_override() {
        let c = command(&req("HEAD", &[("X-A", b"1")], b""));
        assert!(c.starts_with("curl --globoff --path-as-is --head 'http://h/webhook/p/s?a=[1]'"));
        assert!(!c.contains("--data"), "{c}");
        assert!(
            c.contains("-H User-Agent:") && !c.contains("Content-Type"),
            "{c}"
        );
    }

    #[test]
    fn empty_and_binary_header_values_survive_the_shell() {
        let c = command(&req("GET", &[("X-Empty", b""), ("X-Bin", b"\xff'")], b""));
        assert!(c.contains("-H 'X-Empty;'"), "{c}");
        assert!(c.contains(r"-H $'X-Bin: \xff\''"), "{c}");
    }

    #[test]
    fn leading_at_large_and_binary_bodies_come_from_a_here_document() {
        for body in [&b"@/etc/passwd"[..], b"\x00\x01", &[b'a'; 70_000]] {
            let mut r = req("POST", &[], b"");
            r.body = Bytes::copy_from_slice(body);
            let c = command(&r);
            assert!(c.starts_with("base64 -d <<'CL_BODY' | curl"), "{c:.80}");
            assert!(c.ends_with("\nCL_BODY") && c.contains("--data-binary @-"));
        }
        let c = command(&req("POST", &[], b"it's"));
        assert!(c.ends_with(r"--data-binary 'it'\''s'"), "{c}");
    }
}
