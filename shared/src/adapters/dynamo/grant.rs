//! The items a completed sign-in or sign-up grants: the new signin (and its entry in the user's
//! index), the signins it replaces (and theirs), and the session's creation or rotation.

use crate::domain::ports::store::{Grant, GrantSession, SessionRotation, StoreError};

use super::DynamoStore;
use super::codec::{n, s, to_item};
use super::expr::Expr;
use super::keys::{session_key, signin_key, user_signin_key};
use super::transaction::{Slot, Transaction};

impl DynamoStore {
    /// Pushes the grant's items; the returned slot is the session's, whose failure means the
    /// session changed since the caller proved it.
    pub(super) fn push_grant(
        &self,
        tx: &mut Transaction,
        grant: &Grant,
    ) -> Result<Slot, StoreError> {
        let session_id = grant.session_id();
        let signin = &grant.signin;
        tx.push(self.put_new(to_item(signin, signin_key(session_id, &signin.id))?));
        tx.push(self.put_new(to_item(
            signin,
            user_signin_key(&signin.user_id, &signin.id),
        )?));
        for removed in &grant.removed_signins {
            tx.push(self.delete(signin_key(session_id, &removed.id)));
            tx.push(self.delete(user_signin_key(&removed.user_id, &removed.id)));
        }
        Ok(tx.push(match &grant.session {
            GrantSession::Create(session) => {
                self.put_new(to_item(session, session_key(session_id))?)
            }
            GrantSession::Rotate(rotation) => {
                self.update(session_key(session_id), rotation_expr(rotation))
            }
        }))
    }
}

/// Rotates the secret, provided it is still the one the caller proved: of two racing sign-ins
/// only one rotates.
fn rotation_expr(r: &SessionRotation) -> Expr {
    Expr::new("SET #secret = :secret, #active = :active, #last = :now, #exp = :exp")
        .condition("attribute_exists(pk) AND #secret = :proven")
        .value(":proven", s(&r.proven_secret_hash))
        .name("#secret", "secret_hash")
        .name("#active", "active_signin_id")
        .name("#last", "last_active_at")
        .name("#exp", "expires_at")
        .value(":secret", s(&r.secret_hash))
        .value(":active", s(&r.active_signin_id))
        .value(":now", n(r.last_active_at.unix_timestamp()))
        .value(":exp", n(r.expires_at.unix_timestamp()))
}
