//! `POST /session/token` (DESIGN section 10): a short-lived RS256 JWT for one of the caller's
//! signins, for the app's own backend to verify against the JWKS with no call to Sesame.

use serde_json::{Map, Value, json};

use super::caller::Caller;
use super::error::AuthError;
use super::model::{Timestamp, User};
use super::session;
use crate::config::tokens::UserClaim;
use crate::domain::Deps;

/// How far `nbf` precedes `iat`.
pub const NBF_SKEW: time::Duration = time::Duration::seconds(30);

pub struct IssuedToken {
    pub jwt: String,
    pub expires_at: Timestamp,
}

/// A token for `signin_id`, or the active signin. `issuer` is the API's public URL (the http
/// layer knows it); the audience defaults to it. The token never outlives its signin.
pub async fn issue(
    deps: &Deps,
    caller: &mut Caller,
    issuer: &str,
    signin_id: Option<&str>,
) -> Result<IssuedToken, AuthError> {
    let now = deps.clock.now();
    let state = caller.session.as_ref().ok_or(AuthError::Unauthenticated)?;
    let signin = match signin_id {
        Some(id) => state.signins.iter().find(|s| s.id == id),
        None => state.active_signin(),
    }
    .ok_or(AuthError::Unauthenticated)?
    .clone();
    let settings = &deps.config.tokens;

    let user = if settings.claims.is_empty() {
        session::touch_if_stale(deps, caller).await?;
        None
    } else {
        let (user, touched) = tokio::join!(
            deps.store.get_user(&signin.user_id),
            session::touch_if_stale(deps, caller)
        );
        touched?;
        let user = user?.ok_or(AuthError::Unauthenticated)?;
        if user.blocked {
            return Err(AuthError::UserBlocked);
        }
        Some(user)
    };

    let expires_at = (now + settings.ttl).min(signin.expires_at);
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("sub".into(), json!(signin.user_id));
    claims.insert("sid".into(), json!(signin.id));
    claims.insert(
        "aud".into(),
        json!(settings.audience.as_deref().unwrap_or(issuer)),
    );
    claims.insert("iat".into(), json!(now.unix_timestamp()));
    // A verifier whose clock lags ours a little still accepts a token used at once.
    claims.insert("nbf".into(), json!((now - NBF_SKEW).unix_timestamp()));
    claims.insert("exp".into(), json!(expires_at.unix_timestamp()));
    if let Some(user) = &user {
        for claim in &settings.claims {
            if let Some(value) = user_claim(user, *claim) {
                claims.insert(claim.name().into(), value);
            }
        }
    }
    let jwt = deps.keys.sign(&claims, now).await?;
    Ok(IssuedToken { jwt, expires_at })
}

/// A claim's value; `None` leaves it out. An email address or phone number is only claimed once
/// verified: an unverified one is not unique and proves nothing, and a backend that looks its
/// records up by `email` must never find someone else's.
fn user_claim(user: &User, claim: UserClaim) -> Option<Value> {
    let verified = |value: &Option<String>, verified: bool| {
        value.as_ref().filter(|_| verified).map(|v| json!(v))
    };
    match claim {
        UserClaim::Email => verified(&user.email, user.email_verified),
        UserClaim::EmailVerified => Some(json!(user.email_verified)),
        UserClaim::PhoneNumber => verified(&user.phone_number, user.phone_verified),
        UserClaim::PhoneVerified => Some(json!(user.phone_verified)),
        UserClaim::Username => Some(json!(user.username)),
        UserClaim::FirstName => Some(json!(user.first_name)),
        UserClaim::LastName => Some(json!(user.last_name)),
        UserClaim::ImageUrl => Some(json!(user.image_url)),
        UserClaim::TwoFactorEnabled => Some(json!(user.two_factor_enabled)),
    }
}
