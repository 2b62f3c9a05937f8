//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, and
//! the legacy `X-Hub-Signature: sha1=<hex HMAC-SHA1>` when a sender still
//! adds it. No timestamp, so never stale.

use hmac::{KeyInit as _, Mac as _};

use super::headers;
use super::Verdict;
use crate::capture::Header;

const SHA256: &str = "x-hub-signature-256";
const SHA1: &str = "x-hub-signature";

fn matches_sha1(key: &[u8], body: &[u8], tag: &[u8]) -> bool {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(tag).is_ok()
}

fn sign_sha1(key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

fn tag(value: &str, prefix: &str) -> Option<Vec<u8>> {
    hex::decode(value.strip_prefix(prefix)?).ok()
}

/// Every signature header present must match; none present is `Missing`.
pub(super) fn verify(key: &[u8], hs: &[Header], body: &[u8]) -> Verdict {
    let sha256 = headers::get(hs, SHA256);
    let sha1 = headers::get(hs, SHA1);
    if sha256.is_none() && sha1.is_none() {
        return if headers::has(hs, SHA256) || headers::has(hs, SHA1) {
            Verdict::Invalid
        } else {
            Verdict::Missing
        };
    }
    let ok256 = sha256
        .is_none_or(|v| tag(v, "sha256=").is_some_and(|t| super::matches_sha256(key, &[body], &t)));
    let ok1 = sha1.is_none_or(|v| tag(v, "sha1=").is_some_and(|t| matches_sha1(key, body, &t)));
    if ok256 && ok1 {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// Always writes the SHA-256 header; the SHA-1 one only when it was there.
pub(super) fn sign(key: &[u8], hs: &mut Vec<Header>, body: &[u8]) {
    let sha256 = hex::encode(super::sign_sha256(key, &[body]));
    headers::set(hs, "X-Hub-Signature-256", format!("sha256={sha256}"));
    if headers::has(hs, SHA1) {
        let sha1 = hex::encode(sign_sha1(key, body));
        headers::set(hs, "X-Hub-Signature", format!("sha1={sha1}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::test_support::headers;

    // docs.github.com, "Validating webhook deliveries", test values.
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const DOCUMENTED: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_example_verifies() {
        let hs = headers(&[("X-Hub-Signature-256", DOCUMENTED)]);
        assert_eq!(verify(SECRET, &hs, BODY), Verdict::Valid);
        assert_eq!(verify(SECRET, &hs, b"Hello, World?"), Verdict::Invalid);
        assert_eq!(verify(b"other", &hs, BODY), Verdict::Invalid);
        assert_eq!(verify(SECRET, &headers(&[]), BODY), Verdict::Missing);
    }

    #[test]
    fn sha1_is_checked_when_present_and_re_signed_with_it() {
        // HMAC-SHA1 of the documented example, from Python's hmac module.
        let sha1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";
        let hs = headers(&[
            ("X-Hub-Signature-256", DOCUMENTED),
            ("X-Hub-Signature", sha1),
        ]);
        assert_eq!(verify(SECRET, &hs, BODY), Verdict::Valid);
        let bad = headers(&[
            ("X-Hub-Signature-256", DOCUMENTED),
            ("X-Hub-Signature", "sha1=00"),
        ]);
        assert_eq!(verify(SECRET, &bad, BODY), Verdict::Invalid);

        let mut resigned = hs.clone();
        sign(b"staging", &mut resigned, BODY);
        assert_eq!(resigned.len(), 2, "the same headers, rewritten in place");
        assert_eq!(verify(b"staging", &resigned, BODY), Verdict::Valid);
        assert_eq!(verify(SECRET, &resigned, BODY), Verdict::Invalid);
        let mut fresh = hs;
        sign(SECRET, &mut fresh, BODY);
        assert_eq!(
            crate::signing::headers::get(&fresh, SHA256),
            Some(DOCUMENTED)
        );
        assert_eq!(crate::signing::headers::get(&fresh, SHA1), Some(sha1));
    }
}
