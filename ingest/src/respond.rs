//! What ingest answers a webhook. A path without response rules answers as
//! it always did (its custom response, or 200 with the request id). With
//! rules, the first that matches answers (docs/RULES.md); the answer is
//! decided before the capture is published, so the capture carries which
//! rule gave it and what was sent, and sent only after it is durable.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use common::bus::PathRegistry;
use common::capture::SentResponse;
use common::paths::CustomResponse;
use common::rules::{self, Subject};
use common::{BusError, Capture, PathInfo};

/// The answer to record with the capture and send, or `None` for the
/// answer of a path with neither rules nor a body template (sent as before,
/// and not recorded).
pub(crate) async fn decide(
    registry: &PathRegistry,
    path: &PathInfo,
    capture: &Capture,
) -> Result<Option<SentResponse>, BusError> {
    let routing = &path.settings.routing;
    let subject = Subject::new(capture);
    if routing.rules.is_empty() {
        return Ok(path
            .settings
            .response
            .as_ref()
            .filter(|r| r.body_template.is_some())
            .map(|r| render(r, capture, &subject)));
    }
    let revision = path.settings.routing_revision.as_deref().unwrap_or("0");
    let hit = rules::choose(routing, &subject, |counter| {
        let key = counter.key(&path.path_id, revision);
        let registry = registry.clone();
        async move { registry.next_count(&key).await }
    })
    .await?;
    let sent = match hit {
        Some(i) => {
            let rule = &routing.rules[i];
            let mut sent = render(&rule.response, capture, &subject);
            sent.rule = Some(i as u32);
            sent.rule_name = rule.name.clone();
            sent
        }
        None => match &path.settings.response {
            Some(custom) => render(custom, capture, &subject),
            None => default_answer(capture),
        },
    };
    Ok(Some(sent))
}

/// A custom response without a template, as it is sent.
pub(crate) fn fixed(r: &CustomResponse) -> SentResponse {
    SentResponse {
        rule: None,
        rule_name: None,
        status: r.status,
        headers: r.headers.clone(),
        body: r.body.clone(),
        delay_ms: r.delay_ms,
        error: None,
    }
}

fn render(r: &CustomResponse, capture: &Capture, subject: &Subject<'_>) -> SentResponse {
    let mut sent = fixed(r);
    if let Some(template) = &r.body_template {
        match template.render(capture, subject.json()) {
            Ok(body) => sent.body = body,
            Err(e) => {
                // The capture is still stored; the sender learns why the
                // configured answer could not be made.
                sent.status = 500;
                sent.headers = vec![("content-type".into(), "application/json".into())];
                sent.body = serde_json::json!({"error": {"code": "template_failed", "message": e}})
                    .to_string();
                sent.error = Some(e);
            }
        }
    }
    sent
}

/// The default answer, as recorded when a path's rules all missed.
fn default_answer(capture: &Capture) -> SentResponse {
    SentResponse {
        rule: None,
        rule_name: None,
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        // The same bytes as the default answer's (field order included).
        body: format!(r#"{{"status":"received","request_id":"{}"}}"#, capture.id),
        delay_ms: 0,
        error: None,
    }
}

/// Sends a decided answer; called once the capture is durable. Its headers
/// were validated when the path was configured.
pub(crate) async fn send(sent: SentResponse) -> Response {
    if sent.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sent.delay_ms)).await;
    }
    let mut response = Response::new(Body::from(sent.body));
    *response.status_mut() = StatusCode::from_u16(sent.status).unwrap_or(StatusCode::OK);
    for (name, value) in &sent.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
