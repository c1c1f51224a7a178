//! The embedded store's second-factor enrollment changes.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::factors::SecondFactorWrite;
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
}
