//! Prometheus metrics: one process-wide recorder, rendered at `/metrics`.
//! Names follow Prometheus conventions (`_total` counters, `_seconds`
//! histograms, base units).

use std::sync::OnceLock;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets from 100 µs to 10 s.
const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
const BATCH: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// `GET /metrics`, served by every role.
pub fn router() -> Router {
    Router::new().route("/metrics", get(render))
}

/// Prometheus text exposition.
async fn render() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        install().render(),
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
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed, e.g. in tests that
            // build several apps in one process; the first one serves all.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "cl_captures_received_total",
        "Webhooks captured and acknowledged to the sender"
    );
    describe_counter!("cl_captures_rejected_total", "Webhooks refused, by reason");
    describe_histogram!(
        "cl_publish_duration_seconds",
        Unit::Seconds,
        "Time until the bus made a capture durable"
    );
    describe_counter!(
        "cl_captures_written_total",
        "Captures newly written to the store"
    );
    describe_histogram!("cl_write_batch_size", "Captures per store transaction");
    describe_histogram!(
        "cl_write_duration_seconds",
        Unit::Seconds,
        "Store batch insert time"
    );
    describe_counter!(
        "cl_messages_parked_total",
        "Undecodable stream messages parked"
    );
    describe_counter!(
        "cl_messages_redelivered_total",
        "Stream messages delivered more than once"
    );
    describe_gauge!(
        "cl_consumer_pending",
        "Messages in the stream not yet delivered to the writer"
    );
    describe_gauge!("cl_sse_clients", "Open live-feed connections");
    describe_counter!(
        "cl_forwards_skipped_total",
        "Captures not forwarded because the forwarder fell behind the writer"
    );
}
