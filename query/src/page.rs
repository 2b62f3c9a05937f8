//! The web inspector at `/`: static assets compiled into the binary, served
//! with a strict Content-Security-Policy (captured bodies are shown as text,
//! and even if one slipped into the DOM, inline script would not run).
//!
//! The script is a set of native ES modules under `assets/js/`, served as
//! they are (no build step): each file is listed once in [`ASSETS`], which
//! `include_str!`s it, and a test checks that the list and the directory
//! agree, so a new module cannot be forgotten.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// `(path under /assets/, content type, contents)`.
macro_rules! assets {
    ($($name:literal => $ct:expr),* $(,)?) => {
        const ASSETS: &[(&str, &str, &str)] = &[
            $(($name, $ct, include_str!(concat!("../assets/", $name)))),*
        ];
    };
}

assets! {
    "app.css" => CSS,
    "js/main.js" => JS,
    "js/dom.js" => JS,
    "js/format.js" => JS,
    "js/bytes.js" => JS,
    "js/curl.js" => JS,
    "js/api.js" => JS,
    "js/live.js" => JS,
    "js/filters.js" => JS,
    "js/window.js" => JS,
    "js/provider.js" => JS,
    "js/diff.js" => JS,
    "js/settings-model.js" => JS,
    "js/routing.js" => JS,
    "js/state.js" => JS,
    "js/views/paths.js" => JS,
    "js/views/list.js" => JS,
    "js/views/detail.js" => JS,
    "js/views/settings.js" => JS,
    "js/views/replay.js" => JS,
    "js/views/diff.js" => JS,
    "js/views/keys.js" => JS,
    "js/views/session.js" => JS,
    "js/views/workspace.js" => JS,
}

pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*file}", get(asset_file))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    asset(
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    )
}

async fn asset_file(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => asset(content_type, body),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::ASSETS;
    use std::path::Path;

    fn files(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "js" || e == "css") {
                let rel = path.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    /// Every module on disk is served, and every served name exists.
    #[test]
    fn asset_list_matches_the_directory() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk = Vec::new();
        files(&base, &base, &mut on_disk);
        // Unit tests of the pure modules live beside them but are not served.
        on_disk.retain(|f| !f.ends_with(".test.mjs"));
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|(n, _, _)| n.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }
}
