//! `/health/`, `/health/live` and `/health/ready`, shared by every service.
//! Readiness really checks the dependencies this process has (bus, store) and
//! turns false as soon as shutdown starts, so load balancers stop sending.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{Bus, Store};

#[derive(Clone)]
pub struct Readiness {
    pub bus: Option<Bus>,
    pub store: Option<Store>,
    pub shutdown: CancellationToken,
}

pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/health", get(live))
        .route("/health/", get(live))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(readiness)
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn ready(State(r): State<Readiness>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ok = !r.shutdown.is_cancelled();
    if !ok {
        checks.insert("shutdown".into(), json!("in progress"));
    }
    if let Some(bus) = &r.bus {
        let status =
            match tokio::time::timeout(std::time::Duration::from_secs(2), bus.ready()).await {
                Ok(Ok(())) => "ok".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(_) => "timed out".to_owned(),
            };
        ok &= status == "ok";
        checks.insert("bus".into(), json!(status));
    }
    if let Some(store) = &r.store {
        let status =
            match tokio::time::timeout(std::time::Duration::from_secs(2), store.ping()).await {
                Ok(Ok(())) => "ok".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(_) => "timed out".to_owned(),
            };
        ok &= status == "ok";
        checks.insert("store".into(), json!(status));
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if ok { "ready" } else { "not ready" }, "checks": checks});
    (status, Json(body)).into_response()
}
