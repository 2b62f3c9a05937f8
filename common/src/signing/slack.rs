//! Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{ts}:{body}">`
//! with `X-Slack-Request-Timestamp: {ts}`.

use chrono::{DateTime, Utc};

use super::{headers, Verdict};
use crate::capture::Header;

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";

pub(super) fn verify(
    key: &[u8],
    hs: &[Header],
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Verdict {
    if !headers::has(hs, SIGNATURE) {
        return Verdict::Missing;
    }
    let sig = headers::get(hs, SIGNATURE)
        .and_then(|v| v.strip_prefix("v0="))
        .and_then(|v| hex::decode(v).ok());
    let ts = headers::get(hs, TIMESTAMP);
    let (Some(sig), Some(t), Some(ts)) = (sig, ts, ts.and_then(|t| t.parse::<i64>().ok())) else {
        return Verdict::Invalid;
    };
    if super::matches_sha256(key, &[b"v0:", t.as_bytes(), b":", body], &sig) {
        super::fresh(ts, received_at)
    } else {
        Verdict::Invalid
    }
}

pub(super) fn sign(key: &[u8], hs: &mut Vec<Header>, body: &[u8], now: DateTime<Utc>) {
    let t = now.timestamp().to_string();
    let sig = hex::encode(super::sign_sha256(key, &[b"v0:", t.as_bytes(), b":", body]));
    headers::set(hs, "X-Slack-Request-Timestamp", t);
    headers::set(hs, "X-Slack-Signature", format!("v0={sig}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::test_support::{at, headers};

    // api.slack.com, "Verifying requests from Slack": the documented example.
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: i64 = 1531420618;
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn documented() -> Vec<Header> {
        headers(&[
            ("X-Slack-Request-Timestamp", "1531420618"),
            ("X-Slack-Signature", SIG),
        ])
    }

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(
            verify(SECRET, &documented(), BODY, at(TS + 60)),
            Verdict::Valid
        );
        assert_eq!(
            verify(SECRET, &documented(), &BODY[1..], at(TS)),
            Verdict::Invalid
        );
        assert_eq!(
            verify(SECRET, &documented(), BODY, at(TS + 301)),
            Verdict::Stale
        );
        assert_eq!(
            verify(SECRET, &documented(), BODY, at(TS - 301)),
            Verdict::Stale
        );
        assert_eq!(
            verify(SECRET, &headers(&[]), BODY, at(TS)),
            Verdict::Missing
        );
        let no_ts = headers(&[("X-Slack-Signature", SIG)]);
        assert_eq!(verify(SECRET, &no_ts, BODY, at(TS)), Verdict::Invalid);
    }

    #[test]
    fn re_signed_for_staging_with_a_fresh_timestamp_verifies() {
        let now = at(TS + 3600);
        let mut hs = documented();
        sign(b"staging-secret", &mut hs, BODY, now);
        assert_eq!(verify(b"staging-secret", &hs, BODY, now), Verdict::Valid);
        assert_eq!(verify(SECRET, &hs, BODY, now), Verdict::Invalid);
        assert_eq!(hs[0].name, "X-Slack-Request-Timestamp", "order kept");
        let mut again = documented();
        sign(SECRET, &mut again, BODY, at(TS));
        assert_eq!(
            again,
            documented(),
            "same secret and time give the documented headers"
        );
    }
}
