//! The session credential on the wire: which one a request presents, and how its answer hands one
//! out. The value is always `<session id>.<secret>`; only how it travels differs.
//!
//! - **Cookie mode** (browsers, the default): the `__Host-session` cookie in both directions
//!   (`cookies.rs`). A cookie is ambient authority (the browser attaches it to any page's
//!   request), so an unsafe request carrying one is subject to the Origin check (`cors.rs`).
//! - **Header mode** (native apps, DESIGN section 10): a request with `X-Session-Mode: header`
//!   (any case) or with an `Authorization: Bearer` credential. It presents the credential only as
//!   `Authorization: Bearer <credential>`; its cookies are ignored entirely, so it never uses
//!   ambient authority and the Origin check does not apply. Its answer never sets a cookie: a new
//!   or rotated credential comes in `X-Session-Token: <credential>`, and `X-Session-Token` with an
//!   empty value means "discard yours" (the session ended or is unknown).
//!
//! A malformed credential, cookie or bearer, is no credential and costs no store read.

use std::fmt;

use http::header::{AUTHORIZATION, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::Request;
use super::cookies;
use crate::domain::Caller;
use crate::domain::model::Timestamp;

/// Sent by a native app to ask for header mode.
pub const SESSION_MODE: HeaderName = HeaderName::from_static("x-session-mode");
/// Carries the credential out in header mode; empty means "discard it".
pub const SESSION_TOKEN: HeaderName = HeaderName::from_static("x-session-token");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Cookie,
    Header,
}

/// Header mode when the request asks for it or presents a bearer credential (well formed or not).
pub fn mode(req: &Request) -> Mode {
    let asks = req.headers().get_all(SESSION_MODE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("header"))
    });
    if asks || bearer_tokens(req).next().is_some() {
        Mode::Header
    } else {
        Mode::Cookie
    }
}

/// The `Authorization` values whose scheme is `Bearer` (case-insensitive, RFC 9110), as the text
/// after the scheme; `None` where nothing follows it.
fn bearer_tokens(req: &Request) -> impl Iterator<Item = Option<&str>> {
    req.headers()
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let v = v.trim();
            let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
            let token = rest.trim();
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some((!token.is_empty()).then_some(token))
        })
}

/// What a request presents: its mode and, if well formed, the session id and secret.
pub struct Presented {
    pub mode: Mode,
    credential: Option<(String, String)>,
    ambient: bool,
}

impl Presented {
    pub fn read(req: &Request, cookie_name: &str) -> Self {
        match mode(req) {
            Mode::Header => {
                // Exactly one bearer value; two are ambiguous and prove nothing.
                let mut tokens = bearer_tokens(req);
                let credential = match (tokens.next(), tokens.next()) {
                    (Some(Some(token)), None) => cookies::parse_value(token),
                    _ => None,
                };
                Self {
                    mode: Mode::Header,
                    credential,
                    ambient: false,
                }
            }
            Mode::Cookie => Self {
                mode: Mode::Cookie,
                credential: cookies::session(req, cookie_name),
                ambient: cookies::presents_cookie(req),
            },
        }
    }

    /// The session id and secret to resolve, if the credential in use is well formed.
    pub fn credential(&self) -> Option<(&str, &str)> {
        self.credential
            .as_ref()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
    }

    /// Whether the request rides on a cookie the browser attached by itself: the one case the
    /// Origin check guards.
    pub fn is_ambient(&self) -> bool {
        self.ambient
    }
}

/// Never the secret, so no log line can carry the credential.
impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presented")
            .field("mode", &self.mode)
            .field("session_id", &self.credential.as_ref().map(|(id, _)| id))
            .field("ambient", &self.ambient)
            .finish()
    }
}

/// Puts the caller's new credential, or the instruction to discard the old one, on the answer in
/// the request's mode.
pub fn deliver(
    mode: Mode,
    caller: &Caller,
    cookie_name: &str,
    now: Timestamp,
    headers: &mut HeaderMap,
) {
    match mode {
        Mode::Cookie => {
            if let Some(issued) = &caller.issued {
                headers.insert(SET_COOKIE, cookies::issue(cookie_name, issued, now));
            } else if caller.clear_credential {
                headers.insert(SET_COOKIE, cookies::clear(cookie_name));
            }
        }
        Mode::Header => {
            let mut value = if let Some(issued) = &caller.issued {
                HeaderValue::from_str(&cookies::wire_value(issued))
                    .expect("a credential is a valid header value")
            } else if caller.clear_credential {
                HeaderValue::from_static("")
            } else {
                return;
            };
            value.set_sensitive(true);
            headers.insert(SESSION_TOKEN, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::caller::IssuedCredential;
    use http::header::COOKIE;
    use time::macros::datetime;

    const ID: &str = "sess_0123456789abcdef0123456789abcdef";
    const SECRET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_";
    const OTHER_ID: &str = "sess_ffffffffffffffffffffffffffffffff";
    const NAME: &str = "__Host-session";

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder();
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(bytes::Bytes::new()).unwrap()
    }

    fn bearer(value: &str) -> (&'static str, String) {
        ("authorization", value.to_string())
    }

    fn read(headers: &[(&str, String)]) -> Presented {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Presented::read(&request(&pairs), NAME)
    }

    #[test]
    fn when_a_bearer_credential_is_well_formed_it_is_presented_in_header_mode() {
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let p = read(&[bearer(&format!("{scheme} {ID}.{SECRET}"))]);
            assert_eq!(p.mode, Mode::Header, "{scheme}");
            assert_eq!(p.credential(), Some((ID, SECRET)), "{scheme}");
            assert!(!p.is_ambient());
        }
    }

    #[test]
    fn when_a_bearer_credential_is_malformed_nothing_is_presented_but_the_mode_is_header() {
        let long = "x".repeat(3000);
        for value in [
            "Bearer".to_string(),
            "Bearer ".to_string(),
            "Bearer nodot".to_string(),
            format!("Bearer {ID}."),
            format!("Bearer {ID}.short"),
            format!("Bearer {long}.{SECRET}"),
            format!("Bearer {ID}.{SECRET} extra"),
            format!("Bearer {ID} {SECRET}"),
        ] {
            let p = read(&[bearer(&value)]);
            assert_eq!(p.mode, Mode::Header, "{value}");
            assert_eq!(p.credential(), None, "{value}");
        }
        // Two bearer values are ambiguous: neither is used.
        let p = read(&[
            bearer(&format!("Bearer {ID}.{SECRET}")),
            bearer(&format!("Bearer {OTHER_ID}.{SECRET}")),
        ]);
        assert_eq!((p.mode, p.credential()), (Mode::Header, None));
    }

    #[test]
    fn when_authorization_has_another_scheme_it_is_no_bearer() {
        for value in [
            format!("Basic {ID}.{SECRET}"),
            format!("AWS4-HMAC-SHA256 Credential={ID}.{SECRET}"),
            format!("Bearerish {ID}.{SECRET}"),
        ] {
            let p = read(&[bearer(&value)]);
            assert_eq!((p.mode, p.credential()), (Mode::Cookie, None), "{value}");
        }
    }

    #[test]
    fn when_both_a_bearer_and_a_cookie_are_presented_the_bearer_wins_and_the_cookie_is_ignored() {
        let cookie = ("cookie", format!("{NAME}={OTHER_ID}.{SECRET}"));
        let p = read(&[bearer(&format!("Bearer {ID}.{SECRET}")), cookie.clone()]);
        assert_eq!(p.credential(), Some((ID, SECRET)));
        assert!(!p.is_ambient(), "the cookie carries no authority here");

        // Even a malformed bearer keeps the cookie out: header mode never falls back to it.
        let p = read(&[bearer("Bearer nonsense"), cookie.clone()]);
        assert_eq!(
            (p.mode, p.credential(), p.is_ambient()),
            (Mode::Header, None, false)
        );

        // Asking for header mode without a bearer ignores the cookie too.
        let p = read(&[("x-session-mode", "header".into()), cookie.clone()]);
        assert_eq!(
            (p.mode, p.credential(), p.is_ambient()),
            (Mode::Header, None, false)
        );

        // Without header mode the cookie is the credential, and ambient.
        let p = read(&[cookie]);
        assert_eq!(p.mode, Mode::Cookie);
        assert_eq!(p.credential(), Some((OTHER_ID, SECRET)));
        assert!(p.is_ambient());
    }

    #[test]
    fn when_the_mode_header_says_header_in_any_case_the_mode_is_header() {
        for value in ["header", "Header", " HEADER "] {
            let req = request(&[("x-session-mode", value)]);
            assert_eq!(mode(&req), Mode::Header, "{value:?}");
        }
        for value in ["cookie", "headers", ""] {
            let req = request(&[("x-session-mode", value)]);
            assert_eq!(mode(&req), Mode::Cookie, "{value:?}");
        }
        assert_eq!(mode(&request(&[])), Mode::Cookie);
        // Any Cookie header is ambient in cookie mode, even one that is not the session's.
        assert!(Presented::read(&request(&[(COOKIE.as_str(), "theme=dark")]), NAME).is_ambient());
    }

    fn caller(issued: bool, clear: bool) -> Caller {
        Caller {
            issued: issued.then(|| IssuedCredential {
                session_id: ID.into(),
                secret: SECRET.into(),
                expires_at: datetime!(2026-01-08 00:00 UTC),
            }),
            clear_credential: clear,
            ..Caller::default()
        }
    }

    fn delivered(mode: Mode, caller: &Caller) -> HeaderMap {
        let mut headers = HeaderMap::new();
        deliver(
            mode,
            caller,
            NAME,
            datetime!(2026-01-01 00:00 UTC),
            &mut headers,
        );
        headers
    }

    #[test]
    fn when_a_credential_is_issued_header_mode_answers_it_in_x_session_token_and_never_a_cookie() {
        let h = delivered(Mode::Header, &caller(true, false));
        assert_eq!(h[SESSION_TOKEN], format!("{ID}.{SECRET}").as_str());
        assert!(h[SESSION_TOKEN].is_sensitive());
        assert!(h.get(SET_COOKIE).is_none());

        let h = delivered(Mode::Cookie, &caller(true, false));
        assert!(
            h[SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with(&format!("{NAME}={ID}.{SECRET}"))
        );
        assert!(h.get(SESSION_TOKEN).is_none());
    }

    #[test]
    fn when_a_credential_is_cleared_header_mode_answers_an_empty_token() {
        let h = delivered(Mode::Header, &caller(false, true));
        assert_eq!(h[SESSION_TOKEN], "");
        assert!(h.get(SET_COOKIE).is_none());

        let h = delivered(Mode::Cookie, &caller(false, true));
        assert!(h[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));

        for mode in [Mode::Header, Mode::Cookie] {
            let h = delivered(mode, &caller(false, false));
            assert!(h.is_empty(), "nothing to say: {h:?}");
        }
    }

    #[test]
    fn when_a_presented_credential_is_debug_printed_the_secret_is_not() {
        let p = read(&[bearer(&format!("Bearer {ID}.{SECRET}"))]);
        let printed = format!("{p:?}");
        assert!(
            printed.contains(ID) && !printed.contains(SECRET),
            "{printed}"
        );
        let issued = caller(true, false).issued.unwrap();
        assert!(!format!("{issued:?}").contains(SECRET));
    }
}
