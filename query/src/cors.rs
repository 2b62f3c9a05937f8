//! CORS for the API and live feeds, so a frontend on another origin can use
//! them. Off by default; `--cors-origins` lists the origins (or `*`).
//!
//! Credentials are never allowed: the service has no cookies, and its tokens
//! travel in `Authorization` / `X-Read-Token` (or a query parameter for
//! EventSource), which need no credentialed requests. So `*` never meets
//! `Access-Control-Allow-Credentials`.

use std::str::FromStr;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::{Layer as _, ServiceExt as _};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Wraps the whole app (after its fallbacks are set, which would otherwise
/// replace a layered 405 handler and hide preflights) with CORS for `/api`
/// routes only: an OPTIONS to a webhook URL is a capture, not a preflight.
pub fn apply(app: Router, origins: &CorsOrigins) -> Router {
    match origins.layer() {
        None => app,
        Some(cors) => app.layer(axum::middleware::from_fn_with_state(cors, api_only)),
    }
}

async fn api_only(State(cors): State<CorsLayer>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        match cors.layer(next).oneshot(request).await {
            Ok(response) => response.into_response(),
            Err(never) => match never {},
        }
    } else {
        next.run(request).await
    }
}

/// How long a browser may cache a preflight answer.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    #[default]
    Off,
    Any,
    List(Vec<HeaderValue>),
}

impl FromStr for CorsOrigins {
    type Err = String;

    /// A comma list of `scheme://host[:port]` origins, `*`, or empty (off).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Ok(Self::Off);
        }
        if items.contains(&"*") {
            return if items.len() == 1 {
                Ok(Self::Any)
            } else {
                Err("`*` cannot be combined with listed origins".into())
            };
        }
        items
            .into_iter()
            .map(parse_origin)
            .collect::<Result<_, _>>()
            .map(Self::List)
    }
}

/// Browsers send `Origin` as `scheme://host[:port]`, never with a path or a
/// trailing slash, so anything else would silently never match.
fn parse_origin(raw: &str) -> Result<HeaderValue, String> {
    let bad = || format!("not an origin: {raw:?} (expected scheme://host[:port], no path)");
    let (scheme, rest) = raw.split_once("://").ok_or_else(bad)?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok || rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    HeaderValue::from_str(&raw.to_ascii_lowercase()).map_err(|_| bad())
}

impl CorsOrigins {
    /// The layer for the API router, or `None` when CORS is off.
    pub fn layer(&self) -> Option<CorsLayer> {
        let origin = match self {
            Self::Off => return None,
            Self::Any => AllowOrigin::any(),
            Self::List(list) => AllowOrigin::list(list.iter().cloned()),
        };
        Some(
            CorsLayer::new()
                .allow_origin(origin)
                .allow_methods([
                    Method::GET,
                    Method::HEAD,
                    Method::POST,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("last-event-id"),
                    HeaderName::from_static("x-read-token"),
                ])
                // What a client reads beyond the safelisted ones: file names
                // of exports and bodies, why a token was refused, when to retry.
                .expose_headers([
                    header::CONTENT_DISPOSITION,
                    header::WWW_AUTHENTICATE,
                    header::RETRY_AFTER,
                ])
                .max_age(MAX_AGE),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_as_off_any_or_a_list() {
        assert_eq!("".parse::<CorsOrigins>(), Ok(CorsOrigins::Off));
        assert_eq!(" * ".parse::<CorsOrigins>(), Ok(CorsOrigins::Any));
        let list: CorsOrigins = "http://127.0.0.1:3000, https://App.example"
            .parse()
            .unwrap();
        assert_eq!(
            list,
            CorsOrigins::List(vec![
                HeaderValue::from_static("http://127.0.0.1:3000"),
                HeaderValue::from_static("https://app.example"),
            ])
        );
    }

    #[test]
    fn paths_wildcard_mixes_and_bare_hosts_are_refused() {
        for bad in [
            "https://a.example/",
            "a.example",
            "*,https://a.example",
            "http://",
        ] {
            assert!(bad.parse::<CorsOrigins>().is_err(), "{bad}");
        }
    }
}
