//! The demo page at `/`: plain files read from disk on each request (edit and reload), the page
//! from `dev/demo/` and the JS client's compiled output from `clients/js/dist/` (built by
//! `npm run build --prefix clients/js`; scripts/test builds it).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

pub const PAGE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");
pub const CLIENT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/js/dist");

/// The media type of a file the demo serves, by its name; `None` for any other name, so only
/// plain file names in the folder itself are served (no `/`, no `..`, no hidden files).
pub fn media_type(name: &str) -> Option<&'static str> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !plain {
        return None;
    }
    match name.rsplit_once('.')?.1 {
        "html" => Some("text/html; charset=utf-8"),
        "js" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

pub async fn file(dir: &'static str, name: impl AsRef<str>) -> Response {
    let name = name.as_ref();
    let Some(media) = media_type(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(format!("{dir}/{name}")).await {
        Ok(bytes) => (
            [(CONTENT_TYPE, media), (CACHE_CONTROL, "no-store")],
            bytes,
        )
            .into_response(),
        Err(_) if dir == CLIENT_DIR => (
            StatusCode::NOT_FOUND,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            "the JS client is not built: run `npm ci --prefix clients/js && npm run build --prefix clients/js`",
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_known_types_are_served() {
        assert_eq!(media_type("app.js"), Some("text/javascript; charset=utf-8"));
        assert_eq!(media_type("index.html"), Some("text/html; charset=utf-8"));
        for name in [
            "../Cargo.toml",
            "..",
            ".env",
            "a/b.js",
            "x.rs",
            "",
            "%2e%2e.js\\",
            "app",
        ] {
            assert_eq!(media_type(name), None, "{name}");
        }
    }
}
