//! Settings of the tokens for the app's own backend (DESIGN section 10): `ISSUER_URL`,
//! `TOKEN_AUDIENCE`, `TOKEN_TTL_SECONDS`, `TOKEN_CLAIMS` and `SIGNING_KEY_KMS_KEY_ID`.

use time::Duration;

use super::error::ConfigError;

#[derive(Clone, Debug)]
pub struct TokenSettings {
    /// `ISSUER_URL`. Unset: the API's own origin (`https://` and API Gateway's domain name in
    /// Lambda, the dev server's address locally).
    pub issuer: Option<String>,
    /// `TOKEN_AUDIENCE`. Unset: the issuer.
    pub audience: Option<String>,
    pub ttl: Duration,
    /// User fields copied into every token.
    pub claims: Vec<UserClaim>,
    /// The KMS key the private signing key is stored under. Required in Lambda; unset
    /// elsewhere, the key lives in the process only.
    pub kms_key_id: Option<String>,
}

/// A user field `TOKEN_CLAIMS` may name; the claim has the field's name (seed 001). An email
/// address or phone number is claimed only once verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserClaim {
    Email,
    EmailVerified,
    PhoneNumber,
    PhoneVerified,
    Username,
    FirstName,
    LastName,
    ImageUrl,
    TwoFactorEnabled,
}

impl UserClaim {
    /// Not `metadata` or `profile`: the user writes them (`PATCH /me`), so a backend could be
    /// fooled into trusting, say, a role the user gave themselves, signed by Sesame.
    pub const ALL: [UserClaim; 9] = [
        UserClaim::Email,
        UserClaim::EmailVerified,
        UserClaim::PhoneNumber,
        UserClaim::PhoneVerified,
        UserClaim::Username,
        UserClaim::FirstName,
        UserClaim::LastName,
        UserClaim::ImageUrl,
        UserClaim::TwoFactorEnabled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UserClaim::Email => "email",
            UserClaim::EmailVerified => "email_verified",
            UserClaim::PhoneNumber => "phone_number",
            UserClaim::PhoneVerified => "phone_verified",
            UserClaim::Username => "username",
            UserClaim::FirstName => "first_name",
            UserClaim::LastName => "last_name",
            UserClaim::ImageUrl => "image_url",
            UserClaim::TwoFactorEnabled => "two_factor_enabled",
        }
    }
}

pub const MAX_TTL_SECONDS: u32 = 3600;

pub(super) fn parse(
    get: impl Fn(&str) -> Option<String>,
    in_lambda: bool,
) -> Result<TokenSettings, ConfigError> {
    let issuer = get("ISSUER_URL").map(|u| issuer_url(&u)).transpose()?;
    let ttl = match get("TOKEN_TTL_SECONDS") {
        None => 60,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|s| (1..=MAX_TTL_SECONDS).contains(s))
            .ok_or_else(|| ConfigError {
                name: "TOKEN_TTL_SECONDS",
                reason: format!("{v:?} is not a number of seconds from 1 to {MAX_TTL_SECONDS}"),
            })?,
    };
    let claims = match get("TOKEN_CLAIMS") {
        None => vec![UserClaim::Email, UserClaim::EmailVerified],
        Some(v) if v.eq_ignore_ascii_case("none") => Vec::new(),
        Some(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                UserClaim::ALL
                    .into_iter()
                    .find(|c| c.name() == name)
                    .ok_or_else(|| ConfigError {
                        name: "TOKEN_CLAIMS",
                        reason: format!(
                            "unknown user field {name:?}; allowed: {}, or none",
                            UserClaim::ALL.map(UserClaim::name).join(", ")
                        ),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let kms_key_id = get("SIGNING_KEY_KMS_KEY_ID");
    if in_lambda && kms_key_id.is_none() {
        return Err(ConfigError {
            name: "SIGNING_KEY_KMS_KEY_ID",
            reason: "must be set in Lambda (template.yaml provides it)".into(),
        });
    }
    Ok(TokenSettings {
        issuer,
        audience: get("TOKEN_AUDIENCE"),
        ttl: Duration::seconds(ttl.into()),
        claims,
        kms_key_id,
    })
}

/// An `https` URL (or `http` on a loopback host, for local use) without query or fragment; a
/// trailing slash is dropped, since `iss` must match the discovery document's exactly.
fn issuer_url(value: &str) -> Result<String, ConfigError> {
    let bad = |reason: &str| ConfigError {
        name: "ISSUER_URL",
        reason: format!("{value:?} {reason}"),
    };
    let url = url::Url::parse(value).map_err(|_| bad("is not a URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must be an https URL")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(value.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)], in_lambda: bool) -> Result<TokenSettings, ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(|name| vars.get(name).cloned(), in_lambda)
    }

    #[test]
    fn the_defaults_are_a_minute_and_the_email_claims() {
        let s = settings(&[], false).unwrap();
        assert_eq!(s.ttl, Duration::seconds(60));
        assert_eq!(s.claims, [UserClaim::Email, UserClaim::EmailVerified]);
        assert_eq!((s.issuer, s.audience, s.kms_key_id), (None, None, None));
    }

    #[test]
    fn an_issuer_loses_its_trailing_slash_and_must_be_https_off_loopback() {
        let s = settings(&[("ISSUER_URL", "https://auth.example.com/")], false).unwrap();
        assert_eq!(s.issuer.as_deref(), Some("https://auth.example.com"));
        assert!(settings(&[("ISSUER_URL", "http://127.0.0.1:3000")], false).is_ok());
        for bad in [
            "http://auth.example.com",
            "auth.example.com",
            "https://a.example.com/?x=1",
        ] {
            let err = settings(&[("ISSUER_URL", bad)], false).unwrap_err();
            assert_eq!(err.name, "ISSUER_URL", "{bad}");
        }
    }

    #[test]
    fn a_bad_ttl_or_claim_names_its_setting() {
        for (name, value) in [
            ("TOKEN_TTL_SECONDS", "0"),
            ("TOKEN_TTL_SECONDS", "3601"),
            ("TOKEN_TTL_SECONDS", "soon"),
            ("TOKEN_CLAIMS", "email,password_hash"),
            ("TOKEN_CLAIMS", "sub"),
            ("TOKEN_CLAIMS", "metadata"),
        ] {
            let err = settings(&[(name, value)], false).unwrap_err();
            assert_eq!(err.name, name, "{value}");
        }
        let none = settings(&[("TOKEN_CLAIMS", "none")], false).unwrap();
        assert!(none.claims.is_empty());
    }

    #[test]
    fn lambda_needs_a_kms_key_for_the_signing_key() {
        let err = settings(&[], true).unwrap_err();
        assert_eq!(err.name, "SIGNING_KEY_KMS_KEY_ID");
        assert!(settings(&[("SIGNING_KEY_KMS_KEY_ID", "alias/x")], true).is_ok());
    }
}
