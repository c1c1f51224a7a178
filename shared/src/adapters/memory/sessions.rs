//! The embedded store's sessions: read, touch, switch, sign out.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::model::*;
use crate::domain::ports::store::*;

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
