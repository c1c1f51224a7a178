//! The embedded store: one mutex over plain maps. Each operation holds the lock for its whole
//! read-check-write, which gives it the same atomicity as DynamoDB's conditional writes and
//! transactions. Serves the dev server and fast tests.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::model::*;
use crate::domain::model::{CodeAttempt, Step};
use crate::domain::ports::store::*;

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
        // Every operation checks before it writes, so a panic cannot leave a half-applied change.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Whether the window has room for one more event (counts nothing).
    fn has_room(&self, c: Charge<'_>) -> bool {
        match self.counters.get(c.key) {
            Some((window, count)) if *window == c.window_ends => *count < c.max,
            _ => c.max > 0,
        }
    }

    /// Counts one event against a fixed window; false (nothing counted) once it is full.
    fn charge(&mut self, c: Charge<'_>) -> bool {
        let entry = self
            .counters
            .entry(c.key.to_string())
            .or_insert((c.window_ends, 0));
        if entry.0 != c.window_ends {
            *entry = (c.window_ends, 0);
        }
        if entry.1 >= c.max {
            return false;
        }
        entry.1 += 1;
        true
    }

    fn attempt_mut(&mut self, key: AttemptKey<'_>) -> Option<&mut dyn CodeAttempt> {
        self.sessions
            .get_mut(key.session_id)?
            .attempt_mut(key.kind, key.attempt_id)
    }

    /// Whether the proof still holds: the attempt has this code, is open and not killed.
    fn proof_holds(&mut self, session_id: &str, kind: AttemptKind, proof: &CodeProof) -> bool {
        let key = AttemptKey {
            session_id,
            attempt_id: &proof.attempt_id,
            kind,
        };
        self.attempt_mut(key).is_some_and(|a| {
            !a.completed()
                && a.codes().wrong_codes < proof.max_wrong_codes
                && a.codes()
                    .code
                    .as_ref()
                    .is_some_and(|c| c.hash == proof.code_hash)
        })
    }

    /// Whether the grant can apply: a session to create must not exist; one to rotate must, still
    /// holding the secret the caller proved.
    fn grant_fits(&self, grant: &Grant) -> bool {
        match &grant.session {
            GrantSession::Create(s) => !self.sessions.contains_key(&s.id),
            GrantSession::Rotate(r) => self
                .sessions
                .get(&r.session_id)
                .is_some_and(|s| s.session.secret_hash == r.proven_secret_hash),
        }
    }

    fn apply_grant(&mut self, grant: &Grant) {
        let state = match &grant.session {
            GrantSession::Create(s) => self
                .sessions
                .entry(s.id.clone())
                .or_insert_with(|| SessionState::new(s.clone())),
            GrantSession::Rotate(r) => self
                .sessions
                .get_mut(&r.session_id)
                .expect("checked by grant_fits"),
        };
        state.apply_grant(grant);
    }

    /// Whether the check holds of the attempt of `kind` it names.
    fn check_holds(&mut self, session_id: &str, kind: AttemptKind, check: &AttemptCheck) -> bool {
        match check {
            AttemptCheck::Code(proof) => self.proof_holds(session_id, kind, proof),
            AttemptCheck::AtStep { attempt_id, step } => self
                .sessions
                .get(session_id)
                .and_then(|s| s.signup_attempt(attempt_id))
                .is_some_and(|a| !a.completed && a.remaining_steps.first() == Some(step)),
            AttemptCheck::Sso { attempt_id } => self
                .sessions
                .get(session_id)
                .and_then(|s| s.signin_attempt(attempt_id))
                .is_some_and(|a| !a.completed),
        }
    }

    fn complete_attempt(
        &mut self,
        session_id: &str,
        kind: AttemptKind,
        attempt_id: &str,
        user: Option<&User>,
    ) {
        if let Some(state) = self.sessions.get_mut(session_id) {
            state.complete_attempt(kind, attempt_id, user);
        }
    }
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

    async fn switch_signin(
        &self,
        session_id: &str,
        signin_id: &str,
        now: Timestamp,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let Some(s) = state.sessions.get_mut(session_id) else {
            return Ok(Written::Conflict);
        };
        let Some(signin) = s.signins.iter_mut().find(|x| x.id == signin_id) else {
            return Ok(Written::Conflict);
        };
        signin.last_active_at = now;
        s.session.active_signin_id = Some(signin_id.to_string());
        s.session.last_active_at = now;
        Ok(Written::Done)
    }

    async fn remove_signin(
        &self,
        session_id: &str,
        signin_id: &str,
        next_active: Option<&str>,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let Some(s) = state.sessions.get_mut(session_id) else {
            return Ok(Written::Conflict);
        };
        let before = s.signins.len();
        s.signins.retain(|x| x.id != signin_id);
        if s.signins.len() == before {
            return Ok(Written::Conflict);
        }
        s.session.active_signin_id = next_active.map(str::to_string);
        Ok(Written::Done)
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        self.lock().sessions.remove(session_id);
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

    async fn claim_owner(&self, claim: &Claim) -> Result<Option<String>, StoreError> {
        Ok(self.lock().claims.get(&claim.key()).cloned())
    }

    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.lock().users.get(user_id).cloned())
    }

    async fn import_user(&self, user: &User, claims: &[Claim]) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        let taken: Vec<Claim> = claims
            .iter()
            .filter(|c| state.claims.contains_key(&c.key()))
            .cloned()
            .collect();
        if !taken.is_empty() {
            return Ok(Completion::Taken(taken));
        }
        if state.users.contains_key(&user.id) {
            return Ok(Completion::AttemptChanged);
        }
        for claim in claims {
            state.claims.insert(claim.key(), user.id.clone());
        }
        state.users.insert(user.id.clone(), user.clone());
        Ok(Completion::Done)
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        expected: &str,
        new_hash: &str,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        match state.users.get_mut(user_id) {
            Some(u) if u.password_hash.as_deref() == Some(expected) => {
                u.password_hash = Some(new_hash.to_string());
                Ok(Written::Done)
            }
            _ => Ok(Written::Conflict),
        }
    }

    async fn record_failed_login(&self, user_id: &str) -> Result<(), StoreError> {
        if let Some(u) = self.lock().users.get_mut(user_id) {
            u.login_attempts += 1;
        }
        Ok(())
    }

    async fn update_profile(
        &self,
        user_id: &str,
        changes: &ProfileChanges,
    ) -> Result<Option<User>, StoreError> {
        let mut state = self.lock();
        Ok(state.users.get_mut(user_id).map(|u| {
            changes.apply(u);
            u.clone()
        }))
    }

    async fn change_username(
        &self,
        user_id: &str,
        from: Option<&str>,
        to: &str,
        changes: &ProfileChanges,
    ) -> Result<UsernameChange, StoreError> {
        let mut state = self.lock();
        let new_claim = Claim::Username(to.to_string()).key();
        // The same precedence as the DynamoDB adapter: taken, then stale.
        let held_by_other = state
            .claims
            .get(&new_claim)
            .is_some_and(|owner| owner != user_id);
        if held_by_other {
            return Ok(UsernameChange::Taken);
        }
        let current = state.users.get(user_id).map(|u| u.username.clone());
        if current.as_ref().map(|c| c.as_deref()) != Some(from) {
            return Ok(UsernameChange::Stale);
        }
        let old_claim = from.map(|f| Claim::Username(f.to_string()).key());
        if let Some(old) = old_claim.filter(|old| *old != new_claim) {
            state.claims.remove(&old);
        }
        state.claims.insert(new_claim, user_id.to_string());
        let user = state.users.get_mut(user_id).expect("checked above");
        changes.apply(user);
        user.username = Some(to.to_string());
        Ok(UsernameChange::Done)
    }
}

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn open_attempt(
        &self,
        session: &SessionWrite,
        attempt: NewAttempt<'_>,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let mut state = self.lock();
        let session_ok = match session {
            SessionWrite::Create(s) => !state.sessions.contains_key(&s.id),
            SessionWrite::Touch { session_id, .. } => state.sessions.contains_key(session_id),
        };
        // The same precedence as the DynamoDB adapter: a full counter, then the session.
        if let Some(c) = charge
            && !state.has_room(c)
        {
            return Ok(Opened::Limited {
                window_ends: c.window_ends,
            });
        }
        if !session_ok {
            return Ok(Opened::Conflict);
        }
        if let Some(c) = charge {
            state.charge(c);
        }
        let entry = match session {
            SessionWrite::Create(s) => state
                .sessions
                .entry(s.id.clone())
                .or_insert_with(|| SessionState::new(s.clone())),
            SessionWrite::Touch {
                session_id,
                last_active_at,
                expires_at,
            } => {
                let existing = state.sessions.get_mut(session_id).expect("checked above");
                existing.session.last_active_at = *last_active_at;
                existing.session.expires_at = *expires_at;
                existing
            }
        };
        match attempt {
            NewAttempt::Signup(a) => entry.signup_attempts.push(a.clone()),
            NewAttempt::Signin(a) => entry.signin_attempts.push(a.clone()),
        }
        Ok(Opened::Done)
    }

    async fn record_send(
        &self,
        key: AttemptKey<'_>,
        send: &CodeSend,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        match state.attempt_mut(key) {
            Some(a) if !a.completed() && a.codes().sends == send.expected_sends => {
                a.codes_mut().apply_send(send);
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
        if let Some(a) = state.attempt_mut(key)
            && let Some(code) = a.codes_mut().code.as_mut()
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
        match state.attempt_mut(key) {
            Some(a) if !a.completed() && a.codes().wrong_codes < max => {
                a.codes_mut().wrong_codes += 1;
                Ok(WrongCode::Counted(a.codes().wrong_codes))
            }
            _ => Ok(WrongCode::Refused),
        }
    }

    async fn complete_signup(&self, c: &SignupCompletion) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        let session_id = c.attempt_session_id.as_str();
        let kind = c.check.signup_kind();
        if !state.check_holds(session_id, kind, &c.check) {
            return Ok(Completion::AttemptChanged);
        }
        if !state.grant_fits(&c.grant) {
            return Ok(Completion::SessionChanged);
        }
        let taken: Vec<Claim> = c
            .claims
            .iter()
            .filter(|claim| state.claims.contains_key(&claim.key()))
            .cloned()
            .collect();
        if !taken.is_empty() {
            return Ok(Completion::Taken(taken));
        }
        state.complete_attempt(session_id, kind, c.check.attempt_id(), c.user_for_attempt());
        state.apply_grant(&c.grant);
        for claim in &c.claims {
            state.claims.insert(claim.key(), c.user.id.clone());
        }
        state.users.insert(c.user.id.clone(), c.user.clone());
        Ok(Completion::Done)
    }

    async fn advance_signup(&self, a: &SignupAdvance) -> Result<Written, StoreError> {
        let mut state = self.lock();
        if !state.proof_holds(&a.session_id, AttemptKind::Signup, &a.proof) {
            return Ok(Written::Conflict);
        }
        let attempt = state
            .sessions
            .get_mut(&a.session_id)
            .and_then(|s| {
                s.signup_attempts
                    .iter_mut()
                    .find(|x| x.id == a.proof.attempt_id)
            })
            .expect("checked above");
        // The proof holds, so the stored code is the one proven, on the channel it proved.
        let proven = attempt.codes.code.as_ref().expect("checked above").channel;
        attempt.advance(proven);
        Ok(Written::Done)
    }

    async fn revise_signup(
        &self,
        revised: &SignupAttempt,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let mut state = self.lock();
        let waiting = AttemptCheck::AtStep {
            attempt_id: revised.id.clone(),
            step: Step::CompleteProfile,
        };
        if let Some(c) = charge
            && !state.has_room(c)
        {
            return Ok(Opened::Limited {
                window_ends: c.window_ends,
            });
        }
        if !state.check_holds(&revised.session_id, AttemptKind::Signup, &waiting) {
            return Ok(Opened::Conflict);
        }
        if let Some(c) = charge {
            state.charge(c);
        }
        let slot = state
            .sessions
            .get_mut(&revised.session_id)
            .and_then(|s| s.signup_attempts.iter_mut().find(|x| x.id == revised.id))
            .expect("checked above");
        *slot = revised.clone();
        Ok(Opened::Done)
    }

    async fn continue_as_signup(
        &self,
        sso_attempt_id: &str,
        signup: &SignupAttempt,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let mut state = self.lock();
        let open = AttemptCheck::Sso {
            attempt_id: sso_attempt_id.to_string(),
        };
        if let Some(c) = charge
            && !state.has_room(c)
        {
            return Ok(Opened::Limited {
                window_ends: c.window_ends,
            });
        }
        if !state.check_holds(&signup.session_id, AttemptKind::Signin, &open) {
            return Ok(Opened::Conflict);
        }
        if let Some(c) = charge {
            state.charge(c);
        }
        let session = state
            .sessions
            .get_mut(&signup.session_id)
            .expect("checked above");
        session.continue_as_signup(sso_attempt_id, signup);
        Ok(Opened::Done)
    }

    async fn complete_signin(&self, c: &SigninCompletion) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        let session_id = c.grant.session_id().to_string();
        // The same precedence as the DynamoDB adapter: blocked user, then attempt, then session.
        if state.users.get(&c.user_id).is_none_or(|u| u.blocked) {
            return Ok(Completion::UserBlocked);
        }
        let check_holds = c
            .check
            .as_ref()
            .is_none_or(|check| state.check_holds(&session_id, AttemptKind::Signin, check));
        if !check_holds {
            return Ok(Completion::AttemptChanged);
        }
        let claims: Vec<&Claim> = c
            .verified
            .iter()
            .map(|(_, claim)| claim)
            .chain(c.link.iter())
            .collect();
        let taken: Vec<Claim> = claims
            .iter()
            .filter(|claim| {
                state
                    .claims
                    .get(&claim.key())
                    .is_some_and(|owner| *owner != c.user_id)
            })
            .map(|claim| (*claim).clone())
            .collect();
        if !taken.is_empty() {
            return Ok(Completion::Taken(taken));
        }
        if !state.grant_fits(&c.grant) {
            return Ok(Completion::SessionChanged);
        }
        let user = state.users.get_mut(&c.user_id).expect("checked above");
        user.login_attempts = 0;
        match &c.verified {
            Some((Channel::Email, _)) => user.email_verified = true,
            Some((Channel::Sms, _)) => user.phone_verified = true,
            None => {}
        }
        for claim in claims {
            state.claims.insert(claim.key(), c.user_id.clone());
        }
        if let Some(check) = &c.check {
            state.complete_attempt(&session_id, AttemptKind::Signin, check.attempt_id(), None);
        }
        state.apply_grant(&c.grant);
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

    async fn release(&self, key: &str, window_ends: Timestamp) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(entry) = state.counters.get_mut(key)
            && entry.0 == window_ends
        {
            entry.1 = entry.1.saturating_sub(1);
        }
        Ok(())
    }
}
