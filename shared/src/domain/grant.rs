//! Granting a signin, shared by sign-up and sign-in completion: the new signin, which of the
//! session's signins it replaces (one per user, at most five), and the session's new secret, or a
//! new session for a caller who had none. The store applies it atomically; `apply` then mirrors it
//! in the caller.

use super::caller::{Caller, IssuedCookie};
use super::limits::SIGNINS_PER_SESSION;
use super::model::{Session, SessionState, Signin, Timestamp};
use super::session;
use crate::domain::Deps;
use crate::domain::ports::store::{Grant, GrantSession, SessionRotation};
use crate::ids::{new_id, prefix};

pub struct Prepared {
    pub grant: Grant,
    /// The new cookie secret, handed out only once the store accepted the grant.
    pub secret: String,
    /// The session as it will be once the grant is applied.
    pub next: SessionState,
}

pub fn prepare(
    deps: &Deps,
    state: Option<&SessionState>,
    user_id: &str,
    now: Timestamp,
) -> Prepared {
    let (secret, secret_hash) = session::new_secret();
    let mut next = match state {
        Some(s) => s.clone(),
        None => SessionState::new(Session {
            id: new_id(prefix::SESSION),
            secret_hash: secret_hash.clone(),
            active_signin_id: None,
            created_at: now,
            last_active_at: now,
            expires_at: now,
        }),
    };
    let signin = Signin {
        id: new_id(prefix::SIGNIN),
        session_id: next.session.id.clone(),
        user_id: user_id.to_string(),
        created_at: now,
        expires_at: now + deps.config.session_max,
        last_active_at: now,
    };

    // One signin per user: a new sign-in of the same user replaces the old one.
    let mut removed: Vec<String> = next
        .signins
        .iter()
        .filter(|s| s.user_id == user_id)
        .map(|s| s.id.clone())
        .collect();
    let others: Vec<&Signin> = next
        .signins
        .iter()
        .filter(|s| s.user_id != user_id)
        .collect();
    if others.len() >= SIGNINS_PER_SESSION
        && let Some(oldest) = others.iter().min_by_key(|s| s.last_active_at)
    {
        removed.push(oldest.id.clone());
    }
    next.signins.retain(|s| !removed.contains(&s.id));
    next.signins.push(signin.clone());
    next.session.secret_hash = secret_hash.clone();
    next.session.active_signin_id = Some(signin.id.clone());
    next.session.last_active_at = now;
    next.session.expires_at = session::deadline(deps, &next, now);

    let session = match state {
        None => GrantSession::Create(next.session.clone()),
        Some(proven) => GrantSession::Rotate(SessionRotation {
            session_id: next.session.id.clone(),
            proven_secret_hash: proven.session.secret_hash.clone(),
            secret_hash,
            active_signin_id: signin.id.clone(),
            last_active_at: now,
            expires_at: next.session.expires_at,
        }),
    };
    Prepared {
        grant: Grant {
            signin,
            removed_signin_ids: removed,
            session,
        },
        secret,
        next,
    }
}

/// The caller after the store applied the grant: the new session, and its new cookie.
pub fn apply(deps: &Deps, caller: &mut Caller, prepared: Prepared) {
    caller.issued = Some(IssuedCookie {
        session_id: prepared.next.session.id.clone(),
        secret: prepared.secret,
        expires_at: session::absolute_end(deps, &prepared.next),
    });
    caller.clear_cookie = false;
    caller.session = Some(prepared.next);
}
