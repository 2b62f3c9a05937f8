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
    let store = state.store.clone();
    let path_id = path.path_id.clone();

    // Pages in, chunks out: state is (query, first item written?, done?).
    let pages = stream::unfold((q, false, false), move |(mut q, mut started, done)| {
        let store = store.clone();
        let path_id = path_id.clone();
        let base = base.clone();
        let mask = mask.clone();
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
                        chunk.push_str(&har_entry(c, &base, &mask).to_string());
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

/// One HAR 1.2 entry: the request as captured; the response is the one the
/// sender got only in status (200), since its body is not recorded.
fn har_entry(c: &Capture, base: &str, mask: &Mask) -> serde_json::Value {
    let detail = mask.detail(c.detail());
    let headers: Vec<_> = detail
        .headers
        .iter()
        .map(|(name, value)| {
            let value = match value {
                common::capture::HeaderValueJson::Text(t) => t.clone(),
                common::capture::HeaderValueJson::Binary { base64 } => base64.clone(),
            };
            json!({"name": name, "value": value})
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
    let mime = c.content_type().unwrap_or_default();
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
    json!({
        "startedDateTime": c.received_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "time": 0,
        "request": request,
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": "application/json"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_captureId": c.id,
        "_clientIp": c.ip,
    })
}
