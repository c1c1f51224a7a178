//! `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS` (passkeys, issue 16), checked at cold start.
//!
//! Outside Lambda (the dev server, tests) they default to the relying party `localhost` and the
//! origin `http://localhost:3000` on any port. In Lambda, passkeys are off until both are set;
//! set, they must hold together: every origin `https://` (or `http://localhost`), with the RP id
//! its host or a parent domain of it (the WebAuthn rule).

use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::ConfigError;

const RP_ID: &str = "WEBAUTHN_RP_ID";
const ORIGINS: &str = "WEBAUTHN_ORIGINS";

fn error(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

/// The relying party, or `None` where passkeys are off (Lambda without the settings).
pub fn parse(
    rp_id: Option<&str>,
    origins: Option<&str>,
    in_lambda: bool,
) -> Result<Option<Webauthn>, ConfigError> {
    let (rp_id, origins, any_port) = match (rp_id, origins) {
        (None, None) if in_lambda => return Ok(None),
        (None, None) => ("localhost", "http://localhost:3000", true),
        (Some(_), None) => return Err(error(ORIGINS, "must be set with WEBAUTHN_RP_ID")),
        (None, Some(_)) => return Err(error(RP_ID, "must be set with WEBAUTHN_ORIGINS")),
        (Some(id), Some(o)) => (id, o, false),
    };
    if rp_id.contains(['/', ':']) || rp_id != rp_id.to_ascii_lowercase() {
        return Err(error(
            RP_ID,
            "must be a lowercase domain like example.com, no scheme or port",
        ));
    }
    let mut parsed = Vec::new();
    for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let url = Url::parse(origin)
            .ok()
            .filter(|u| u.path() == "/" && !origin.ends_with('/'))
            .ok_or_else(|| {
                error(
                    ORIGINS,
                    format!("{origin:?} is not an origin like https://app.example.com"),
                )
            })?;
        let host = url.host_str().unwrap_or_default();
        let secure = url.scheme() == "https" || (url.scheme() == "http" && host == "localhost");
        if !secure {
            return Err(error(
                ORIGINS,
                format!("{origin:?} must be https:// (http:// only on localhost)"),
            ));
        }
        if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
            return Err(error(
                ORIGINS,
                format!("{origin:?} is not on {rp_id} or a subdomain of it (WEBAUTHN_RP_ID)"),
            ));
        }
        parsed.push(url);
    }
    let Some((first, rest)) = parsed.split_first() else {
        return Err(error(ORIGINS, "lists no origin"));
    };
    let mut builder = WebauthnBuilder::new(rp_id, first)
        .map_err(|e| error(RP_ID, format!("refused by webauthn-rs: {e}")))?
        .rp_name("Sesame")
        .allow_any_port(any_port);
    for origin in rest {
        builder = builder.append_allowed_origin(origin);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| error(ORIGINS, format!("refused by webauthn-rs: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_server_gets_localhost_and_lambda_gets_nothing_unless_set() {
        assert!(parse(None, None, false).unwrap().is_some());
        assert!(parse(None, None, true).unwrap().is_none());
        let set = parse(
            Some("example.com"),
            Some("https://app.example.com, https://example.com"),
            true,
        );
        assert!(set.unwrap().is_some());
    }

    #[test]
    fn settings_that_cannot_work_are_refused_at_cold_start() {
        let refused =
            |id: Option<&str>, origins: Option<&str>| parse(id, origins, true).unwrap_err().name;
        assert_eq!(refused(Some("example.com"), None), ORIGINS);
        assert_eq!(refused(None, Some("https://example.com")), RP_ID);
        assert_eq!(
            refused(Some("https://example.com"), Some("https://example.com")),
            RP_ID
        );
        assert_eq!(
            refused(Some("example.com"), Some("http://example.com")),
            ORIGINS
        );
        assert_eq!(
            refused(Some("example.com"), Some("https://evil.example")),
            ORIGINS
        );
        assert_eq!(
            refused(Some("example.com"), Some("https://notexample.com")),
            ORIGINS
        );
        assert_eq!(
            refused(Some("example.com"), Some("https://example.com/path")),
            ORIGINS
        );
        assert_eq!(refused(Some("example.com"), Some(" , ")), ORIGINS);
    }
}
