//! The store's shared vocabulary: its error, the outcomes of conditional writes, and the grant a
//! completed sign-in or sign-up writes. A leaf: `store` and `passkeys` re-export or use it.

use crate::domain::model::{Claim, Session, Signin, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt item {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The condition did not hold: the item was changed or removed concurrently.
    Conflict,
}

/// The session's new state after a completed sign-in or sign-up.
#[derive(Clone, Debug)]
pub struct SessionRotation {
    pub session_id: String,
    /// The secret hash the caller's cookie proved; the rotation only applies while it stands, so
    /// two racing sign-ins cannot both rotate (and leave one's signin under the other's secret).
    pub proven_secret_hash: String,
    pub secret_hash: String,
    pub active_signin_id: String,
    pub last_active_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What a completed sign-in or sign-up does to the session: the new signin becomes active, the
/// signins it replaces go (the same user's older one, or the least recently active when full),
/// and the session gets a new secret, or is created for a sign-in that had none.
#[derive(Clone, Debug)]
pub struct Grant {
    pub signin: Signin,
    /// The signins it replaces (their items and their user's index entries go).
    pub removed_signins: Vec<Signin>,
    pub session: GrantSession,
}

#[derive(Clone, Debug)]
pub enum GrantSession {
    /// A new session, already holding the new secret and the new signin as active.
    Create(Session),
    Rotate(SessionRotation),
}

impl Grant {
    pub fn session_id(&self) -> &str {
        match &self.session {
            GrantSession::Create(s) => &s.id,
            GrantSession::Rotate(r) => &r.session_id,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    Done,
    /// These claims belong to another user already; nothing was written.
    Taken(Vec<Claim>),
    /// The attempt or session changed under us (completed, code replaced, killed, signed out);
    /// nothing was written.
    AttemptChanged,
    /// The user is blocked (or gone); nothing was written.
    UserBlocked,
    /// The session's secret changed since the caller proved it (another sign-in won a race, or
    /// the session ended); nothing was written.
    SessionChanged,
    /// A password sign-in's hash is no longer the user's (a reset or a password change committed
    /// after it was verified); nothing was written.
    CredentialsChanged,
    /// The user's second factors are not what the attempt met: a factor was turned on since a
    /// sign-in that meets none (`SigninCompletion::requires_no_second_factor`) was opened, or
    /// every signin of the user ended since one waiting at `verify_second_factor` was (its
    /// `signouts_version`); nothing was written.
    SecondFactorStale,
}
