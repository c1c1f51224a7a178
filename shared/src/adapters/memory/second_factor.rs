//! The embedded store's second-factor enrollment changes.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::factors::{SecondFactorUse, SecondFactorWrite};
use crate::domain::model::{Signin, Timestamp};
use crate::domain::ports::store::*;

#[async_trait]
impl SecondFactorStore for MemoryStore {
    async fn write_second_factor(&self, write: &SecondFactorWrite) -> Result<Written, StoreError> {
        let mut state = self.lock();
        match state.users.get_mut(&write.user_id) {
            Some(u) if u.second_factor.second_factor_version == write.expected_version => {
                u.apply_second_factor(write);
                Ok(Written::Done)
            }
            _ => Ok(Written::Conflict),
        }
    }

    async fn reverify_with_second_factor(
        &self,
        signin: &Signin,
        spend: &SecondFactorUse,
        at: Timestamp,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let spendable = state
            .users
            .get(&signin.user_id)
            .is_some_and(|u| !u.blocked && u.can_spend_second_factor(spend));
        let exists = state
            .sessions
            .get(&signin.session_id)
            .is_some_and(|s| s.signins.iter().any(|x| x.id == signin.id));
        if !spendable || !exists {
            return Ok(Written::Conflict);
        }
        if let Some(u) = state.users.get_mut(&signin.user_id) {
            u.spend_second_factor(spend);
        }
        if let Some(s) = state
            .sessions
            .get_mut(&signin.session_id)
            .and_then(|s| s.signins.iter_mut().find(|x| x.id == signin.id))
        {
            s.verified_at = at;
        }
        Ok(Written::Done)
    }
}
