//! Opening an attempt in the caller's session, creating the session if there is none (or if it
//! vanished since it was read), and mirroring the write in the caller.

use super::caller::Caller;
use super::error::AuthError;
use super::limits::{Limit, seconds_until};
use super::model::{SessionState, SigninAttempt, SignupAttempt, Timestamp};
use super::session;
use crate::domain::Deps;
use crate::domain::ports::store::{NewAttempt, Opened, SessionWrite};

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

    fn add_to(self, state: &mut SessionState) {
        match self {
            Opening::Signup(a) => state.signup_attempts.push(*a),
            Opening::Signin(a) => state.signin_attempts.push(*a),
        }
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
        let touch = SessionWrite::Touch {
            session_id: state.session.id.clone(),
            last_active_at: now,
            expires_at,
        };
        match deps
            .store
            .open_attempt(&touch, attempt.as_new(), charge)
            .await?
        {
            Opened::Done => {
                state.session.last_active_at = now;
                state.session.expires_at = expires_at;
                let id = state.session.id.clone();
                attempt.add_to(state);
                return Ok(id);
            }
            Opened::Limited { window_ends } => return Err(limited(window_ends)),
            Opened::Conflict => {}
        }
        // The session ended between the read and the write: start a fresh one.
        caller.session = None;
    }
    let (new_session, credential) = session::create(deps, now);
    attempt.set_session(&new_session.id);
    match deps
        .store
        .open_attempt(
            &SessionWrite::Create(new_session.clone()),
            attempt.as_new(),
            charge,
        )
        .await?
    {
        Opened::Done => {
            let id = new_session.id.clone();
            let mut state = SessionState::new(new_session);
            attempt.add_to(&mut state);
            caller.session = Some(state);
            caller.issued = Some(credential);
            caller.clear_credential = false;
            Ok(id)
        }
        Opened::Limited { window_ends } => Err(limited(window_ends)),
        Opened::Conflict => Err(AuthError::internal("new session id already existed")),
    }
}
