//! HTTP floor: an axum server that reads the whole body and answers 200 `{}`
//! doing nothing else. Usage: `http-floor 127.0.0.1:PORT`.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;

async fn floor(body: Bytes) -> impl IntoResponse {
    // Read (and drop) the body, exactly like a handler that stores nothing.
    std::hint::black_box(body.len());
    ([(header::CONTENT_TYPE, "application/json")], "{}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("http-floor listening on {}", listener.local_addr()?);
    let app = Router::new()
        .route("/", any(floor))
        .route("/{*rest}", any(floor));
    axum::serve(listener, app).await?;
    Ok(())
}
