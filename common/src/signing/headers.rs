//! Reading and rewriting the few headers a signature scheme owns, keeping
//! the rest of the captured header list (order, name case) as it was.

use bytes::Bytes;

use crate::capture::Header;

/// The first value of `name` (case-insensitive) when it is UTF-8, trimmed.
pub(super) fn get<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .and_then(|h| std::str::from_utf8(&h.value).ok())
        .map(str::trim)
}

pub(super) fn has(headers: &[Header], name: &str) -> bool {
    headers.iter().any(|h| h.name.eq_ignore_ascii_case(name))
}

/// Gives `name` the single value `value`: the first header of that name
/// keeps its place (and the sender's name case), later ones are dropped;
/// appended when there was none.
pub(super) fn set(headers: &mut Vec<Header>, name: &str, value: String) {
    let value = Bytes::from(value);
    let mut seen = false;
    headers.retain_mut(|h| {
        if !h.name.eq_ignore_ascii_case(name) {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        h.value = value.clone();
        true
    });
    if !seen {
        headers.push(Header {
            name: name.to_owned(),
            value,
        });
    }
}
