//! Request bodies and query strings whose rejections are our JSON errors
//! rather than axum's plain-text ones.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use bytes::Bytes;
use common::ApiError;
use serde::de::DeserializeOwned;

/// A JSON body that may be absent: an empty body is `None`.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let essence = ct.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
            });
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request("body_unreadable", e.body_text()))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if is_json == Some(false) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        serde_json::from_slice(&body)
            .map(|v| Self(Some(v)))
            .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid JSON body: {e}")))
    }
}

/// Query-string parameters; a malformed string is a JSON 400.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Self(q.0))
            .map_err(|e| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("invalid query string: {}", e.body_text()),
                )
            })
    }
}
