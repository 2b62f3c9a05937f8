//! Path ids: the `{path_id}` of `/webhook/{path_id}`, also a NATS subject token.

use std::fmt;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// A validated path id: `^[A-Za-z0-9_-]{1,64}$`. No dots, spaces or
/// wildcards, so it is safe as a NATS subject token and in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathId(String);

pub const MAX_LEN: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("path_id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")]
pub struct InvalidPathId;

impl PathId {
    pub fn parse(raw: &str) -> Result<Self, InvalidPathId> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidPathId)
        }
    }

    /// A fresh random id (16 lowercase alphanumerics, ~82 bits), hard to guess.
    pub fn random() -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        let id = (0..16)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PathId {
    type Error = InvalidPathId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PathId> for String {
    fn from(value: PathId) -> Self {
        value.0
    }
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "A-z_0", &"x".repeat(64)] {
            assert!(PathId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_dots_spaces_wildcards_and_length() {
        for bad in [
            "",
            "a.b",
            "a b",
            "*",
            ">",
            "a/b",
            "é",
            &"x".repeat(65),
            "a\0",
        ] {
            assert_eq!(PathId::parse(bad), Err(InvalidPathId), "{bad:?}");
        }
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let a = PathId::random();
        assert!(PathId::parse(a.as_str()).is_ok());
        assert_ne!(a, PathId::random());
    }
}
