//! W3C trace context (`traceparent`, `tracestate`) across the bus, so one
//! trace covers webhook received -> published -> written to the store.
//!
//! Without an OpenTelemetry layer (no OTLP endpoint configured) spans carry no
//! context: nothing is injected and extraction yields an empty context.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The OpenTelemetry context of `span`, or `None` when it has none (no
/// OpenTelemetry layer, or the span is disabled).
pub fn of_span(span: &tracing::Span) -> Option<Context> {
    let cx = span.context();
    cx.span().span_context().is_valid().then_some(cx)
}

/// Writes `traceparent` (and `tracestate` when present) of `cx` into NATS
/// message headers.
pub fn inject(cx: &Context, headers: &mut async_nats::HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut NatsHeaders(headers));
}

/// Reads the trace context a publisher put into the message headers.
pub fn extract(headers: Option<&async_nats::HeaderMap>) -> Option<Context> {
    let headers = headers?;
    let cx = TraceContextPropagator::new().extract(&NatsHeadersRef(headers));
    cx.span().span_context().is_valid().then_some(cx)
}

/// A span for one capture written to the store, child of the trace it was
/// received in (when that trace is known).
pub fn written_span(capture_id: uuid::Uuid, parent: Option<Context>) -> tracing::Span {
    let span = tracing::info_span!(
        target: crate::telemetry::PER_REQUEST,
        "capture.written",
        capture_id = %capture_id
    );
    if let Some(parent) = parent {
        let _ = span.set_parent(parent);
    }
    span
}

struct NatsHeaders<'a>(&'a mut async_nats::HeaderMap);

impl Injector for NatsHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct NatsHeadersRef<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsHeadersRef<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}
