//! Logging and tracing set-up: human-readable logs by default, JSON lines with
//! `CL_LOG_FORMAT=json`; request bodies and header values are never logged.
//!
//! When the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans are also exported over
//! OTLP/HTTP (protobuf) in batches; otherwise no OpenTelemetry layer is
//! installed at all. The W3C trace context crosses the bus in message
//! headers, see [`crate::trace_context`].

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Keeps the OTLP exporter alive; dropping it (or [`Telemetry::shutdown`])
/// flushes the spans still queued and stops the exporter.
#[must_use = "dropping the guard stops span export"]
#[derive(Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes queued spans and stops the exporter; idempotent.
    pub fn shutdown(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("OpenTelemetry shutdown failed: {e}");
            }
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Target of the spans opened for every webhook or written capture. They
/// exist for the OpenTelemetry trace; the log formatter skips them, because
/// formatting their fields cost ~5% of ingest's CPU (docs/BENCHMARKS.md) for
/// context that log lines of the hot path rarely need.
pub const PER_REQUEST: &str = "callback_listener::per_request";

/// Installs the global subscriber; `RUST_LOG` overrides the default filter.
/// `service` names the process in traces unless `OTEL_SERVICE_NAME` is set.
pub fn init(format: LogFormat, service: &str) -> Telemetry {
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,async_nats=warn"));
    let fmt = tracing_subscriber::fmt::layer();
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    }
    .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.is_span() && meta.target() == PER_REQUEST)
    }));
    let provider = if otlp_configured() {
        match provider(service) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("OpenTelemetry export disabled: {e}");
                None
            }
        }
    } else {
        None
    };
    if provider.is_none() {
        // Nobody reads the per-request spans: not creating them at all saves
        // the subscriber's bookkeeping on every webhook.
        filter = filter.add_directive(
            format!("{PER_REQUEST}=off")
                .parse()
                .expect("a static directive parses"),
        );
    }
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("callback-listener")));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    Telemetry { provider }
}

fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|var| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))
}

/// The batch exporter reads the `OTEL_EXPORTER_OTLP_*` variables itself
/// (endpoint, headers, timeout); the SDK reads `OTEL_SERVICE_NAME` and
/// `OTEL_RESOURCE_ATTRIBUTES`.
fn provider(service: &str) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()?;
    let resource = if std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty()) {
        Resource::builder().build()
    } else {
        Resource::builder()
            .with_service_name(service.to_owned())
            .build()
    };
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
