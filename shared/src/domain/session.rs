//! Sessions: the credential's secret, lifetimes, and turning a presented credential into a
//! `Caller`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::Duration;

use super::caller::{Caller, IssuedCredential};
use super::error::AuthError;
use super::model::{Session, SessionState, Timestamp};
use crate::domain::Deps;
use crate::domain::ports::store::Written;
use crate::ids::{new_id, prefix, random_bytes};

/// A read moves the idle deadline at most this often, so most reads stay read-only.
pub const TOUCH_INTERVAL: Duration = Duration::hours(1);

/// 256 random bits, URL-safe; only its SHA-256 is stored.
pub fn new_secret() -> (String, String) {
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new session for a caller who had none, and the credential that proves it.
pub fn create(deps: &Deps, now: Timestamp) -> (Session, IssuedCredential) {
    let (secret, secret_hash) = new_secret();
    let mut session = Session {
        id: new_id(prefix::SESSION),
        secret_hash,
        active_signin_id: None,
        created_at: now,
        last_active_at: now,
        expires_at: now,
        attempts: Vec::new(),
    };
    let state = SessionState::new(session.clone());
    session.expires_at = deadline(deps, &state, now);
    let credential = IssuedCredential {
        session_id: session.id.clone(),
        secret,
        expires_at: absolute_end(deps, &state),
    };
    (session, credential)
}

/// When the session ends if nothing else happens: idle time from now, but never past the
/// absolute end.
pub fn deadline(deps: &Deps, state: &SessionState, now: Timestamp) -> Timestamp {
    idle_deadline(deps, now, absolute_end(deps, state))
}

/// Idle time from now, capped at `end`, the session's absolute end.
pub fn idle_deadline(deps: &Deps, now: Timestamp, end: Timestamp) -> Timestamp {
    (now + deps.config.session_idle).min(end)
}

/// The latest the session can live: its newest signin's end, or for a session without signins,
/// its own creation plus the maximum lifetime. The credential lasts this long; the server enforces
/// the idle deadline itself, so the browser need not be told about every extension.
pub fn absolute_end(deps: &Deps, state: &SessionState) -> Timestamp {
    state
        .signins
        .iter()
        .map(|s| s.expires_at)
        .max()
        .unwrap_or(state.session.created_at + deps.config.session_max)
}

/// Loads the session a credential (`<session id>.<secret>`) names and checks its secret and
/// lifetimes. Expired signins and attempts are dropped from the view. A credential whose session
/// is unknown or expired yields an anonymous caller whose credential is to be cleared.
pub async fn resolve(
    deps: &Deps,
    credential: Option<(&str, &str)>,
    ip: &str,
) -> Result<Caller, AuthError> {
    let mut caller = Caller::anonymous(ip);
    let Some((session_id, secret)) = credential else {
        return Ok(caller);
    };
    let now = deps.clock.now();
    let Some(state) = deps.store.load_session(session_id).await? else {
        caller.clear_credential = true;
        return Ok(caller);
    };
    if now >= state.session.expires_at {
        caller.clear_credential = true;
        return Ok(caller);
    }
    let presented = hash_secret(secret);
    let secret_ok: bool = presented
        .as_bytes()
        .ct_eq(state.session.secret_hash.as_bytes())
        .into();
    // A wrong secret proves nothing, but the credential is left alone: it may be a request sent
    // just before a sign-in replaced the secret, and clearing it would drop the new one.
    if secret_ok {
        caller.session = Some(prune(deps, state, now));
    } else {
        caller.stale_credential = true;
    }
    Ok(caller)
}

/// Drops signins past their absolute end or idle too long, and attempts past their end.
fn prune(deps: &Deps, mut state: SessionState, now: Timestamp) -> SessionState {
    let idle = deps.config.session_idle;
    state
        .signins
        .retain(|s| now < s.expires_at && now < s.last_active_at + idle);
    state.signup_attempts.retain(|a| now < a.expires_at);
    state.signin_attempts.retain(|a| now < a.expires_at);
    if state.active_signin().is_none() {
        state.session.active_signin_id = None;
    }
    state
}

/// Moves the idle deadline for a caller whose session has not been touched for a while.
pub async fn touch_if_stale(deps: &Deps, caller: &mut Caller) -> Result<(), AuthError> {
    let Some(state) = caller.session.as_mut() else {
        return Ok(());
    };
    let now = deps.clock.now();
    let signin_fresh = state
        .active_signin()
        .is_none_or(|s| now - s.last_active_at < TOUCH_INTERVAL);
    if now - state.session.last_active_at < TOUCH_INTERVAL && signin_fresh {
        return Ok(());
    }
    let expires_at = deadline(deps, state, now);
    let active = state.session.active_signin_id.clone();
    deps.store
        .touch_session(&state.session.id, state.active_signin(), now, expires_at)
        .await?;
    state.session.last_active_at = now;
    state.session.expires_at = expires_at;
    if let Some(s) = state
        .signins
        .iter_mut()
        .find(|s| Some(&s.id) == active.as_ref())
    {
        s.last_active_at = now;
    }
    Ok(())
}

/// Makes another of the session's signins active.
pub async fn switch(deps: &Deps, caller: &mut Caller, signin_id: &str) -> Result<(), AuthError> {
    let now = deps.clock.now();
    let state = caller.session.as_mut().ok_or(AuthError::Unauthenticated)?;
    let not_here = || AuthError::invalid("signin_id", "is not a signin of this session");
    let Some(signin) = state.signins.iter().find(|s| s.id == signin_id) else {
        return Err(not_here());
    };
    if deps.store.switch_signin(signin, now).await? == Written::Conflict {
        return Err(not_here());
    }
    state.session.active_signin_id = Some(signin_id.to_string());
    state.session.last_active_at = now;
    if let Some(s) = state.signins.iter_mut().find(|s| s.id == signin_id) {
        s.last_active_at = now;
    }
    Ok(())
}

/// Ends one signin (the most recently active one left becomes active), or, without an id, the
/// whole session: then the session is deleted and the credential cleared.
pub async fn sign_out(
    deps: &Deps,
    caller: &mut Caller,
    signin_id: Option<&str>,
) -> Result<(), AuthError> {
    // A credential whose secret was replaced ends nothing: saying 200 would let its holder
    // believe a copied (and since rotated) cookie was revoked.
    if caller.stale_credential {
        return Err(AuthError::Unauthenticated);
    }
    let Some(signin_id) = signin_id else {
        if let Some(state) = caller.session.take() {
            deps.store.delete_session(&state.session.id).await?;
        }
        caller.clear_credential = true;
        return Ok(());
    };
    let state = caller.session.as_mut().ok_or(AuthError::Unauthenticated)?;
    let not_here = || AuthError::invalid("signin_id", "is not a signin of this session");
    let Some(signin) = state.signins.iter().find(|s| s.id == signin_id).cloned() else {
        return Err(not_here());
    };
    let was_active = state.session.active_signin_id.as_deref() == Some(signin_id);
    let next_active = if was_active {
        state
            .signins
            .iter()
            .filter(|s| s.id != signin_id)
            .max_by_key(|s| s.last_active_at)
            .map(|s| s.id.clone())
    } else {
        state.session.active_signin_id.clone()
    };
    let written = deps
        .store
        .remove_signin(&signin, next_active.as_deref())
        .await?;
    if written == Written::Conflict {
        return Err(not_here());
    }
    state.signins.retain(|s| s.id != signin_id);
    state.session.active_signin_id = next_active;
    Ok(())
}
