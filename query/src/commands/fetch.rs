//! Copy as a JavaScript `fetch` call. Header values are written byte for
//! byte as Latin-1 code units, which is how fetch turns a header string into
//! bytes. Browsers refuse to set some headers (Cookie, User-Agent in some);
//! node's fetch sends them.

use base64::Engine as _;

use super::Replayable;

/// A JavaScript string literal (JSON's escaping, plus U+2028/9, with every
/// non-ASCII character escaped so the snippet survives any copy path).
fn js_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

pub fn snippet(r: &Replayable) -> String {
    let mut out = format!("await fetch({}, {{\n", js_string(&r.url));
    out.push_str(&format!("  method: {},\n", js_string(&r.method)));
    out.push_str("  headers: [\n");
    for (name, value) in &r.headers {
        out.push_str(&format!(
            "    [{}, {}],\n",
            js_string(name),
            js_string(&latin1(value))
        ));
    }
    out.push_str("  ],\n");
    if !r.body.is_empty() {
        if matches!(r.method.as_str(), "GET" | "HEAD") {
            // fetch throws on a GET or HEAD with a body.
            out.push_str("  // fetch cannot send the captured body with GET or HEAD\n");
        } else if let Some(text) = r.inline_text() {
            out.push_str(&format!("  body: {},\n", js_string(text)));
        } else {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&r.body);
            out.push_str(&format!(
                "  body: Uint8Array.from(atob({}), (c) => c.charCodeAt(0)),\n",
                js_string(&b64)
            ));
        }
    }
    out.push_str("});\n");
    out
}
