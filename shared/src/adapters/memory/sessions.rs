//! The embedded store's sessions: read, touch, switch, sign out.

use async_trait::async_trait;

use super::{MemoryStore, State};
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
        active_signin: Option<&Signin>,
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
                .find(|x| Some(&x.id) == active_signin.map(|a| &a.id))
            {
                signin.last_active_at = now;
            }
        }
        Ok(())
    }

    async fn switch_signin(&self, target: &Signin, now: Timestamp) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let Some(s) = state.sessions.get_mut(&target.session_id) else {
            return Ok(Written::Conflict);
        };
        let Some(signin) = s.signins.iter_mut().find(|x| x.id == target.id) else {
            return Ok(Written::Conflict);
        };
        signin.last_active_at = now;
        s.session.active_signin_id = Some(target.id.clone());
        s.session.last_active_at = now;
        Ok(Written::Done)
    }

    async fn remove_signin(
        &self,
        signin: &Signin,
        next_active: Option<&str>,
    ) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let Some(s) = state.sessions.get_mut(&signin.session_id) else {
            return Ok(Written::Conflict);
        };
        let before = s.signins.len();
        s.signins.retain(|x| x.id != signin.id);
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

    async fn signins_of_user(&self, user_id: &str) -> Result<Vec<Signin>, StoreError> {
        Ok(self.lock().signins_of(user_id))
    }

    async fn revoke_signin(&self, signin: &Signin) -> Result<Written, StoreError> {
        let mut state = self.lock();
        Ok(if state.end_signin(signin) {
            Written::Done
        } else {
            Written::Conflict
        })
    }

    async fn end_signins_of_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError> {
        Ok(self.lock().end_signins_of(user_id, except))
    }

    async fn read_signins_of_user(&self, user_id: &str) -> Result<SigninsRead, StoreError> {
        Ok(SigninsRead {
            signins: self.lock().signins_of(user_id),
            version: None,
        })
    }

    async fn end_read_signins(
        &self,
        user_id: &str,
        _read: SigninsRead,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError> {
        // One lock makes the end exact whatever was read before.
        self.end_signins_of_user(user_id, except).await
    }

    async fn mark_verified(&self, target: &Signin, at: Timestamp) -> Result<Written, StoreError> {
        let mut state = self.lock();
        let signin = state
            .sessions
            .get_mut(&target.session_id)
            .and_then(|s| s.signins.iter_mut().find(|x| x.id == target.id));
        Ok(match signin {
            Some(signin) => {
                signin.verified_at = at;
                Written::Done
            }
            None => Written::Conflict,
        })
    }
}

impl State {
    /// The user's signins across sessions. The embedded store finds them by scanning its
    /// sessions under the one lock, which is the index DynamoDB keeps under the user's key.
    pub(super) fn signins_of(&self, user_id: &str) -> Vec<Signin> {
        let mut out: Vec<Signin> = self
            .sessions
            .values()
            .flat_map(|s| s.signins.iter().filter(|x| x.user_id == user_id))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Ends every signin of the user but `except`; returns the ended ones.
    pub(super) fn end_signins_of(&mut self, user_id: &str, except: Option<&str>) -> Vec<Signin> {
        let ended: Vec<Signin> = self
            .signins_of(user_id)
            .into_iter()
            .filter(|s| Some(s.id.as_str()) != except)
            .collect();
        for s in &ended {
            self.end_signin(s);
        }
        if let Some(user) = self.users.get_mut(user_id) {
            user.signed_out_everywhere();
        }
        ended
    }

    /// Removes a signin from its session, leaving the session (its active signin may dangle,
    /// which reads as none). False if it was gone.
    pub(super) fn end_signin(&mut self, signin: &Signin) -> bool {
        let Some(s) = self.sessions.get_mut(&signin.session_id) else {
            return false;
        };
        let before = s.signins.len();
        s.signins.retain(|x| x.id != signin.id);
        s.signins.len() != before
    }
}
