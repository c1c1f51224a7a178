//! `OIDC_PROVIDERS`, `OIDC_CALLBACK_URL` and `ALLOWED_REDIRECT_URIS`, checked at cold start.

use serde::Deserialize;
use url::Url;

use super::error::ConfigError;

#[derive(Clone, Debug, Default)]
pub struct OidcSettings {
    pub providers: Vec<ProviderSettings>,
    /// The public URL of `GET /auth/oauth2/callback`, registered with every provider.
    pub callback_url: Option<String>,
    /// Where `GET /auth/oauth2/init` may send the browser back to, compared exactly.
    pub allowed_redirect_uris: Vec<String>,
}

/// One entry of `OIDC_PROVIDERS`, a JSON array:
/// `[{"name": "google", "issuer": "https://accounts.google.com", "client_id": "…",
///    "client_secret": "…", "scopes": ["openid", "email", "profile"]}]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// The `provider` query parameter and the `IDENTITY#name#sub` claim: never rename one.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

fn bad(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

fn web_url(value: &str) -> Option<Url> {
    Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        .filter(|u| u.fragment().is_none())
}

pub fn parse(
    providers: Option<&str>,
    callback_url: Option<&str>,
    redirect_uris: Vec<String>,
) -> Result<OidcSettings, ConfigError> {
    let mut parsed: Vec<ProviderSettings> = match providers {
        None => Vec::new(),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            bad(
                "OIDC_PROVIDERS",
                format!(
                    "not a JSON array of {{name, issuer, client_id, client_secret, scopes}}: {e}"
                ),
            )
        })?,
    };
    let mut seen = std::collections::HashSet::new();
    for p in parsed.iter_mut() {
        let name_ok = !p.name.is_empty()
            && p.name.len() <= 32
            && p.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(bad(
                "OIDC_PROVIDERS",
                format!("{:?}: a name is 1 to 32 of a-z, 0-9 and '-'", p.name),
            ));
        }
        if !seen.insert(p.name.clone()) {
            return Err(bad("OIDC_PROVIDERS", format!("{:?} appears twice", p.name)));
        }
        if web_url(&p.issuer).is_none() {
            return Err(bad(
                "OIDC_PROVIDERS",
                format!("{}: issuer {:?} is not an http(s) URL", p.name, p.issuer),
            ));
        }
        if p.client_id.is_empty() {
            return Err(bad(
                "OIDC_PROVIDERS",
                format!("{}: client_id is empty", p.name),
            ));
        }
        // The ID token comes with the `openid` scope only.
        if !p.scopes.iter().any(|s| s == "openid") {
            p.scopes.insert(0, "openid".into());
        }
    }
    let callback_url = match callback_url {
        Some(u) if web_url(u).is_none() => {
            return Err(bad(
                "OIDC_CALLBACK_URL",
                format!("{u:?} is not an http(s) URL"),
            ));
        }
        Some(u) => Some(u.to_string()),
        None if !parsed.is_empty() => {
            return Err(bad(
                "OIDC_CALLBACK_URL",
                "must be set when OIDC_PROVIDERS is: the public URL of /auth/oauth2/callback",
            ));
        }
        None => None,
    };
    if let Some(u) = redirect_uris.iter().find(|u| web_url(u).is_none()) {
        return Err(bad(
            "ALLOWED_REDIRECT_URIS",
            format!("{u:?} is not an http(s) URL without a fragment"),
        ));
    }
    Ok(OidcSettings {
        providers: parsed,
        callback_url,
        allowed_redirect_uris: redirect_uris,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"[{"name":"google","issuer":"https://accounts.google.com","client_id":"abc","client_secret":"s3cret"}]"#;

    #[test]
    fn when_a_provider_is_configured_its_defaults_apply_and_its_secret_stays_out_of_debug() {
        let s = parse(
            Some(ONE),
            Some("https://auth.example.com/auth/oauth2/callback"),
            vec![],
        )
        .expect("valid");
        assert_eq!(s.providers[0].scopes, ["openid", "email", "profile"]);
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn when_settings_are_wrong_the_start_fails_naming_them() {
        let cb = Some("https://auth.example.com/cb");
        let cases = [
            (parse(Some("{}"), cb, vec![]), "OIDC_PROVIDERS"),
            (parse(Some(ONE), None, vec![]), "OIDC_CALLBACK_URL"),
            (
                parse(
                    Some(&format!("[{0},{0}]", &ONE[1..ONE.len() - 1])),
                    cb,
                    vec![],
                ),
                "OIDC_PROVIDERS",
            ),
            (
                parse(Some(&ONE.replace("google", "Goo gle")), cb, vec![]),
                "OIDC_PROVIDERS",
            ),
            (
                parse(
                    Some(&ONE.replace("https://accounts.google.com", "accounts")),
                    cb,
                    vec![],
                ),
                "OIDC_PROVIDERS",
            ),
            (
                parse(None, None, vec!["javascript:alert(1)".into()]),
                "ALLOWED_REDIRECT_URIS",
            ),
        ];
        for (result, name) in cases {
            assert_eq!(result.expect_err(name).name, name);
        }
    }
}
