//! Prometheus metrics: one process-wide recorder, rendered at `/metrics`.
//! Names follow Prometheus conventions (`_total` counters, `_seconds`
//! histograms, base units); every family is listed in [`catalog`] and
//! present, at zero, from the start.

pub mod catalog;
pub mod http;
mod process;

use std::sync::{Mutex, OnceLock};

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use catalog::Scope;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Gauges read when scraped (pool sizes): cheaper than a sampler task, and
/// never stale.
type Probe = Box<dyn Fn() -> bool + Send + Sync>;
static PROBES: Mutex<Vec<Probe>> = Mutex::new(Vec::new());

/// Latency buckets from 100 µs to 10 s.
const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
const BATCH: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
/// Body sizes from 64 B to 64 MiB, by powers of 4.
const BYTES: &[f64] = &[
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];

/// `GET /metrics`, served by every role.
pub fn router() -> Router {
    Router::new().route("/metrics", get(render))
}

/// Prometheus text exposition.
async fn render() -> impl IntoResponse {
    let handle = install();
    process::collect();
    PROBES.lock().expect("probes").retain(|probe| probe());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        handle.render(),
    )
}

/// Installs the recorder once (later calls reuse it) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("_batch_size".into()), BATCH)
                })
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_bytes".into()), BYTES))
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed, e.g. in tests that
            // build several apps in one process; the first one serves all.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Which build runs, for `cl_build_info` (the binary knows its commit).
#[derive(Debug, Clone, Copy)]
pub struct Build {
    pub version: &'static str,
    pub git_commit: &'static str,
}

/// Installs the recorder and registers, at zero, every family a process
/// with these scopes has (see [`catalog`]).
pub fn start(scopes: &[Scope], build: Build) -> PrometheusHandle {
    let handle = install();
    catalog::register(scopes);
    process::register(build);
    for route in ["/metrics", "/health/live", "/health/ready"] {
        http::register_route("GET", route);
    }
    if scopes.contains(&Scope::Ingest) {
        http::register_route("POST", "/webhook/{path_id}");
    }
    handle
}

/// Runs `probe` at each scrape until it returns false (its source is gone).
pub fn on_scrape(probe: impl Fn() -> bool + Send + Sync + 'static) {
    PROBES.lock().expect("probes").push(Box::new(probe));
}
