//! Provider webhook signatures: verifying a capture on arrival, and
//! re-signing it for another secret on replay (body untouched, only the
//! signature headers and their timestamp recomputed).
//!
//! One file per scheme; this module holds what they share: the profile
//! (provider + secret, write-only), the verdict, and the HMAC helpers.

mod generic;
mod github;
mod headers;
mod profile;
mod shopify;
mod slack;
mod standard;
mod stripe;

use chrono::{DateTime, Utc};
use hmac::{KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::capture::Header;

pub use generic::{HmacParams, SignatureEncoding};
pub use profile::{Provider, Secret, SigningError, SigningProfile, SigningSpec, SigningView};

/// How far a signed timestamp may be from the time the request arrived
/// (Stripe, Slack and Standard Webhooks all use five minutes).
pub const TOLERANCE_SECS: i64 = 300;

/// What verification says about one capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    /// A signature is there but does not match the body (or is malformed).
    Invalid,
    /// The signature matches, but its timestamp is outside the tolerance
    /// of the time the capture was received.
    Stale,
    /// The scheme's signature header is absent.
    Missing,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Stale => "stale",
            Self::Missing => "missing",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Valid, Self::Invalid, Self::Stale, Self::Missing]
            .into_iter()
            .find(|v| v.as_str() == raw)
    }
}

/// Why a capture cannot be re-signed (the replay reports it as failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot re-sign: {0}")]
pub struct ResignError(pub String);

impl SigningProfile {
    /// The verdict on a request with these headers and body, received at
    /// `received_at` (the reference for timestamp tolerance).
    pub fn verify(&self, headers: &[Header], body: &[u8], received_at: DateTime<Utc>) -> Verdict {
        let key = self.key();
        match self.provider {
            Provider::Github => github::verify(&key, headers, body),
            Provider::Stripe => stripe::verify(&key, headers, body, received_at),
            Provider::Slack => slack::verify(&key, headers, body, received_at),
            Provider::Shopify => shopify::verify(&key, headers, body),
            Provider::StandardWebhooks => standard::verify(&key, headers, body, received_at),
            // from_spec gives every hmac profile its parameters.
            Provider::Hmac => match &self.hmac {
                Some(params) => generic::verify(params, &key, headers, body),
                None => Verdict::Invalid,
            },
        }
    }

    /// Rewrites the signature headers in place for this profile's secret,
    /// timestamped `now`; every other header, and the body, stay as they are.
    pub fn resign(
        &self,
        headers: &mut Vec<Header>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), ResignError> {
        let key = self.key();
        match self.provider {
            Provider::Github => github::sign(&key, headers, body),
            Provider::Stripe => stripe::sign(&key, headers, body, now),
            Provider::Slack => slack::sign(&key, headers, body, now),
            Provider::Shopify => shopify::sign(&key, headers, body),
            Provider::StandardWebhooks => return standard::sign(&key, headers, body, now),
            Provider::Hmac => match &self.hmac {
                Some(params) => generic::sign(params, &key, headers, body),
                None => return Err(ResignError("the hmac profile has no header".into())),
            },
        }
        Ok(())
    }
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn mac_sha256(key: &[u8], parts: &[&[u8]]) -> hmac::Hmac<sha2::Sha256> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Whether `tag` is the HMAC-SHA256 of `parts` (constant-time comparison).
pub(crate) fn matches_sha256(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    mac_sha256(key, parts).verify_slice(tag).is_ok()
}

pub(crate) fn sign_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac_sha256(key, parts).finalize().into_bytes().to_vec()
}

/// `Valid` or `Stale` for a matching signature timestamped `ts` (Unix
/// seconds), judged against the time the request was received.
pub(crate) fn fresh(ts: i64, received_at: DateTime<Utc>) -> Verdict {
    if (received_at.timestamp() - ts).abs() > TOLERANCE_SECS {
        Verdict::Stale
    } else {
        Verdict::Valid
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use bytes::Bytes;

    use crate::capture::Header;

    pub fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs
            .iter()
            .map(|(n, v)| Header {
                name: (*n).to_owned(),
                value: Bytes::copy_from_slice(v.as_bytes()),
            })
            .collect()
    }

    pub fn at(ts: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(ts, 0).unwrap()
    }
}
