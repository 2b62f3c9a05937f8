//! Generic HMAC-SHA256 of the body in a header of the user's choosing, hex
//! or base64, after an optional prefix (`sha256=`...): the shape most
//! home-grown senders use. No timestamp, so never stale.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{headers, SigningSpec, Verdict};
use crate::capture::Header;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacParams {
    /// Lower-case header name.
    pub header: String,
    pub encoding: SignatureEncoding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

impl HmacParams {
    pub(super) fn from_spec(spec: &SigningSpec) -> Result<Self, String> {
        let raw = spec
            .header
            .as_deref()
            .ok_or("the hmac provider needs a header (the one carrying the signature)")?;
        let header = http::HeaderName::from_bytes(raw.trim().as_bytes())
            .map_err(|_| format!("{raw:?} is not a valid header name"))?;
        let encoding = match spec.encoding.as_deref() {
            None | Some("hex") => SignatureEncoding::Hex,
            Some("base64") => SignatureEncoding::Base64,
            Some(other) => return Err(format!("unknown encoding {other:?}: use hex or base64")),
        };
        Ok(Self {
            header: header.as_str().to_owned(),
            encoding,
            prefix: spec.prefix.clone().filter(|p| !p.is_empty()),
        })
    }

    fn decode(&self, value: &str) -> Option<Vec<u8>> {
        let value = match &self.prefix {
            Some(p) => value.strip_prefix(p.as_str())?,
            None => value,
        };
        match self.encoding {
            SignatureEncoding::Hex => hex::decode(value).ok(),
            SignatureEncoding::Base64 => {
                base64::engine::general_purpose::STANDARD.decode(value).ok()
            }
        }
    }

    fn encode(&self, tag: &[u8]) -> String {
        let sig = match self.encoding {
            SignatureEncoding::Hex => hex::encode(tag),
            SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(tag),
        };
        format!("{}{sig}", self.prefix.as_deref().unwrap_or_default())
    }
}

pub(super) fn verify(params: &HmacParams, key: &[u8], hs: &[Header], body: &[u8]) -> Verdict {
    if !headers::has(hs, &params.header) {
        return Verdict::Missing;
    }
    match headers::get(hs, &params.header).and_then(|v| params.decode(v)) {
        Some(sig) if super::matches_sha256(key, &[body], &sig) => Verdict::Valid,
        _ => Verdict::Invalid,
    }
}

pub(super) fn sign(params: &HmacParams, key: &[u8], hs: &mut Vec<Header>, body: &[u8]) {
    headers::set(
        hs,
        &params.header,
        params.encode(&super::sign_sha256(key, &[body])),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::test_support::headers;

    const BODY: &[u8] = br#"{"ok":true}"#;
    // Python: hmac.new(b"generic-key", BODY, hashlib.sha256), hexdigest / base64.
    const HEX: &str = "8a68387c8e049c2b47c4dfae7bf4100efd82811b6661fa77232181af34724077";
    const B64: &str = "img4fI4EnCtHxN+ue/QQDv2CgRtmYfp3IyGBrzRyQHc=";

    fn params(encoding: &str, prefix: Option<&str>) -> HmacParams {
        HmacParams::from_spec(&SigningSpec {
            provider: "hmac".into(),
            header: Some("X-Signature".into()),
            encoding: Some(encoding.into()),
            prefix: prefix.map(Into::into),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn hex_with_prefix_and_base64_signatures_verify() {
        let hex = params("hex", Some("sha256="));
        let hs = headers(&[("x-signature", &format!("sha256={HEX}"))]);
        assert_eq!(verify(&hex, b"generic-key", &hs, BODY), Verdict::Valid);
        assert_eq!(verify(&hex, b"generic-key", &hs, b"{}"), Verdict::Invalid);
        let unprefixed = headers(&[("x-signature", HEX)]);
        assert_eq!(
            verify(&hex, b"generic-key", &unprefixed, BODY),
            Verdict::Invalid
        );
        assert_eq!(
            verify(&hex, b"generic-key", &headers(&[]), BODY),
            Verdict::Missing
        );
        let b64 = params("base64", None);
        let hs = headers(&[("X-Signature", B64)]);
        assert_eq!(verify(&b64, b"generic-key", &hs, BODY), Verdict::Valid);
    }

    #[test]
    fn re_signed_for_staging_verifies() {
        let p = params("hex", Some("sha256="));
        let mut hs = headers(&[("X-Signature", &format!("sha256={HEX}"))]);
        sign(&p, b"staging", &mut hs, BODY);
        assert_eq!(hs[0].name, "X-Signature", "the sender's name case is kept");
        assert_eq!(verify(&p, b"staging", &hs, BODY), Verdict::Valid);
        assert_eq!(verify(&p, b"generic-key", &hs, BODY), Verdict::Invalid);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let spec = |header: Option<&str>, encoding: Option<&str>| SigningSpec {
            provider: "hmac".into(),
            header: header.map(Into::into),
            encoding: encoding.map(Into::into),
            ..Default::default()
        };
        assert!(HmacParams::from_spec(&spec(None, None)).is_err());
        assert!(HmacParams::from_spec(&spec(Some("bad header"), None)).is_err());
        assert!(HmacParams::from_spec(&spec(Some("x-sig"), Some("base32"))).is_err());
    }
}
