//! The Origin check and CORS: only origins in `ALLOWED_ORIGINS` get CORS headers, always with
//! credentials; a cookie-carrying unsafe request from any other origin is refused. A bearer
//! credential (header mode, `credential.rs`) carries no ambient authority, so it is not checked.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN,
    VARY,
};
use http::{HeaderMap, HeaderValue, Method};

use super::Request;
use super::credential::Presented;
use super::error::ApiError;
use crate::config::Config;

fn origin(req: &Request) -> Option<&str> {
    req.headers().get(ORIGIN).and_then(|v| v.to_str().ok())
}

fn allowed<'a>(config: &Config, req: &'a Request) -> Option<&'a str> {
    origin(req).filter(|o| config.allowed_origins.iter().any(|a| a == o))
}

/// DESIGN section 4: unsafe methods with a cookie need an allowed `Origin` when one is sent.
/// Only a cookie in use counts: a header-mode request's cookies are ignored (DESIGN section 10).
pub fn check_origin(config: &Config, req: &Request, presented: &Presented) -> Result<(), ApiError> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || !presented.is_ambient() {
        return Ok(());
    }
    match origin(req) {
        Some(_) if allowed(config, req).is_none() => Err(ApiError::ForbiddenOrigin),
        _ => Ok(()),
    }
}

/// For an endpoint that takes a form (a "simple" cross-site request, never preflighted) and
/// signs in: any `Origin` sent must be allowed, cookie or not, or a foreign page could sign its
/// visitors into an account of its choosing (login CSRF).
pub fn check_form_origin(config: &Config, req: &Request) -> Result<(), ApiError> {
    match origin(req) {
        Some(_) if allowed(config, req).is_none() => Err(ApiError::ForbiddenOrigin),
        _ => Ok(()),
    }
}

/// Adds CORS headers to an answer for an allowed origin.
pub fn decorate(config: &Config, req: &Request, headers: &mut HeaderMap) {
    headers.append(VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = allowed(config, req).and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, o);
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After, X-Session-Token"),
        );
    }
}

/// The answer to a preflight: permissions for an allowed origin, a refusal for any other.
pub fn preflight(config: &Config, req: &Request) -> Result<HeaderMap, ApiError> {
    if allowed(config, req).is_none() {
        return Err(ApiError::ForbiddenOrigin);
    }
    let mut headers = HeaderMap::new();
    decorate(config, req, &mut headers);
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PATCH, OPTIONS"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Accept, Authorization, X-Session-Mode"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    Ok(headers)
}
