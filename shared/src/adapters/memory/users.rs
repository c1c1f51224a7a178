//! The embedded store's users and uniqueness claims.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::admin_change::{AdminChange, AdminOutcome, UserCursor, UserPage, listed};
use crate::domain::model::*;
use crate::domain::ports::store::*;

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

    async fn change_password(&self, c: &PasswordWrite) -> Result<Written, StoreError> {
        let mut state = self.lock();
        match state.users.get_mut(&c.user_id) {
            Some(u) if u.password_hash == c.expected => {
                u.password_hash = Some(c.new_hash.clone());
                u.updated_at = c.now;
            }
            _ => return Ok(Written::Conflict),
        }
        // Under the same lock: exact whatever was read before.
        if let Some((_, keep)) = &c.end_signins {
            state.end_signins_of(&c.user_id, keep.as_deref());
        }
        Ok(Written::Done)
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

    async fn delete_user(&self, user_id: &str) -> Result<Written, StoreError> {
        let mut state = self.lock();
        if state.users.remove(user_id).is_none() {
            return Ok(Written::Conflict);
        }
        state.claims.retain(|_, owner| owner != user_id);
        state.passkeys.remove(user_id);
        for signin in state.signins_of(user_id) {
            state.end_signin(&signin);
        }
        Ok(Written::Done)
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

    async fn admin_update(&self, change: &AdminChange) -> Result<AdminOutcome, StoreError> {
        let mut state = self.lock();
        let user_id = change.user_id();
        // The same precedence as the DynamoDB adapter: taken, then stale.
        let taken: Vec<Claim> = change
            .claims_to_take()
            .into_iter()
            .filter(|c| state.claims.get(&c.key()).is_some_and(|o| o != user_id))
            .collect();
        if !taken.is_empty() {
            return Ok(AdminOutcome::Taken(taken));
        }
        let Some(current) = state.users.get(user_id) else {
            return Ok(AdminOutcome::Stale);
        };
        if claim_fields(current) != claim_fields(&change.before) {
            return Ok(AdminOutcome::Stale);
        }
        for claim in change.claims_to_release() {
            if state.claims.get(&claim.key()).is_some_and(|o| o == user_id) {
                state.claims.remove(&claim.key());
            }
        }
        for claim in change.claims_to_take() {
            state.claims.insert(claim.key(), user_id.to_string());
        }
        let user = state.users.get_mut(user_id).expect("checked above");
        change.apply(user);
        let user = user.clone();
        if change.ends_signins() {
            for signin in state.signins_of(user_id) {
                state.end_signin(&signin);
            }
        }
        Ok(AdminOutcome::Done(Box::new(user)))
    }

    async fn list_users(
        &self,
        after: Option<&UserCursor>,
        limit: usize,
    ) -> Result<UserPage, StoreError> {
        let state = self.lock();
        // The DynamoDB index's order: the sort key, descending.
        let mut users: Vec<(String, &User)> = state
            .users
            .values()
            .map(|u| (UserCursor::of(u).sort_key(), u))
            .filter(|(key, _)| after.is_none_or(|a| *key < a.sort_key()))
            .collect();
        users.sort_by(|a, b| b.0.cmp(&a.0));
        let more = users.len() > limit;
        let users: Vec<User> = users
            .into_iter()
            .take(limit)
            .map(|(_, u)| listed(u))
            .collect();
        let next = if more {
            users.last().map(UserCursor::of)
        } else {
            None
        };
        Ok(UserPage { users, next })
    }
}

/// The fields an admin change's claims depend on: what it requires to be as it read them.
fn claim_fields(u: &User) -> (Option<&str>, Option<&str>, Option<&str>, bool, bool) {
    (
        u.username.as_deref(),
        u.email.as_deref(),
        u.phone_number.as_deref(),
        u.email_verified,
        u.phone_verified,
    )
}
