//! POSIX shell quoting for the command builders.

use base64::Engine as _;

/// One argument, single-quoted unless it is plainly safe.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Bytes that may not be UTF-8, as one bash ANSI-C (`$'...'`) argument.
pub fn quote_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => quote(s),
        _ => {
            let mut out = String::from("$'");
            for &b in bytes {
                match b {
                    b'\'' => out.push_str(r"\'"),
                    b'\\' => out.push_str(r"\\"),
                    0x20..=0x7e => out.push(b as char),
                    _ => out.push_str(&format!("\\x{b:02x}")),
                }
            }
            out.push('\'');
            out
        }
    }
}

pub const HEREDOC_END: &str = "CL_BODY";

/// `body` as base64 lines for a quoted here-document ending in `CL_BODY`
/// (base64 never contains that word's underscore, so it cannot end early).
pub fn base64_heredoc(body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    let mut out = String::with_capacity(b64.len() + b64.len() / 76 + 16);
    for line in b64.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(HEREDOC_END);
    out
}

/// A header line `Name: value` (or `Name;`, which curl and HTTPie send as an
/// empty header; `Name:` would remove it).
pub fn header_bytes(name: &str, value: &[u8], sep: &str) -> Vec<u8> {
    let mut line = name.as_bytes().to_vec();
    if value.is_empty() {
        line.push(b';');
    } else {
        line.extend_from_slice(sep.as_bytes());
        line.extend_from_slice(value);
    }
    line
}
