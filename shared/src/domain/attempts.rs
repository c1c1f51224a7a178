//! Opening an attempt in the caller's session, creating the session if there is none (or if it
//! vanished since it was read), and mirroring the write in the caller. A session keeps at most
//! `ATTEMPTS_PER_SESSION` attempts of each kind: the write that adds one deletes the expired ones
//! and, at the cap, the oldest of its kind (`Admission`).

use super::caller::Caller;
use super::error::AuthError;
use super::limits::{Limit, seconds_until};
use super::model::{AttemptKind, SessionState, SigninAttempt, SignupAttempt, Timestamp};
use super::session;
use crate::domain::Deps;
use crate::domain::ports::store::{Admission, NewAttempt, Opened, SessionWrite};

/// How often a write is planned again from a fresh read when other requests keep adding attempts
/// to the same session between our read and our write; then the answer is 429.
const ADMISSION_TRIES: usize = 5;

pub enum Opening {
    Signup(Box<SignupAttempt>),
    Signin(Box<SigninAttempt>),
}

impl Opening {
    fn set_session(&mut self, id: &str) {
        match self {
            Opening::Signup(a) => a.session_id = id.to_string(),
            Opening::Signin(a) => a.session_id = id.to_string(),
        }
    }

    fn as_new(&self) -> NewAttempt<'_> {
        match self {
            Opening::Signup(a) => NewAttempt::Signup(a.as_ref()),
            Opening::Signin(a) => NewAttempt::Signin(a.as_ref()),
        }
    }

    fn kind(&self) -> AttemptKind {
        match self {
            Opening::Signup(_) => AttemptKind::Signup,
            Opening::Signin(_) => AttemptKind::Signin,
        }
    }
}

/// Takes the session's attempts as stored now, after a write found its list changed, leaving out
/// the expired ones as `session::resolve` does; `false` if the session is gone.
async fn reread_attempts(
    deps: &Deps,
    state: &mut SessionState,
    now: Timestamp,
) -> Result<bool, AuthError> {
    let Some(fresh) = deps.store.load_session(&state.session.id).await? else {
        return Ok(false);
    };
    state.session.attempts = fresh.session.attempts;
    state.signup_attempts = fresh.signup_attempts;
    state.signup_attempts.retain(|a| now < a.expires_at);
    state.signin_attempts = fresh.signin_attempts;
    state.signin_attempts.retain(|a| now < a.expires_at);
    Ok(true)
}

/// Other requests kept adding attempts to the session faster than this one could join it.
fn crowded() -> AuthError {
    AuthError::RateLimited {
        retry_after_secs: 1,
    }
}

/// Stores the attempt, charging `cap` (the per-destination limit of the code it will send) in
/// the same write; returns the id of the session it joined.
pub async fn open(
    deps: &Deps,
    caller: &mut Caller,
    mut attempt: Opening,
    cap: Option<&Limit>,
    now: Timestamp,
) -> Result<String, AuthError> {
    let charge = cap.map(|l| l.charge(now));
    let limited = |window_ends| AuthError::RateLimited {
        retry_after_secs: seconds_until(now, window_ends),
    };
    if let Some(state) = caller.session.as_mut() {
        attempt.set_session(&state.session.id);
        let expires_at = session::deadline(deps, state, now);
        for tries in 1.. {
            let admission = Admission::new(&state.session.attempts, attempt.kind(), now);
            let touch = SessionWrite::Touch {
                session_id: state.session.id.clone(),
                last_active_at: now,
                expires_at,
                admission: admission.clone(),
            };
            match deps
                .store
                .open_attempt(&touch, attempt.as_new(), charge)
                .await?
            {
                Opened::Done => {
                    state.session.last_active_at = now;
                    state.session.expires_at = expires_at;
                    state.admit(&admission, attempt.as_new());
                    return Ok(state.session.id.clone());
                }
                Opened::Limited { window_ends } => return Err(limited(window_ends)),
                Opened::Conflict => {}
            }
            // Another attempt joined the session since it was read, or the session ended.
            if !reread_attempts(deps, state, now).await? {
                break;
            }
            if tries == ADMISSION_TRIES {
                return Err(crowded());
            }
        }
        // The session ended between the read and the write: start a fresh one.
        caller.session = None;
    }
    let (new_session, credential) = session::create(deps, now);
    attempt.set_session(&new_session.id);
    let create = SessionWrite::Create(new_session.clone());
    match deps
        .store
        .open_attempt(&create, attempt.as_new(), charge)
        .await?
    {
        Opened::Done => {
            let id = new_session.id.clone();
            let mut state = SessionState::new(new_session);
            state.admit(&create.admission(), attempt.as_new());
            caller.session = Some(state);
            caller.issued = Some(credential);
            caller.clear_credential = false;
            Ok(id)
        }
        Opened::Limited { window_ends } => Err(limited(window_ends)),
        Opened::Conflict => Err(AuthError::internal("new session id already existed")),
    }
}

/// Completes the open `sso` sign-in attempt and stores the sign-up attempt it continues as,
/// admitted into the session like any new attempt and charging `cap`; mirrors both in the caller.
pub async fn continue_as_signup(
    deps: &Deps,
    caller: &mut Caller,
    sso_attempt_id: &str,
    signup: &SignupAttempt,
    cap: Option<&Limit>,
    now: Timestamp,
) -> Result<(), AuthError> {
    let charge = cap.map(|l| l.charge(now));
    let state = caller.session.as_mut().ok_or(AuthError::AttemptNotFound)?;
    let mut tries = 0;
    loop {
        tries += 1;
        let admission = Admission::new(&state.session.attempts, AttemptKind::Signup, now)
            .sparing(sso_attempt_id);
        match deps
            .store
            .continue_as_signup(sso_attempt_id, signup, &admission, charge)
            .await?
        {
            Opened::Done => {
                state.continue_as_signup(sso_attempt_id, signup, &admission);
                return Ok(());
            }
            Opened::Limited { window_ends } => {
                return Err(AuthError::RateLimited {
                    retry_after_secs: seconds_until(now, window_ends),
                });
            }
            Opened::Conflict => {}
        }
        // A replayed callback finished first, or another attempt joined the session meanwhile.
        let open = reread_attempts(deps, state, now).await?
            && state
                .signin_attempt(sso_attempt_id)
                .is_some_and(|a| !a.completed);
        if !open {
            return Err(AuthError::AttemptCompleted);
        }
        if tries == ADMISSION_TRIES {
            return Err(crowded());
        }
    }
}
