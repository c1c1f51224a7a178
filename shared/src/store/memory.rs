//! The embedded store: one mutex over plain maps. Each operation holds the lock for its whole
//! read-check-write, which gives it the same atomicity as DynamoDB's conditional writes and
//! transactions. Serves the dev server and fast tests.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::domain::model::SigninAttempt;

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, SessionState>,
    users: HashMap<String, User>,
    /// Claim key -> user id.
    claims: HashMap<String, String>,
    /// Limit key -> (window end, count).
    counters: HashMap<String, (Timestamp, u32)>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves maps consistent (each op validates before writing).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The code state of the targeted attempt, if it exists.
fn codes_mut<'a>(state: &'a mut State, key: AttemptKey<'_>) -> Option<AttemptCodes<'a>> {
    let session = state.sessions.get_mut(key.session_id)?;
    match key.kind {
        AttemptKind::Signup => session
            .signup_attempts
            .iter_mut()
            .find(|a| a.id == key.attempt_id)
            .map(|a| AttemptCodes {
                codes: &mut a.codes,
                completed: a.completed,
            }),
        AttemptKind::Signin => session
            .signin_attempts
            .iter_mut()
            .find(|a: &&mut SigninAttempt| a.id == key.attempt_id)
            .map(|a| AttemptCodes {
                codes: &mut a.codes,
                completed: a.completed,
            }),
    }
}

struct AttemptCodes<'a> {
    codes: &'a mut CodeState,
    completed: bool,
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load_session(&self, session_id: &str) -> Result<Option<SessionState>, StoreError> {
        Ok(self.lock().sessions.get(session_id).cloned())
    }

    async fn touch_session(
        &self,
        session_id: &str,
        active_signin_id: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(s) = state.sessions.get_mut(session_id) {
            s.session.last_active_at = now;
            s.session.expires_at = expires_at;
            if let Some(signin) = s
                .signins
                .iter_mut()
                .find(|x| Some(x.id.as_str()) == active_signin_id)
            {
                signin.last_active_at = now;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn taken_claims(&self, claims: &[Claim]) -> Result<Vec<Claim>, StoreError> {
        let state = self.lock();
        Ok(claims
            .iter()
            .filter(|c| state.claims.contains_key(&c.key()))
            .cloned()
            .collect())
    }

    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.lock().users.get(user_id).cloned())
    }
}

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn open_signup_attempt(
        &self,
        session: &SessionWrite,
        attempt: &SignupAttempt,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let entry = match session {
            SessionWrite::Create(s) => {
                if state.sessions.contains_key(&s.id) {
                    return Ok(Written::Conflict);
                }
                state
                    .sessions
                    .entry(s.id.clone())
                    .or_insert_with(|| SessionState::new(s.clone()))
            }
            SessionWrite::Touch {
                session_id,
                last_active_at,
                expires_at,
            } => match state.sessions.get_mut(session_id) {
                None => return Ok(Written::Conflict),
                Some(existing) => {
                    existing.session.last_active_at = *last_active_at;
                    existing.session.expires_at = *expires_at;
                    existing
                }
            },
        };
        entry.signup_attempts.push(attempt.clone());
        Ok(Written::Done)
    }

    async fn record_send(
        &self,
        key: AttemptKey<'_>,
        send: &CodeSend,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        match codes_mut(&mut state, key) {
            Some(a) if !a.completed && a.codes.sends == send.expected_sends => {
                apply_send(a.codes, send);
                Ok(Written::Done)
            }
            _ => Ok(Written::Conflict),
        }
    }

    async fn record_send_failed(
        &self,
        key: AttemptKey<'_>,
        code_hash: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(a) = codes_mut(&mut state, key)
            && let Some(code) = a.codes.code.as_mut()
            && code.hash == code_hash
        {
            code.sent_at = None;
        }
        Ok(())
    }

    async fn record_wrong_code(
        &self,
        key: AttemptKey<'_>,
        max: u32,
    ) -> Result<WrongCode, StoreError> {
        let mut state = self.lock();
        match codes_mut(&mut state, key) {
            Some(a) if !a.completed && a.codes.wrong_codes < max => {
                a.codes.wrong_codes += 1;
                Ok(WrongCode::Counted(a.codes.wrong_codes))
            }
            _ => Ok(WrongCode::Refused),
        }
    }

    async fn complete_signup(
        &self,
        session_id: &str,
        c: &SignupCompletion,
    ) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        let taken: Vec<Claim> = c
            .claims
            .iter()
            .filter(|claim| state.claims.contains_key(&claim.key()))
            .cloned()
            .collect();
        let Some(session) = state.sessions.get_mut(session_id) else {
            return Ok(Completion::AttemptChanged);
        };
        let Some(attempt) = session
            .signup_attempts
            .iter_mut()
            .find(|a| a.id == c.attempt_id)
        else {
            return Ok(Completion::AttemptChanged);
        };
        let code_still_pending = attempt
            .codes
            .code
            .as_ref()
            .is_some_and(|code| code.hash == c.code_hash);
        if attempt.completed
            || !code_still_pending
            || attempt.codes.wrong_codes >= c.max_wrong_codes
        {
            return Ok(Completion::AttemptChanged);
        }
        if !taken.is_empty() {
            return Ok(Completion::Taken(taken));
        }

        attempt.completed = true;
        attempt.remaining_steps.clear();
        attempt.codes.code = None;
        attempt.user_id = Some(c.user.id.clone());
        attempt.email_verified = c.user.email_verified;
        attempt.phone_verified = c.user.phone_verified;
        session
            .signins
            .retain(|s| Some(&s.id) != c.evicted_signin_id.as_ref());
        session.signins.push(c.signin.clone());
        session.session.secret_hash = c.rotation.secret_hash.clone();
        session.session.active_signin_id = Some(c.rotation.active_signin_id.clone());
        session.session.last_active_at = c.rotation.last_active_at;
        session.session.expires_at = c.rotation.expires_at;

        for claim in &c.claims {
            state.claims.insert(claim.key(), c.user.id.clone());
        }
        state.users.insert(c.user.id.clone(), c.user.clone());
        Ok(Completion::Done)
    }
}

#[async_trait]
impl LimitStore for MemoryStore {
    async fn hit(&self, key: &str, window_ends: Timestamp, max: u32) -> Result<Hit, StoreError> {
        let mut state = self.lock();
        let entry = state
            .counters
            .entry(key.to_string())
            .or_insert((window_ends, 0));
        if entry.0 != window_ends {
            *entry = (window_ends, 0);
        }
        if entry.1 >= max {
            return Ok(Hit::Limited { window_ends });
        }
        entry.1 += 1;
        Ok(Hit::Allowed)
    }
}
