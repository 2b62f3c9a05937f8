//! Standard Webhooks (standardwebhooks.com; Svix and the senders that follow
//! the spec): `webhook-id`, `webhook-timestamp` and `webhook-signature:
//! v1,<base64> [v1,<base64> ...]`, each signature the HMAC-SHA256 of
//! `{id}.{timestamp}.{body}` keyed with the base64 after `whsec_`. Svix's
//! `svix-*` header names mean the same.

use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::{headers, ResignError, Verdict};
use crate::capture::Header;

/// The two spellings of the headers: `(id, timestamp, signature)`.
const FAMILIES: [(&str, &str, &str); 2] = [
    ("webhook-id", "webhook-timestamp", "webhook-signature"),
    ("svix-id", "svix-timestamp", "svix-signature"),
];

pub(super) fn verify(
    key: &[u8],
    hs: &[Header],
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Verdict {
    let Some(&(id, ts, sig)) = FAMILIES.iter().find(|f| headers::has(hs, f.2)) else {
        return Verdict::Missing;
    };
    let (Some(id), Some(t), Some(sigs)) = (
        headers::get(hs, id),
        headers::get(hs, ts),
        headers::get(hs, sig),
    ) else {
        return Verdict::Invalid;
    };
    let Ok(seconds) = t.parse::<i64>() else {
        return Verdict::Invalid;
    };
    let signed: [&[u8]; 5] = [id.as_bytes(), b".", t.as_bytes(), b".", body];
    let matched = sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .any(|s| super::matches_sha256(key, &signed, &s));
    if matched {
        super::fresh(seconds, received_at)
    } else {
        Verdict::Invalid
    }
}

/// Keeps the message id (receivers deduplicate on it) and the header
/// spelling the capture used; without an id there is nothing to sign.
pub(super) fn sign(
    key: &[u8],
    hs: &mut Vec<Header>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ResignError> {
    let Some((id, (_, ts_name, sig_name))) = FAMILIES
        .iter()
        .find_map(|f| headers::get(hs, f.0).map(|id| (id.to_owned(), *f)))
    else {
        return Err(ResignError(
            "the capture has no webhook-id (or svix-id) header".into(),
        ));
    };
    let t = now.timestamp().to_string();
    let sig = super::sign_sha256(key, &[id.as_bytes(), b".", t.as_bytes(), b".", body]);
    let sig = base64::engine::general_purpose::STANDARD.encode(sig);
    headers::set(hs, ts_name, t);
    headers::set(hs, sig_name, format!("v1,{sig}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::signing::test_support::{at, headers};
    use crate::signing::{SigningProfile, SigningSpec, Verdict};

    // The published vector of the Standard Webhooks reference libraries
    // (libraries/javascript/src/webhook.test.ts, "sign function works").
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn profile(secret: &str) -> SigningProfile {
        SigningProfile::from_spec(&SigningSpec {
            provider: "standard-webhooks".into(),
            secret: Some(secret.into()),
            ..Default::default()
        })
        .unwrap()
    }

    fn published(sig: &str) -> Vec<crate::capture::Header> {
        headers(&[
            ("webhook-id", ID),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", sig),
        ])
    }

    #[test]
    fn the_published_vector_signs_and_verifies() {
        let p = profile(SECRET);
        assert_eq!(p.verify(&published(EXPECTED), BODY, at(TS)), Verdict::Valid);
        let mut hs = published("v1,placeholder");
        p.resign(&mut hs, BODY, at(TS)).unwrap();
        assert_eq!(hs, published(EXPECTED));
        // The secret without its prefix is the same key (as the libraries accept).
        assert_eq!(
            profile(&SECRET[6..]).verify(&published(EXPECTED), BODY, at(TS)),
            Verdict::Valid
        );
    }

    #[test]
    fn tampered_stale_missing_and_several_signatures() {
        let p = profile(SECRET);
        assert_eq!(
            p.verify(&published(EXPECTED), b"{\"test\": 1}", at(TS)),
            Verdict::Invalid
        );
        assert_eq!(
            p.verify(&published(EXPECTED), BODY, at(TS + 301)),
            Verdict::Stale
        );
        assert_eq!(
            p.verify(&published(EXPECTED), BODY, at(TS - 301)),
            Verdict::Stale
        );
        assert_eq!(
            p.verify(&headers(&[("webhook-id", ID)]), BODY, at(TS)),
            Verdict::Missing
        );
        // As in the libraries' "multi sig payload is valid" test.
        let several = format!(
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {EXPECTED}"
        );
        assert_eq!(p.verify(&published(&several), BODY, at(TS)), Verdict::Valid);
        let wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        assert_eq!(p.verify(&published(wrong), BODY, at(TS)), Verdict::Invalid);
    }

    #[test]
    fn svix_header_names_verify_and_are_kept_when_re_signed() {
        let svix = headers(&[
            ("svix-id", ID),
            ("svix-timestamp", "1614265330"),
            ("svix-signature", EXPECTED),
        ]);
        assert_eq!(profile(SECRET).verify(&svix, BODY, at(TS)), Verdict::Valid);
        let staging = profile("whsec_c3RhZ2luZy1zZWNyZXQtYnl0ZXM=");
        let mut hs = svix.clone();
        let now = at(TS + 86_400);
        staging.resign(&mut hs, BODY, now).unwrap();
        assert_eq!(hs[0], svix[0], "same message id");
        assert_eq!(staging.verify(&hs, BODY, now), Verdict::Valid);
        assert_eq!(profile(SECRET).verify(&hs, BODY, now), Verdict::Invalid);
    }

    #[test]
    fn re_signing_without_a_message_id_fails() {
        let mut hs = headers(&[("webhook-signature", EXPECTED)]);
        let err = profile(SECRET).resign(&mut hs, BODY, at(TS)).unwrap_err();
        assert!(err.to_string().contains("webhook-id"), "{err}");
    }
}
