//! The embedded store's attempts: open, send, count wrong codes, advance, revise, and the
//! completions that create users and grant signins.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::model::*;
use crate::domain::ports::store::*;

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn open_attempt(
        &self,
        session: &SessionWrite,
        attempt: NewAttempt<'_>,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError> {
        let mut state = self.lock();
        let admission = session.admission();
        let session_ok = match session {
            SessionWrite::Create(s) => !state.sessions.contains_key(&s.id),
            SessionWrite::Touch { session_id, .. } => state
                .sessions
                .get(session_id)
                .is_some_and(|s| s.session.attempts == admission.expected),
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
                ..
            } => {
                let existing = state.sessions.get_mut(session_id).expect("checked above");
                existing.session.last_active_at = *last_active_at;
                existing.session.expires_at = *expires_at;
                existing
            }
        };
        entry.admit(&admission, attempt);
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
            code.delivery_failed = true;
        }
        Ok(())
    }

    async fn kill_attempt(&self, key: AttemptKey<'_>, max: u32) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(a) = state.attempt_mut(key).filter(|a| !a.completed()) {
            a.codes_mut().kill(max);
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

    async fn finish_signup(&self, c: &SignupCompletion) -> Result<Completion, StoreError> {
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

    async fn advance_signin(&self, a: &SigninAdvance) -> Result<Written, StoreError> {
        let mut state = self.lock();
        if !state.check_holds(&a.session_id, AttemptKind::Signin, &a.check)
            || !state.second_factor_spendable(Some(&a.check))
            || !state.user_holds(a.user.as_ref(), &a.check)
        {
            return Ok(Written::Conflict);
        }
        state.spend_second_factor(&a.check);
        let attempt = state
            .sessions
            .get_mut(&a.session_id)
            .and_then(|s| {
                s.signin_attempts
                    .iter_mut()
                    .find(|x| x.id == a.check.attempt_id())
            })
            .expect("checked above");
        match &a.second_factor {
            Some((user_id, challenge)) => attempt.await_second_factor(user_id, challenge),
            None => attempt.advance(),
        }
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
            user: None,
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
        admission: &Admission,
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
        let listed = state
            .sessions
            .get(&signup.session_id)
            .is_some_and(|s| s.session.attempts == admission.expected);
        if !listed || !state.check_holds(&signup.session_id, AttemptKind::Signin, &open) {
            return Ok(Opened::Conflict);
        }
        if let Some(c) = charge {
            state.charge(c);
        }
        let session = state
            .sessions
            .get_mut(&signup.session_id)
            .expect("checked above");
        session.continue_as_signup(sso_attempt_id, signup, admission);
        Ok(Opened::Done)
    }

    async fn finish_signin(&self, c: &SigninCompletion) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        let session_id = c.grant.session_id().to_string();
        // The same precedence as the DynamoDB adapter: blocked user, then attempt, then session.
        let Some(user) = state.users.get(&c.user_id).filter(|u| !u.blocked) else {
            return Ok(Completion::UserBlocked);
        };
        if c.verified_hash
            .as_ref()
            .is_some_and(|h| user.password_hash.as_ref() != Some(h))
        {
            return Ok(Completion::CredentialsChanged);
        }
        // The contact the code proved moved away from the user since it was sent.
        if c.verified.as_ref().is_some_and(|p| !user.still_has(p)) {
            return Ok(Completion::CredentialsChanged);
        }
        if !state.second_factor_current(c) {
            return Ok(Completion::SecondFactorStale);
        }
        if !state.second_factor_spendable(c.check.as_ref()) {
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
        if let Some(hash) = &c.password_hash {
            user.password_hash = Some(hash.clone());
            user.updated_at = c.grant.signin.created_at;
        }
        match &c.verified {
            Some((Channel::Email, _)) => user.email_verified = true,
            Some((Channel::Sms, _)) => user.phone_verified = true,
            None => {}
        }
        for claim in claims {
            state.claims.insert(claim.key(), c.user_id.clone());
        }
        if let Some(check) = &c.check {
            state.spend_second_factor(check);
            state.complete_attempt(&session_id, AttemptKind::Signin, check.attempt_id(), None);
        }
        // Under the same lock, before the grant adds the new signin: exact whatever was read.
        if c.end_signins.is_some() {
            state.end_signins_of(&c.user_id, None);
        }
        state.apply_grant(&c.grant);
        Ok(Completion::Done)
    }

    async fn move_contact(&self, c: &ContactMove) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        let new_claim = Claim::for_contact(c.channel, &c.to).key();
        // The same precedence as the DynamoDB adapter: taken, then the attempt, then the user.
        if state
            .claims
            .get(&new_claim)
            .is_some_and(|owner| *owner != c.user_id)
        {
            return Ok(Completion::Taken(vec![Claim::for_contact(
                c.channel, &c.to,
            )]));
        }
        if !state.check_holds(&c.session_id, AttemptKind::Signin, &c.check) {
            return Ok(Completion::AttemptChanged);
        }
        let current = state.users.get(&c.user_id).map(|u| match c.channel {
            Channel::Email => u.email.clone(),
            Channel::Sms => u.phone_number.clone(),
        });
        if current.as_ref() != Some(&c.from) {
            return Ok(Completion::UserBlocked);
        }
        if let Some(old) = &c.from {
            let old = Claim::for_contact(c.channel, old).key();
            if old != new_claim && state.claims.get(&old) == Some(&c.user_id) {
                state.claims.remove(&old);
            }
        }
        state.claims.insert(new_claim, c.user_id.clone());
        let user = state.users.get_mut(&c.user_id).expect("checked above");
        user.move_contact(c.channel, &c.to, c.at);
        state.complete_attempt(
            &c.session_id,
            AttemptKind::Signin,
            c.check.attempt_id(),
            None,
        );
        Ok(Completion::Done)
    }

    async fn finish_reverification(
        &self,
        session_id: &str,
        check: &AttemptCheck,
        target: &Signin,
        at: Timestamp,
    ) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        if !state.check_holds(session_id, AttemptKind::Signin, check) {
            return Ok(Completion::AttemptChanged);
        }
        let Some(signin) = state
            .sessions
            .get_mut(&target.session_id)
            .and_then(|s| s.signins.iter_mut().find(|x| x.id == target.id))
        else {
            return Ok(Completion::SessionChanged);
        };
        signin.verified_at = at;
        state.complete_attempt(session_id, AttemptKind::Signin, check.attempt_id(), None);
        Ok(Completion::Done)
    }
}
