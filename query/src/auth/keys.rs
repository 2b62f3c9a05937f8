//! API keys as handed out: `clk_` and 32 characters of base64url (24
//! random bytes). Only a SHA-256 of each is stored; its first
//! [`PREFIX_LEN`] characters are kept to tell keys apart in lists.

use rand::Rng as _;

/// What every key starts with, so a key is told from the administrator's
/// token without a database lookup.
pub(crate) const KEY_PREFIX: &str = "clk_";
/// Characters of a key shown in lists (`clk_` and 8 more).
pub(crate) const PREFIX_LEN: usize = 12;

/// A new key and its stored digest.
pub(crate) fn new_key() -> (String, String) {
    let bytes: [u8; 24] = rand::rng().random();
    let key = format!(
        "{KEY_PREFIX}{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
    );
    let hash = crate::access::digest(&key);
    (key, hash)
}

/// Whether a presented token has a key's shape (anything else is refused
/// without a lookup).
pub(crate) fn looks_like_key(token: &str) -> bool {
    token.len() == KEY_PREFIX.len() + 32
        && token.starts_with(KEY_PREFIX)
        && token[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_their_shape_and_differ() {
        let (a, ha) = new_key();
        let (b, hb) = new_key();
        assert!(looks_like_key(&a) && looks_like_key(&b));
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(ha.len(), 64);
        assert!(!looks_like_key("clk_short"));
        assert!(!looks_like_key(&a.replace("clk_", "xxx_")));
    }
}
