//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...][,v0=...]`, each v1
//! the HMAC-SHA256 of `{t}.{body}` keyed with the endpoint secret (used as
//! text, `whsec_` included). Any one matching v1 is enough (Stripe sends
//! several while a secret is being rolled); v0 is test mode and ignored.

use chrono::{DateTime, Utc};

use super::{headers, Verdict};
use crate::capture::Header;

const HEADER: &str = "stripe-signature";

pub(super) fn verify(
    key: &[u8],
    hs: &[Header],
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Verdict {
    if !headers::has(hs, HEADER) {
        return Verdict::Missing;
    }
    let Some(value) = headers::get(hs, HEADER) else {
        return Verdict::Invalid;
    };
    let mut t = None;
    let mut v1 = Vec::new();
    for item in value.split(',') {
        match item.trim().split_once('=') {
            Some(("t", ts)) => t = Some(ts),
            Some(("v1", sig)) => v1.extend(hex::decode(sig).ok()),
            _ => {}
        }
    }
    let Some((t, ts)) = t.and_then(|t| Some((t, t.parse::<i64>().ok()?))) else {
        return Verdict::Invalid;
    };
    let signed: [&[u8]; 3] = [t.as_bytes(), b".", body];
    if v1
        .iter()
        .any(|sig| super::matches_sha256(key, &signed, sig))
    {
        super::fresh(ts, received_at)
    } else {
        Verdict::Invalid
    }
}

pub(super) fn sign(key: &[u8], hs: &mut Vec<Header>, body: &[u8], now: DateTime<Utc>) {
    let t = now.timestamp().to_string();
    let sig = hex::encode(super::sign_sha256(key, &[t.as_bytes(), b".", body]));
    headers::set(hs, "Stripe-Signature", format!("t={t},v1={sig}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::test_support::{at, headers};

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_test","object":"event"}"#;
    const T: i64 = 1492774577;
    // Python: hmac.new(SECRET, b"1492774577." + BODY, hashlib.sha256).hexdigest()
    const V1: &str = "691252e266ce41cb94d709c84e9580d4172b117a510bbc81723f657d2cd5d215";

    fn signed(v: &str) -> Vec<Header> {
        headers(&[("Stripe-Signature", v)])
    }

    #[test]
    fn a_signature_computed_independently_verifies() {
        let hs = signed(&format!("t={T},v1={V1},v0=6ffbb59b2300aae63f27240"));
        assert_eq!(verify(SECRET, &hs, BODY, at(T + 10)), Verdict::Valid);
        assert_eq!(verify(SECRET, &hs, b"{}", at(T + 10)), Verdict::Invalid);
        assert_eq!(verify(SECRET, &hs, BODY, at(T + 301)), Verdict::Stale);
        assert_eq!(verify(SECRET, &headers(&[]), BODY, at(T)), Verdict::Missing);
        assert_eq!(
            verify(SECRET, &signed(&format!("v1={V1}")), BODY, at(T)),
            Verdict::Invalid
        );
    }

    #[test]
    fn any_one_of_several_v1_signatures_is_enough() {
        let hs = signed(&format!("t={T},v1={},v1={V1}", "ab".repeat(32)));
        assert_eq!(verify(SECRET, &hs, BODY, at(T)), Verdict::Valid);
    }

    #[test]
    fn re_signed_for_staging_with_a_fresh_timestamp_verifies() {
        let mut hs = signed(&format!("t={T},v1={V1}"));
        let now = at(T + 86_400);
        assert_eq!(verify(SECRET, &hs, BODY, now), Verdict::Stale);
        sign(b"whsec_staging", &mut hs, BODY, now);
        assert_eq!(verify(b"whsec_staging", &hs, BODY, now), Verdict::Valid);
        assert_eq!(verify(SECRET, &hs, BODY, now), Verdict::Invalid);
        assert_eq!(hs.len(), 1);
    }
}
