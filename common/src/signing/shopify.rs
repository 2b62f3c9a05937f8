//! Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`. No
//! timestamp, so never stale.

use base64::Engine as _;

use super::{headers, Verdict};
use crate::capture::Header;

const HEADER: &str = "x-shopify-hmac-sha256";

pub(super) fn verify(key: &[u8], hs: &[Header], body: &[u8]) -> Verdict {
    if !headers::has(hs, HEADER) {
        return Verdict::Missing;
    }
    let sig = headers::get(hs, HEADER)
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
    match sig {
        Some(sig) if super::matches_sha256(key, &[body], &sig) => Verdict::Valid,
        _ => Verdict::Invalid,
    }
}

pub(super) fn sign(key: &[u8], hs: &mut Vec<Header>, body: &[u8]) {
    let sig = base64::engine::general_purpose::STANDARD.encode(super::sign_sha256(key, &[body]));
    headers::set(hs, "X-Shopify-Hmac-Sha256", sig);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::test_support::headers;

    const BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
    // Python: base64.b64encode(hmac.new(b"hush", BODY, hashlib.sha256).digest())
    const SIG: &str = "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8=";

    #[test]
    fn a_signature_computed_independently_verifies() {
        let hs = headers(&[("X-Shopify-Hmac-Sha256", SIG)]);
        assert_eq!(verify(b"hush", &hs, BODY), Verdict::Valid);
        assert_eq!(verify(b"hush", &hs, b"{}"), Verdict::Invalid);
        assert_eq!(
            verify(b"hush", &headers(&[("X-Shopify-Hmac-Sha256", "%%")]), BODY),
            Verdict::Invalid
        );
        assert_eq!(verify(b"hush", &headers(&[]), BODY), Verdict::Missing);
    }

    #[test]
    fn re_signed_for_staging_verifies() {
        let mut hs = headers(&[("X-Shopify-Hmac-Sha256", SIG)]);
        sign(b"staging", &mut hs, BODY);
        assert_eq!(verify(b"staging", &hs, BODY), Verdict::Valid);
        assert_eq!(verify(b"hush", &hs, BODY), Verdict::Invalid);
    }
}
