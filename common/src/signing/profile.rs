//! A signing profile: which scheme, and the secret it is keyed with.
//!
//! The secret is write-only: it is stored (apart from the path settings the
//! registry carries, so it never travels over the bus), and shown only as
//! a fingerprint. `Debug` never prints it.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use utoipa::ToSchema;

use super::generic::{HmacParams, SignatureEncoding};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Github,
    Stripe,
    Slack,
    Shopify,
    StandardWebhooks,
    Hmac,
}

impl Provider {
    pub const ALL: [Self; 6] = [
        Self::Github,
        Self::Stripe,
        Self::Slack,
        Self::Shopify,
        Self::StandardWebhooks,
        Self::Hmac,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Stripe => "stripe",
            Self::Slack => "slack",
            Self::Shopify => "shopify",
            Self::StandardWebhooks => "standard-webhooks",
            Self::Hmac => "hmac",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }
}

/// A secret as the user gave it; never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 8 hex digits of the SHA-256 of the secret: enough to tell two
    /// secrets apart, useless for recovering one.
    pub fn fingerprint(&self) -> String {
        hex::encode(&sha2::Sha256::digest(self.0.as_bytes())[..4])
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(fingerprint {})", self.fingerprint())
    }
}

/// A checked profile, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningProfile {
    pub provider: Provider,
    pub secret: Secret,
    /// Only for `hmac`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<HmacParams>,
}

/// A profile as the API and the CLIs take it, before it is checked.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigningSpec {
    /// `github`, `stripe`, `slack`, `shopify`, `standard-webhooks` or `hmac`.
    pub provider: String,
    /// The signing secret (write-only). Standard Webhooks: `whsec_` + base64.
    pub secret: Option<String>,
    /// `hmac` only: the header carrying the signature.
    pub header: Option<String>,
    /// `hmac` only: `hex` (default) or `base64`.
    pub encoding: Option<String>,
    /// `hmac` only: text before the signature in the header, e.g. `sha256=`.
    pub prefix: Option<String>,
}

impl std::fmt::Debug for SigningSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSpec")
            .field("provider", &self.provider)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// What the API shows of a profile: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SigningView {
    pub provider: Provider,
    /// First 8 hex digits of the SHA-256 of the secret.
    pub secret_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<SignatureEncoding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// Why a profile is refused; the message never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("unknown signing provider {0:?}: use github, stripe, slack, shopify, standard-webhooks or hmac")]
    UnknownProvider(String),
    #[error("a signing profile needs a secret")]
    MissingSecret,
    #[error("the signing secret is empty")]
    EmptySecret,
    #[error("a standard-webhooks secret must be base64 (optionally after whsec_)")]
    SecretNotBase64,
    #[error("{0}")]
    Hmac(String),
}

impl SigningProfile {
    pub fn from_spec(spec: &SigningSpec) -> Result<Self, SigningError> {
        let provider = Provider::parse(spec.provider.trim())
            .ok_or_else(|| SigningError::UnknownProvider(spec.provider.clone()))?;
        let secret = spec.secret.as_deref().ok_or(SigningError::MissingSecret)?;
        if secret.is_empty() {
            return Err(SigningError::EmptySecret);
        }
        if provider == Provider::StandardWebhooks {
            match standard_key(secret) {
                Some(key) if !key.is_empty() => {}
                _ => return Err(SigningError::SecretNotBase64),
            }
        }
        let hmac = match provider {
            Provider::Hmac => Some(HmacParams::from_spec(spec).map_err(SigningError::Hmac)?),
            _ if spec.header.is_some() || spec.encoding.is_some() || spec.prefix.is_some() => {
                return Err(SigningError::Hmac(
                    "header, encoding and prefix are for the hmac provider only".into(),
                ))
            }
            _ => None,
        };
        Ok(Self {
            provider,
            secret: Secret::new(secret),
            hmac,
        })
    }

    pub fn view(&self) -> SigningView {
        SigningView {
            provider: self.provider,
            secret_fingerprint: self.secret.fingerprint(),
            header: self.hmac.as_ref().map(|h| h.header.clone()),
            encoding: self.hmac.as_ref().map(|h| h.encoding),
            prefix: self.hmac.as_ref().and_then(|h| h.prefix.clone()),
        }
    }

    /// The HMAC key: the secret's bytes, except Standard Webhooks, whose
    /// key is the base64 after `whsec_`.
    pub(super) fn key(&self) -> Vec<u8> {
        match self.provider {
            Provider::StandardWebhooks => standard_key(self.secret.expose()).unwrap_or_default(),
            _ => self.secret.expose().as_bytes().to_vec(),
        }
    }
}

fn standard_key(secret: &str) -> Option<Vec<u8>> {
    let raw = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD.decode(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(provider: &str, secret: Option<&str>) -> SigningSpec {
        SigningSpec {
            provider: provider.into(),
            secret: secret.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn bad_profiles_are_refused_with_a_reason() {
        let refused = |s: SigningSpec| SigningProfile::from_spec(&s).unwrap_err();
        assert!(matches!(
            refused(spec("paypal", Some("x"))),
            SigningError::UnknownProvider(_)
        ));
        assert_eq!(refused(spec("stripe", None)), SigningError::MissingSecret);
        assert_eq!(refused(spec("github", Some(""))), SigningError::EmptySecret);
        assert_eq!(
            refused(spec("standard-webhooks", Some("whsec_not*base64!"))),
            SigningError::SecretNotBase64
        );
        assert!(matches!(
            refused(spec("hmac", Some("k"))),
            SigningError::Hmac(_)
        ));
        // Stripe's own secrets start with whsec_ too and are used as text.
        assert!(SigningProfile::from_spec(&spec("stripe", Some("whsec_abc"))).is_ok());
    }

    #[test]
    fn the_view_and_debug_never_show_the_secret() {
        let p = SigningProfile::from_spec(&spec("stripe", Some("sk_very_secret"))).unwrap();
        let shown = format!("{:?} {}", p, serde_json::to_string(&p.view()).unwrap());
        assert!(!shown.contains("sk_very_secret"), "{shown}");
        assert_eq!(p.view().secret_fingerprint.len(), 8);
        let s = spec("stripe", Some("sk_very_secret"));
        assert!(!format!("{s:?}").contains("sk_very_secret"));
    }
}
