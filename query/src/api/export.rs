//! `GET /api/paths/{path_id}/export?format=har|ndjson`: every matching
//! capture, streamed page by page (never buffered whole), newest first.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use common::{ApiError, Capture};
use futures::stream::{self, StreamExt as _};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::json::Query;
use super::logs::LogParams;
use super::paths::existing;
use crate::access::{Access, Mask};
use crate::QueryState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PAGE: u32 = 200;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Har,
    Ndjson,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `har` (HAR 1.2) or `ndjson` (one whole capture per line).
    #[param(value_type = String)]
    pub format: Format,
    /// The logs endpoint's filters (`cursor` and `limit` are ignored).
    #[serde(flatten)]
    #[param(ignore)]
    pub filters: LogParams,
}

/// Export captures as HAR 1.2 or NDJSON.
#[utoipa::path(get, path = "/api/paths/{path_id}/export", tag = "logs",
    params(("path_id" = String, Path), ExportParams),
    responses(
        (status = 200, description = "HAR 1.2 (`application/json`) or NDJSON (`application/x-ndjson`)"),
        (status = 400, body = common::http_error::ErrorBody),
        (status = 404, body = common::http_error::ErrorBody),
    ))]
pub async fn export(
    State(state): State<QueryState>,
    Path(path_id): Path<String>,
    access: Access,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let mut q = LogParams {
        limit: None,
        cursor: None,
        ..params.filters
    }
    .to_query()?;
    q.limit = PAGE;
    let path = existing(&state, &path_id, &access).await?;
    let format = params.format;
    let base = format!(
        "{}/webhook/{}",
        state.config.public_url.trim_end_matches('/'),
        path.path_id
    );
    let mask = state.config.mask.clone();
    let answer = Answer::of(&path);
    let store = state.store.clone();
    let path_id = path.path_id.clone();

    // Pages in, chunks out: state is (query, first item written?, done?).
    let pages = stream::unfold((q, false, false), move |(mut q, mut started, done)| {
        let store = store.clone();
        let path_id = path_id.clone();
        let base = base.clone();
        let mask = mask.clone();
        let answer = answer.clone();
        async move {
            if done {
                return None;
            }
            let page = match store.list_full(&path_id, &q).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "export aborted");
                    return Some((
                        Err(std::io::Error::other("export aborted")),
                        (q, started, true),
                    ));
                }
            };
            let last = page.len() < q.limit as usize;
            q.before = page.last().map(|c| c.id);
            let mut chunk = String::new();
            for c in &page {
                match format {
                    Format::Ndjson => {
                        chunk.push_str(
                            &serde_json::to_string(&mask.detail(c.detail())).expect("json"),
                        );
                        chunk.push('\n');
                    }
                    Format::Har => {
                        if started {
                            chunk.push(',');
                        }
                        chunk.push_str(&har_entry(c, &base, &mask, &answer).to_string());
                    }
                }
                started = true;
            }
            if last && format == Format::Har {
                chunk.push_str("]}}");
            }
            Some((Ok(Bytes::from(chunk)), (q, started, last)))
        }
    });
    let (content_type, head, ext) = match format {
        Format::Har => (
            "application/json",
            format!(
                "{{\"log\":{{\"version\":\"1.2\",\"creator\":{{\"name\":\"callback-listener\",\"version\":\"{}\"}},\"entries\":[",
                env!("CARGO_PKG_VERSION")
            ),
            "har",
        ),
        Format::Ndjson => ("application/x-ndjson", String::new(), "ndjson"),
    };
    let body = stream::once(async move { Ok(Bytes::from(head)) }).chain(pages);
    let disposition = format!("attachment; filename=\"{}.{ext}\"", path.path_id);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// What the path answers senders, for HAR's `response` of a capture whose
/// answer was not recorded (its path had no response rules).
#[derive(Clone)]
struct Answer {
    status: u16,
    status_text: &'static str,
    headers: Vec<serde_json::Value>,
    mime: String,
}

impl Answer {
    fn of(path: &common::PathInfo) -> Self {
        match &path.settings.response {
            Some(r) => {
                let status = axum::http::StatusCode::from_u16(r.status).ok();
                let header = |n: &str| {
                    r.headers
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(n))
                        .map(|(_, v)| v.clone())
                };
                Self {
                    status: r.status,
                    status_text: status.and_then(|s| s.canonical_reason()).unwrap_or(""),
                    headers: r
                        .headers
                        .iter()
                        .map(|(name, value)| json!({"name": name, "value": value}))
                        .collect(),
                    mime: header("content-type").unwrap_or_default(),
                }
            }
            None => Self {
                status: 200,
                status_text: "OK",
                headers: vec![json!({"name": "content-type", "value": "application/json"})],
                mime: "application/json".into(),
            },
        }
    }
}

/// HAR's `response`: the answer recorded with the capture when its path has
/// response rules, else what the path is set to answer (and says so).
fn har_response(c: &Capture, answer: &Answer) -> serde_json::Value {
    let Some(sent) = &c.response else {
        return json!({
            "status": answer.status,
            "statusText": answer.status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": answer.headers,
            "content": {"size": 0, "mimeType": answer.mime},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "comment": "the path's response setting at export; this answer was not recorded",
        });
    };
    let mime = sent
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let status_text = axum::http::StatusCode::from_u16(sent.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let comment = match (sent.rule, &sent.rule_name) {
        (Some(i), Some(name)) => format!("as sent; answered by rule {i} ({name})"),
        (Some(i), None) => format!("as sent; answered by rule {i}"),
        (None, _) => "as sent; no rule matched".to_owned(),
    };
    let mut response = json!({
        "status": sent.status,
        "statusText": status_text,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": sent.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        "content": {"size": sent.body.len(), "mimeType": mime, "text": sent.body},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": sent.body.len(),
        "comment": comment,
    });
    if let Some(i) = sent.rule {
        response["_rule"] = json!(i);
    }
    response
}

/// One HAR 1.2 entry: the request as captured, and the answer.
fn har_entry(c: &Capture, base: &str, mask: &Mask, answer: &Answer) -> serde_json::Value {
    let detail = mask.detail(c.detail());
    let headers: Vec<_> = detail
        .headers
        .iter()
        .map(|(name, value)| match value {
            common::capture::HeaderValueJson::Text(t) => json!({"name": name, "value": t}),
            // HAR has no encoding for header values: mark it, so a binary
            // value is never mistaken for text.
            common::capture::HeaderValueJson::Binary { base64 } => {
                json!({"name": name, "value": base64, "_encoding": "base64"})
            }
        })
        .collect();
    let query: Vec<_> = detail
        .query_params
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let url = if c.query_string.is_empty() {
        format!("{base}{}", c.subpath)
    } else {
        format!("{base}{}?{}", c.subpath, c.query_string)
    };
    // The masked summary's, so a masked Content-Type does not leak here.
    let mime = detail.summary.content_type.clone().unwrap_or_default();
    let mut post_data = match std::str::from_utf8(&c.body) {
        Ok(text) => json!({"mimeType": mime, "text": text}),
        Err(_) => json!({
            "mimeType": mime,
            "text": base64::engine::general_purpose::STANDARD.encode(&c.body),
            "encoding": "base64",
        }),
    };
    post_data["params"] = json!([]);
    let mut request = json!({
        "method": c.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers,
        "queryString": query,
        "headersSize": -1,
        "bodySize": c.body.len(),
    });
    if !c.body.is_empty() {
        request["postData"] = post_data;
    }
    let mut entry = json!({
        "startedDateTime": c.received_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "time": 0,
        "request": request,
        "response": har_response(c, answer),
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_captureId": c.id,
        "_clientIp": c.ip,
    });
    if let Some(verdict) = c.signature {
        entry["_signature"] = json!(verdict);
    }
    entry
}

/// This resource's routes, with their OpenAPI operations.
pub(super) fn routes() -> OpenApiRouter<QueryState> {
    OpenApiRouter::new().routes(routes!(export))
}
