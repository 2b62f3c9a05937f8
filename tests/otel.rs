//! One trace across the split shape: the webhook's span in ingest and the
//! writer's span in query share a trace id, because the W3C trace context
//! travels in the NATS message headers.
//!
//! A binary of its own: it installs the global subscriber, which a test
//! sharing the `it` binary could not do without disturbing the others.

use std::time::Duration;

use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt as _;

#[allow(dead_code)]
#[path = "it/support/mod.rs"]
mod support;

use support::{spawn_app, Shape};

fn with_capture<'a>(spans: &'a [SpanData], name: &str, id: &str) -> Option<&'a SpanData> {
    spans.iter().find(|s| {
        s.name == name
            && s.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "capture_id" && kv.value == Value::from(id.to_owned()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_and_writer_spans_share_one_trace_across_nats() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let app = spawn_app(Shape::Split).await;
    let path = app.new_path().await;
    let id = app.send(app.webhook("POST", &path, "/traced")).await;
    app.wait_count(&path, 1).await;

    let mut found = None;
    for _ in 0..100 {
        let spans = exporter.get_finished_spans().unwrap();
        if let (Some(http), Some(publish), Some(written)) = (
            with_capture(&spans, "http", &id).cloned(),
            with_capture(&spans, "capture.publish", &id).cloned(),
            with_capture(&spans, "capture.written", &id).cloned(),
        ) {
            found = Some((http, publish, written));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (http, publish, written) = found.expect("webhook, publish and written spans exported");
    let trace_id = http.span_context.trace_id();
    assert_ne!(trace_id, opentelemetry::trace::TraceId::INVALID);
    assert_eq!(publish.span_context.trace_id(), trace_id);
    assert_eq!(
        written.span_context.trace_id(),
        trace_id,
        "the query's writer span continues the ingest's trace"
    );
    assert_eq!(written.parent_span_id, publish.span_context.span_id());
    assert_ne!(written.parent_span_id, SpanId::INVALID);
    app.stop().await;
}
