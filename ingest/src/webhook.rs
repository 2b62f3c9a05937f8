//! `ANY /webhook/{path_id}[/{*subpath}]`: capture the request exactly, publish
//! it, and answer 200 only after the bus acknowledged it as durable.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use common::http_error::too_many_requests;
use common::{ApiError, Capture, PathId};
use serde::Serialize;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::wire_head::{headers_as_sent, WireHead};
use crate::IngestState;

#[derive(Serialize)]
struct Received {
    status: &'static str,
    request_id: Uuid,
}

pub(crate) async fn receive(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    // The raw (still percent-encoded) path, so the subpath is kept as sent.
    let rest = parts
        .uri
        .path()
        .strip_prefix("/webhook/")
        .unwrap_or_default();
    let (raw_id, subpath) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path_id = PathId::parse(raw_id).map_err(|_| unknown_path())?;
    let path = state
        .bus
        .registry()
        .table()
        .get(&path_id)
        .ok_or_else(unknown_path)?;

    let ip = state.config.trusted_proxies.client_ip(peer, &parts.headers);
    if let Some(limiter) = &state.limiter {
        if let Err(not_until) = limiter.check_key(&ip) {
            metrics::counter!("cl_captures_rejected_total", "reason" => "rate_limited")
                .increment(1);
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Ok(too_many_requests(
                "rate_limited",
                "too many webhooks from this address; retry later",
                wait,
            ));
        }
    }
    if let Some(quota) = &path.workspace_over {
        metrics::counter!("cl_captures_rejected_total", "reason" => "workspace_over_quota")
            .increment(1);
        metrics::counter!("cl_workspace_refusals_total",
            "workspace" => path.workspace.to_string(), "quota" => quota.clone())
        .increment(1);
        return Ok(too_many_requests(
            "workspace_quota_exceeded",
            "this workspace keeps as many captures or body bytes as its quota allows; \
             retry once some are removed",
            QUOTA_RETRY,
        ));
    }
    if let Some(rate) = path.workspace_rate {
        if let Err(wait) = state.workspaces.check(&path.workspace, rate) {
            metrics::counter!("cl_captures_rejected_total", "reason" => "workspace_rate_limited")
                .increment(1);
            metrics::counter!("cl_workspace_refusals_total",
                "workspace" => path.workspace.to_string(), "quota" => "webhooks_per_second")
            .increment(1);
            return Ok(too_many_requests(
                "workspace_rate_limited",
                "this workspace is over its webhooks per second; retry later",
                wait,
            ));
        }
    }
    let reading = read_body(body, &parts.headers, state.config.max_body_bytes);
    let body = tokio::time::timeout(state.config.body_timeout, reading)
        .await
        .map_err(|_| {
            metrics::counter!("cl_captures_rejected_total", "reason" => "body_timeout")
                .increment(1);
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body did not arrive in time",
            )
        })??;
    let wire = parts.extensions.remove::<WireHead>();
    let (headers, header_order) = headers_as_sent(wire, &parts.headers);
    let id = Uuid::now_v7();
    tracing::Span::current().record("capture_id", tracing::field::display(id));
    let mut capture = Capture {
        id,
        path_id,
        method: parts.method.as_str().to_owned(),
        subpath: subpath.to_owned(),
        query_string: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        header_order,
        body,
        ip: ip.to_string(),
        received_at: now_micros(),
        signature: None,
        response: None,
    };
    // Chosen before publishing, so the capture carries its answer; a rule's
    // sequence counter the bus cannot reach is a 503, like a publish.
    let decided = crate::respond::decide(state.bus.registry(), &path, &capture)
        .await
        .inspect_err(|_| {
            metrics::counter!("cl_captures_rejected_total", "reason" => "unavailable").increment(1);
        })?;
    capture.response = decided.clone();
    let start = std::time::Instant::now();
    // The span whose trace context travels with the capture to the writer.
    let publish = tracing::info_span!(
        target: common::telemetry::PER_REQUEST,
        "capture.publish",
        capture_id = %id
    );
    let published = state.bus.publish(capture).instrument(publish).await;
    metrics::histogram!("cl_publish_duration_seconds").record(start.elapsed().as_secs_f64());
    if let Err(e) = published {
        metrics::counter!("cl_captures_rejected_total", "reason" => "unavailable").increment(1);
        return Err(e.into());
    }
    metrics::counter!("cl_captures_received_total").increment(1);
    if let Some(sent) = decided {
        return Ok(crate::respond::send(sent).await);
    }
    if let Some(custom) = &path.settings.response {
        return Ok(crate::respond::send(crate::respond::fixed(custom)).await);
    }
    Ok((
        StatusCode::OK,
        Json(Received {
            status: "received",
            request_id: id,
        }),
    )
        .into_response())
}

/// When a sender refused for a storage quota is told to come back: the
/// quota is checked again every `CL_QUOTA_INTERVAL` (10 s by default).
const QUOTA_RETRY: std::time::Duration = std::time::Duration::from_secs(10);

fn unknown_path() -> ApiError {
    metrics::counter!("cl_captures_rejected_total", "reason" => "unknown_path").increment(1);
    ApiError::not_found("path_not_found", "no such path")
}

fn too_large(limit: usize) -> ApiError {
    metrics::counter!("cl_captures_rejected_total", "reason" => "too_large").increment(1);
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body exceeds the limit of {limit} bytes"),
    )
}

/// Reads the whole body, refusing early when Content-Length already says it
/// is too large, and while streaming when a chunked body grows past it.
async fn read_body(
    body: Body,
    headers: &axum::http::HeaderMap,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.is::<http_body_util::LengthLimitError>() {
            too_large(limit)
        } else {
            ApiError::bad_request(
                "body_unreadable",
                format!("could not read the body: {inner}"),
            )
        }
    })
}

/// Stores keep microseconds; truncating here makes what the sender was told
/// and what is read back identical.
fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
