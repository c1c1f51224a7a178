//! The embedded store's passkeys: per user in `State::passkeys`, their credential ids claimed in
//! `State::claims` (`PASSKEY#<id>`), begun registrations in `State::passkey_registrations`.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::model::AttemptKind;
use crate::domain::model::Step;
use crate::domain::passkeys::{PendingRegistration, StoredPasskey};
use crate::domain::ports::passkeys::{PasskeyAdd, PasskeyAdded, PasskeySignin, PasskeyStore};
use crate::domain::ports::store::*;

/// The claim key of a passkey's credential (the DynamoDB adapter's claim item).
pub(crate) fn passkey_claim(passkey_id: &str) -> String {
    format!("PASSKEY#{passkey_id}")
}

#[async_trait]
impl PasskeyStore for MemoryStore {
    async fn put_passkey_registration(&self, r: &PendingRegistration) -> Result<(), StoreError> {
        let mut state = self.lock();
        state
            .passkey_registrations
            .insert(r.signin_id.clone(), r.clone());
        Ok(())
    }

    async fn passkey_registration(
        &self,
        signin_id: &str,
    ) -> Result<Option<PendingRegistration>, StoreError> {
        Ok(self.lock().passkey_registrations.get(signin_id).cloned())
    }

    async fn add_passkey(&self, add: &PasskeyAdd) -> Result<PasskeyAdded, StoreError> {
        let mut state = self.lock();
        let p = &add.passkey;
        // The same precedence as the DynamoDB adapter: the registration, the claim, the user.
        if state.passkey_registrations.get(&add.registration.signin_id) != Some(&add.registration) {
            return Ok(PasskeyAdded::RegistrationGone);
        }
        if state.claims.contains_key(&passkey_claim(&p.id)) {
            return Ok(PasskeyAdded::Taken);
        }
        if !state.users.contains_key(&p.user_id) {
            return Ok(PasskeyAdded::UserGone);
        }
        state
            .passkey_registrations
            .remove(&add.registration.signin_id);
        state.claims.insert(passkey_claim(&p.id), p.user_id.clone());
        state
            .passkeys
            .entry(p.user_id.clone())
            .or_default()
            .push(p.clone());
        Ok(PasskeyAdded::Done)
    }

    async fn passkeys_of_user(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        Ok(self
            .lock()
            .passkeys
            .get(user_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn passkey(
        &self,
        user_id: &str,
        passkey_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError> {
        Ok(self
            .lock()
            .passkeys
            .get(user_id)
            .and_then(|all| all.iter().find(|p| p.id == passkey_id).cloned()))
    }

    async fn rename_passkey(
        &self,
        user_id: &str,
        passkey_id: &str,
        name: &str,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let found = state
            .passkeys
            .get_mut(user_id)
            .and_then(|all| all.iter_mut().find(|p| p.id == passkey_id));
        Ok(match found {
            Some(p) => {
                *p = p.renamed(name);
                Written::Done
            }
            None => Written::Conflict,
        })
    }

    async fn delete_passkey(&self, user_id: &str, passkey_id: &str) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let Some(all) = state.passkeys.get_mut(user_id) else {
            return Ok(Written::Conflict);
        };
        let before = all.len();
        all.retain(|p| p.id != passkey_id);
        if all.len() == before {
            return Ok(Written::Conflict);
        }
        state.claims.remove(&passkey_claim(passkey_id));
        Ok(Written::Done)
    }

    async fn finish_passkey_signin(&self, s: &PasskeySignin) -> Result<Completion, StoreError> {
        let mut state = self.lock();
        let session_id = s.grant.session_id().to_string();
        // The same precedence as the DynamoDB adapter: user, attempt, passkey, session.
        if state.users.get(&s.user_id).is_none_or(|u| u.blocked) {
            return Ok(Completion::UserBlocked);
        }
        let check = AttemptCheck::AtStep {
            attempt_id: s.attempt_id.clone(),
            step: Step::VerifyPasskey,
            user: None,
        };
        if !state.check_holds(&session_id, AttemptKind::Signin, &check) {
            return Ok(Completion::AttemptChanged);
        }
        let current = state
            .passkeys
            .get(&s.user_id)
            .and_then(|all| all.iter().find(|p| p.id == s.after.id));
        if current.is_none_or(|p| p.credential != s.expected_credential) {
            return Ok(Completion::CredentialsChanged);
        }
        if !state.grant_fits(&s.grant) {
            return Ok(Completion::SessionChanged);
        }
        if let Some(p) = state
            .passkeys
            .get_mut(&s.user_id)
            .and_then(|all| all.iter_mut().find(|p| p.id == s.after.id))
        {
            *p = s.after.clone();
        }
        if let Some(u) = state.users.get_mut(&s.user_id) {
            u.login_attempts = 0;
        }
        state.complete_attempt(&session_id, AttemptKind::Signin, &s.attempt_id, None);
        state.apply_grant(&s.grant);
        Ok(Completion::Done)
    }
}
