//! A passkey sign-in: `POST /auth/signin {strategy: "passkey"}` opens an attempt holding a
//! discoverable-credential challenge (its request options shown in the attempt), and
//! `POST /auth/attempt-verification {signin_attempt_id, credential}` completes it. The assertion
//! names its user (the user handle) and passkey; one conditional transaction completes the
//! attempt (single use), updates the passkey's counter and backup flags, checks the user is not
//! blocked and grants the signin. A passkey is both factors: no `verify_second_factor` follows.

use serde_json::Value;
use time::Duration;

use super::ceremony;
use super::model::{PasskeyChallenge, StoredPasskey, passkey_id, user_of_handle};
use crate::domain::Deps;
use crate::domain::attempts::{self, Opening};
use crate::domain::caller::Caller;
use crate::domain::error::AuthError;
use crate::domain::grant;
use crate::domain::limits::Limit;
use crate::domain::model::{AttemptKind, CodeState, SigninAttempt, SigninMethod, Step};
use crate::domain::ports::passkeys::PasskeySignin;
use crate::domain::ports::store::{Completion, StoreError};
use crate::ids::{new_id, prefix};

/// How long a passkey sign-in's challenge can be answered: its attempt's life.
pub const PASSKEY_ATTEMPT_TTL: Duration = Duration::minutes(10);

/// Opens the attempt. Takes no identifier (the authenticator names the account) and no password.
pub async fn start(
    deps: &Deps,
    caller: &mut Caller,
    _identifier: Option<String>,
    password: Option<String>,
) -> Result<(), AuthError> {
    if password.is_some_and(|p| !p.is_empty()) {
        return Err(AuthError::invalid(
            "password",
            "a passkey sign-in takes no password",
        ));
    }
    let rp = ceremony::relying_party(deps)?;
    let now = deps.clock.now();
    let challenge = ceremony::start_signin(rp)?;
    let attempt = SigninAttempt {
        id: new_id(prefix::SIGNIN_ATTEMPT),
        session_id: String::new(),
        method: SigninMethod::Passkey,
        identifier: String::new(),
        user_id: None,
        destination: None,
        remaining_steps: vec![Step::VerifyPasskey],
        missing_fields: Vec::new(),
        sso: None,
        reset: None,
        reverifies: None,
        changes_contact: None,
        second_factor: None,
        passkey: Some(challenge),
        codes: CodeState::default(),
        completed: false,
        created_at: now,
        expires_at: now + PASSKEY_ATTEMPT_TTL,
    };
    let ip_limit = Limit::signins_per_ip(&caller.ip, deps.config.limits.signins_per_ip_per_hour);
    attempts::open(
        deps,
        caller,
        Opening::Signin(Box::new(attempt)),
        Some(&ip_limit),
        now,
    )
    .await?;
    Ok(())
}

/// The passkey an assertion names, read before the caller's session is (the two reads overlap:
/// the completion's budget is the session read and one transaction). `None` when the body is
/// not a passkey's or names no user.
pub async fn early_read(
    deps: &Deps,
    credential: &Value,
) -> Option<Result<Option<StoredPasskey>, StoreError>> {
    let handle = credential["response"]["userHandle"].as_str()?;
    let raw_id = credential["rawId"].as_str().or(credential["id"].as_str())?;
    let user_id = user_of_handle(&base64_url(handle)?)?;
    let id = passkey_id(&base64_url(raw_id)?);
    Some(deps.store.passkey(&user_id, &id).await)
}

fn base64_url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .ok()
}

/// Completes the attempt with an assertion. `read` is the passkey `early_read` found, if it ran.
pub async fn finish(
    deps: &Deps,
    caller: &mut Caller,
    attempt_id: &str,
    credential: Value,
    read: Option<Result<Option<StoredPasskey>, StoreError>>,
) -> Result<(), AuthError> {
    let rp = ceremony::relying_party(deps)?;
    let (assertion, user_id, id) = ceremony::identify(credential)?;
    let attempt = caller
        .session
        .as_ref()
        .and_then(|s| s.signin_attempt(attempt_id))
        .ok_or(AuthError::AttemptNotFound)?;
    if attempt.completed {
        return Err(AuthError::AttemptCompleted);
    }
    let challenge: PasskeyChallenge = match (&attempt.passkey, attempt.remaining_steps.first()) {
        (Some(c), Some(Step::VerifyPasskey)) => c.clone(),
        _ => {
            return Err(AuthError::invalid(
                "credential",
                "this attempt is not a passkey sign-in",
            ));
        }
    };
    let stored = match read {
        Some(read) => read?,
        None => deps.store.passkey(&user_id, &id).await?,
    };
    // A passkey unknown here (never registered, or deleted) fails like a wrong signature.
    let stored = stored
        .filter(|p| p.user_id == user_id && p.id == id)
        .ok_or(AuthError::InvalidCredentials)?;
    let credential = ceremony::finish_signin(rp, &assertion, &challenge, &stored)?;
    let now = deps.clock.now();
    let mut prepared = grant::prepare(deps, caller, &user_id, now);
    let write = PasskeySignin {
        user_id: user_id.clone(),
        attempt_id: attempt_id.to_string(),
        expected_credential: stored.credential.clone(),
        after: stored.used(credential, now),
        grant: prepared.grant.clone(),
    };
    match deps.store.finish_passkey_signin(&write).await? {
        Completion::Done => {}
        Completion::UserBlocked => return Err(AuthError::UserBlocked),
        Completion::AttemptChanged => return Err(AuthError::AttemptCompleted),
        // Deleted, or used by another sign-in, since it was read.
        Completion::CredentialsChanged | Completion::Taken(_) => {
            return Err(AuthError::InvalidCredentials);
        }
        // A passkey meets both factors, so its grant never checks them: no `SecondFactorStale`.
        Completion::SessionChanged | Completion::SecondFactorStale => {
            return Err(AuthError::Unauthenticated);
        }
    }
    prepared
        .next
        .complete_attempt(AttemptKind::Signin, attempt_id, None);
    grant::apply(deps, caller, prepared);
    Ok(())
}
