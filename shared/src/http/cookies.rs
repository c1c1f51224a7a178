//! The session cookie: `<session id>.<secret>`, `HttpOnly; Secure; SameSite=Lax; Path=/`, no Domain.

use cookie::{Cookie, SameSite};
use http::HeaderValue;
use http::header::COOKIE;
use time::Duration;

use super::Request;
use crate::domain::caller::IssuedCredential;
use crate::domain::model::Timestamp;

/// The session id and secret the request presents, if its cookie is well formed.
pub fn session(req: &Request, name: &str) -> Option<(String, String)> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| Cookie::split_parse(header.to_string()).filter_map(Result::ok))
        .find(|c| c.name() == name)
        .and_then(|c| parse_value(c.value()))
}

/// The credential as it travels, `<session id>.<secret>`: the cookie's value, and in header mode
/// the `X-Session-Token` a native app sends back as its bearer credential.
pub(super) fn wire_value(issued: &IssuedCredential) -> String {
    format!("{}.{}", issued.session_id, issued.secret)
}

/// The session id and secret in a credential's wire form, if it is well formed.
pub(super) fn parse_value(value: &str) -> Option<(String, String)> {
    let (id, secret) = value.split_once('.')?;
    well_formed(id, secret).then(|| (id.to_string(), secret.to_string()))
}

/// `sess_` and 32 hex digits, then 43 URL-safe base64 characters (256 bits): anything else is not
/// ours and costs no read.
fn well_formed(id: &str, secret: &str) -> bool {
    let hex = id.strip_prefix("sess_").unwrap_or_default();
    hex.len() == 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn presents_cookie(req: &Request) -> bool {
    req.headers().contains_key(COOKIE)
}

pub fn issue(name: &str, issued: &IssuedCredential, now: Timestamp) -> HeaderValue {
    let max_age = (issued.expires_at - now).max(Duration::ZERO);
    header(base(name, wire_value(issued)).max_age(max_age))
}

pub fn clear(name: &str) -> HeaderValue {
    header(base(name, String::new()).max_age(Duration::ZERO))
}

fn base(name: &str, value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((name.to_string(), value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
}

fn header(builder: cookie::CookieBuilder<'static>) -> HeaderValue {
    HeaderValue::from_str(&builder.build().to_string()).expect("cookie is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ID: &str = "sess_0123456789abcdef0123456789abcdef";
    const SECRET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_";

    #[test]
    fn when_a_cookie_is_issued_it_has_every_protective_attribute_and_no_domain() {
        let issued = IssuedCredential {
            session_id: "sess_1".into(),
            secret: "s3cret".into(),
            expires_at: datetime!(2026-01-08 00:00 UTC),
        };
        let v = issue("__Host-session", &issued, datetime!(2026-01-01 00:00 UTC));
        let v = v.to_str().unwrap();
        assert!(v.starts_with("__Host-session=sess_1.s3cret"), "{v}");
        for part in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=604800",
        ] {
            assert!(v.contains(part), "{part} missing from {v}");
        }
        assert!(!v.contains("Domain"));
    }

    #[test]
    fn when_a_request_carries_cookies_the_session_one_is_found_among_them() {
        let req = http::Request::builder()
            .header(COOKIE, format!("theme=dark; __Host-session={ID}.{SECRET}"))
            .body(bytes::Bytes::new())
            .unwrap();
        assert_eq!(
            session(&req, "__Host-session"),
            Some((ID.into(), SECRET.into()))
        );
        assert_eq!(session(&req, "other"), None);
    }

    #[test]
    fn when_the_cookie_value_is_malformed_no_session_is_presented() {
        let long = "x".repeat(3000);
        for value in [
            "nodot",
            ".abc",
            "sess_1.",
            "sess_1.abc",
            &format!("{long}.{SECRET}"),
            &format!("{ID}.short"),
        ] {
            let req = http::Request::builder()
                .header(COOKIE, format!("__Host-session={value}"))
                .body(bytes::Bytes::new())
                .unwrap();
            assert_eq!(session(&req, "__Host-session"), None, "{value}");
        }
    }
}
