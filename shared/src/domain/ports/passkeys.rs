//! The passkey capability of the store (issue 16). A passkey's credential id is a uniqueness claim
//! (`PASSKEY#<passkey id>`): one user holds it. Adding and removing one moves a claim of the user
//! (as username and contact moves do), so deleting the user cannot miss it.

use async_trait::async_trait;

use super::outcomes::{Completion, Grant, StoreError, Written};
use crate::domain::passkeys::model::{PendingRegistration, StoredPasskey};

/// `POST /me/passkeys/register/finish`'s write: the registration it consumes and the passkey.
#[derive(Clone, Debug)]
pub struct PasskeyAdd {
    /// As read: the write applies only while it is still stored as is (single use).
    pub registration: PendingRegistration,
    pub passkey: StoredPasskey,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PasskeyAdded {
    Done,
    /// The credential is already registered (to this user or another); nothing was written.
    Taken,
    /// The registration was used, replaced or is gone; nothing was written.
    RegistrationGone,
    /// The user is gone; nothing was written.
    UserGone,
}

/// A passkey sign-in's completing write: the attempt (open, at `verify_passkey`: single use), the
/// user (present, not blocked), the passkey (still the user's, its credential still
/// `expected_credential`: no other sign-in moved its counter) set to `after`, and the grant.
#[derive(Clone, Debug)]
pub struct PasskeySignin {
    pub user_id: String,
    pub attempt_id: String,
    pub expected_credential: String,
    pub after: StoredPasskey,
    pub grant: Grant,
}

#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a begun registration, replacing the signin's earlier one (expiring at its
    /// `expires_at`, removed by TTL if never finished).
    async fn put_passkey_registration(&self, r: &PendingRegistration) -> Result<(), StoreError>;

    /// The signin's begun registration, if any (expiry is the caller's to judge).
    async fn passkey_registration(
        &self,
        signin_id: &str,
    ) -> Result<Option<PendingRegistration>, StoreError>;

    /// Consumes the registration and adds the passkey with its claim, all or nothing.
    async fn add_passkey(&self, add: &PasskeyAdd) -> Result<PasskeyAdded, StoreError>;

    /// The user's passkeys, oldest first.
    async fn passkeys_of_user(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError>;

    /// One passkey of the user.
    async fn passkey(
        &self,
        user_id: &str,
        passkey_id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError>;

    /// `StoredPasskey::renamed`; `Conflict` if the user has no such passkey.
    async fn rename_passkey(
        &self,
        user_id: &str,
        passkey_id: &str,
        name: &str,
    ) -> Result<Written, StoreError>;

    /// Removes the passkey and releases its claim; `Conflict` if the user has no such passkey.
    async fn delete_passkey(&self, user_id: &str, passkey_id: &str) -> Result<Written, StoreError>;

    /// See `PasskeySignin`: `Done`, `UserBlocked`, `AttemptChanged` (used already, or gone),
    /// `CredentialsChanged` (the passkey was deleted or used meanwhile) or `SessionChanged`.
    async fn finish_passkey_signin(&self, s: &PasskeySignin) -> Result<Completion, StoreError>;
}
