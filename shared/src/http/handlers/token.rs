//! Tokens for the app's own backend (DESIGN section 10): `POST /session/token`, and the two
//! public documents a verifier needs, `GET /.well-known/jwks.json` and
//! `GET /.well-known/openid-configuration`.

use crate::config::tokens::UserClaim;
use crate::domain::AuthError;
use crate::domain::keyring::JWKS_MAX_AGE;
use crate::domain::{Caller, Deps, token};
use crate::http::bodies::SigninChoice;
use crate::http::error::ApiError;
use crate::http::request::json_or_default;
use crate::http::routes::Reply;
use crate::http::views::{JwkView, JwksView, OpenidConfigurationView, TokenView};
use crate::http::{ApiOrigin, Request};

pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// `POST /session/token`, optional body `{signin_id}` (default: the active signin).
pub async fn issue(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: SigninChoice = json_or_default(req)?;
    let issuer = issuer(deps, req)?;
    let signin_id = body.signin_id.filter(|id| !id.is_empty());
    let token = token::issue(deps, caller, &issuer, signin_id.as_deref()).await?;
    Ok(Reply::json(TokenView {
        jwt: token.jwt,
        expires_at: token.expires_at,
    }))
}

/// `GET /.well-known/jwks.json`: every key a verifier must accept now.
pub async fn jwks(deps: &Deps) -> Result<Reply, ApiError> {
    let keys = deps
        .keys
        .published(deps.clock.now())
        .await
        .map_err(internal)?;
    let keys: Vec<_> = keys
        .into_iter()
        .map(|k| JwkView {
            kty: "RSA",
            key_use: "sig",
            alg: "RS256",
            kid: k.kid,
            n: k.public.n,
            e: k.public.e,
        })
        .collect();
    Ok(Reply::document(
        to_document(JwksView { keys })?,
        JWKS_MAX_AGE.whole_seconds() as u32,
    ))
}

/// `GET /.well-known/openid-configuration`: what OpenID Connect Discovery 1.0 requires of an
/// issuer that only issues tokens (as Firebase's token issuer publishes it): there is no
/// authorization endpoint, since Sesame's own API is how users sign in.
pub fn openid_configuration(deps: &Deps, req: &Request) -> Result<Reply, ApiError> {
    let issuer = issuer(deps, req)?;
    let mut claims = vec!["iss", "sub", "aud", "exp", "iat", "nbf", "sid"];
    claims.extend(
        deps.config
            .tokens
            .claims
            .iter()
            .map(|c| UserClaim::name(*c)),
    );
    Ok(Reply::document(
        to_document(OpenidConfigurationView {
            jwks_uri: format!("{issuer}{JWKS_PATH}"),
            issuer,
            response_types_supported: vec!["id_token"],
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: vec!["RS256"],
            claims_supported: claims,
        })?,
        JWKS_MAX_AGE.whole_seconds() as u32,
    ))
}

/// `ISSUER_URL`, else the API's own origin as the adapter saw it.
fn issuer(deps: &Deps, req: &Request) -> Result<String, ApiError> {
    if let Some(issuer) = &deps.config.tokens.issuer {
        return Ok(issuer.clone());
    }
    req.extensions()
        .get::<ApiOrigin>()
        .map(|o| o.0.clone())
        .ok_or_else(|| internal("ISSUER_URL is unset and the request names no API domain"))
}

fn to_document(view: impl serde::Serialize) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(view).map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    AuthError::internal(e.to_string()).into()
}
