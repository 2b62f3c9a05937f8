//! HTTP server metrics for every role, named after OpenTelemetry's HTTP
//! semantic conventions as Prometheus renders them: duration (its `_count`
//! is the request count), active requests, request and response body sizes.
//!
//! The route label is the router's template (`/api/paths/{path_id}`), never
//! the raw path: a path id must not become a label value. A request that
//! matched no route gets an empty route.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt as _;

/// Labels of one request, all `'static` so recording allocates no strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Labels {
    method: &'static str,
    route: &'static str,
    status: &'static str,
}

impl Labels {
    fn as_array(&self) -> [(&'static str, &'static str); 3] {
        [
            ("http_request_method", self.method),
            ("http_route", self.route),
            ("http_response_status_code", self.status),
        ]
    }
}

/// The three histograms of one label set, looked up once and kept: the
/// recorder's own lookup builds and hashes a key per call, three times a
/// request. (Handles are bound to the recorder installed when first looked
/// up; the roles install it before serving.)
#[derive(Clone)]
struct Series {
    duration: metrics::Histogram,
    request_size: metrics::Histogram,
    response_size: metrics::Histogram,
}

impl Series {
    fn of(labels: Labels) -> Self {
        static CACHE: OnceLock<RwLock<HashMap<Labels, Series>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(s) = cache.read().expect("series").get(&labels) {
            return s.clone();
        }
        let pairs = labels.as_array();
        let series = Self {
            duration: metrics::histogram!("http_server_request_duration_seconds", &pairs),
            request_size: metrics::histogram!("http_server_request_body_size_bytes", &pairs),
            response_size: metrics::histogram!("http_server_response_body_size_bytes", &pairs),
        };
        cache
            .write()
            .expect("series")
            .insert(labels, series.clone());
        series
    }
}

/// Registers a route's series at zero (a 200 to it), so the families are
/// present before the first request.
pub fn register_route(method: &'static str, route: &'static str) {
    Series::of(Labels {
        method,
        route,
        status: status_label(200),
    });
}

/// The middleware (`axum::middleware::from_fn(http::track)`), applied with
/// `Router::layer` so that the route is already matched.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("", |p| intern(p.as_str()));
    let active = active_gauge(method);
    active.increment(1.0);

    // A declared length is the size; a chunked body is counted as the
    // handler reads it (webhooks read it whole before answering).
    let declared = content_length(req.headers());
    let read = Arc::new(AtomicU64::new(0));
    let req = match declared {
        Some(_) => req,
        None => {
            let counter = read.clone();
            req.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    frame
                }))
            })
        }
    };

    let response = next.run(req).await;
    active.decrement(1.0);
    let labels = Labels {
        method,
        route,
        status: status_label(response.status().as_u16()),
    };
    let series = Series::of(labels);
    series.duration.record(start.elapsed().as_secs_f64());
    let request_bytes = declared.unwrap_or_else(|| read.load(Ordering::Relaxed));
    series.request_size.record(request_bytes as f64);
    record_response_size(series.response_size, response)
}

/// A body of known size is recorded now; a stream (the live feed, a
/// compressed export) when it ends, with what was sent.
fn record_response_size(histogram: metrics::Histogram, response: Response) -> Response {
    use http_body::Body as _;
    if let Some(n) = response.body().size_hint().exact() {
        histogram.record(n as f64);
        return response;
    }
    let mut sent = SentBytes { histogram, n: 0 };
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                sent.add(data.len());
            }
            frame
        }))
    })
}

/// Records the bytes a streamed response sent when the body is dropped.
struct SentBytes {
    histogram: metrics::Histogram,
    n: u64,
}

impl SentBytes {
    /// A method, so the closure owns the whole struct (and its `Drop`), not
    /// just the field.
    fn add(&mut self, n: usize) {
        self.n += n as u64;
    }
}

impl Drop for SentBytes {
    fn drop(&mut self) {
        self.histogram.record(self.n as f64);
    }
}

/// `http_server_active_requests` of a method, looked up once per method.
fn active_gauge(method: &'static str) -> metrics::Gauge {
    static GAUGES: OnceLock<HashMap<&'static str, metrics::Gauge>> = OnceLock::new();
    GAUGES.get_or_init(|| {
        super::catalog::METHODS
            .iter()
            .map(|m| {
                (
                    *m,
                    metrics::gauge!("http_server_active_requests", "http_request_method" => *m),
                )
            })
            .collect()
    })[method]
        .clone()
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Known methods by name; anything else (webhooks take any method) is
/// `_OTHER`, as the conventions say.
fn method_label(method: &Method) -> &'static str {
    super::catalog::METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("_OTHER")
}

/// Route templates are few and fixed (the router's), so each is leaked
/// once and reused.
fn intern(route: &str) -> &'static str {
    static ROUTES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(r) = routes.read().expect("routes").get(route) {
        return r;
    }
    let mut routes = routes.write().expect("routes");
    if let Some(r) = routes.get(route) {
        return r;
    }
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    routes.insert(leaked);
    leaked
}

/// "100" to "599" (what hyper can send), built once.
fn status_label(code: u16) -> &'static str {
    static CODES: OnceLock<Vec<String>> = OnceLock::new();
    let codes = CODES.get_or_init(|| (100..600).map(|c| c.to_string()).collect());
    codes
        .get(usize::from(code.saturating_sub(100)))
        .map_or("_OTHER", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"PURGE").unwrap()),
            "_OTHER"
        );
    }

    #[test]
    fn status_labels_are_the_codes() {
        assert_eq!(status_label(100), "100");
        assert_eq!(status_label(503), "503");
        assert_eq!(status_label(599), "599");
    }

    #[test]
    fn routes_are_interned_once() {
        let a = intern("/api/paths/{path_id}");
        let b = intern(&String::from("/api/paths/{path_id}"));
        assert!(std::ptr::eq(a, b));
    }
}
