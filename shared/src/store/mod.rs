//! The Store port. Each trait is one capability; `Store` is all of them. Every state change that
//! must not happen twice is a conditional operation whose outcome is returned, not assumed.
//! `memory` and `dynamo` implement it and pass the same conformance suite (`tests/store_*.rs`).

pub mod dynamo;
pub mod memory;

use async_trait::async_trait;

use crate::domain::model::{
    Claim, CodeState, PendingCode, Session, SessionState, Signin, SignupAttempt, Timestamp, User,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt item {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Which attempt of which session an operation targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptKey<'a> {
    pub session_id: &'a str,
    pub attempt_id: &'a str,
    pub kind: AttemptKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    Signup,
    Signin,
}

/// How an attempt joins its session: a new session, or an existing one that must still exist.
#[derive(Clone, Debug)]
pub enum SessionWrite {
    Create(Session),
    Touch {
        session_id: String,
        last_active_at: Timestamp,
        expires_at: Timestamp,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The condition did not hold: the item was changed or removed concurrently.
    Conflict,
}

/// A code (re)send: replaces the pending code, provided no other send got there first.
#[derive(Clone, Debug)]
pub struct CodeSend {
    pub code: PendingCode,
    /// The attempt's `sends` as read; the write only applies if it is still this value.
    pub expected_sends: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum WrongCode {
    /// The wrong code was counted; this is the new total.
    Counted(u32),
    /// The attempt already had the maximum, or is completed or gone: nothing was counted.
    Refused,
}

/// The session's new state after a completed sign-in or sign-up.
#[derive(Clone, Debug)]
pub struct SessionRotation {
    pub session_id: String,
    pub secret_hash: String,
    pub active_signin_id: String,
    pub last_active_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Everything a completed sign-up writes, in one transaction.
#[derive(Clone, Debug)]
pub struct SignupCompletion {
    pub attempt_id: String,
    /// The code hash that was checked; the attempt must still hold it (single use).
    pub code_hash: String,
    pub max_wrong_codes: u32,
    pub user: User,
    pub claims: Vec<Claim>,
    pub signin: Signin,
    /// A signin dropped to keep the session within its limit.
    pub evicted_signin_id: Option<String>,
    pub rotation: SessionRotation,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    Done,
    /// These claims belong to another user already; nothing was written.
    Taken(Vec<Claim>),
    /// The attempt changed under us (completed, code replaced, killed); nothing was written.
    AttemptChanged,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Hit {
    Allowed,
    Limited { window_ends: Timestamp },
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The session and everything under it, in one read. Expiry is the caller's to judge.
    async fn load_session(&self, session_id: &str) -> Result<Option<SessionState>, StoreError>;

    /// Moves the session's idle deadline and the active signin's `last_active_at`.
    async fn touch_session(
        &self,
        session_id: &str,
        active_signin_id: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Which of these claims are already held by a user.
    async fn taken_claims(&self, claims: &[Claim]) -> Result<Vec<Claim>, StoreError>;

    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError>;
}

#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Stores a new sign-up attempt and creates or touches its session, atomically.
    /// `Conflict` when touching a session that no longer exists.
    async fn open_signup_attempt(
        &self,
        session: &SessionWrite,
        attempt: &SignupAttempt,
    ) -> Result<Written, StoreError>;

    /// Replaces the pending code and counts the send.
    async fn record_send(
        &self,
        key: AttemptKey<'_>,
        send: &CodeSend,
    ) -> Result<Written, StoreError>;

    /// The send of this code failed: clear its `sent_at` so the cooldown does not hold a retry.
    async fn record_send_failed(
        &self,
        key: AttemptKey<'_>,
        code_hash: &str,
    ) -> Result<(), StoreError>;

    /// Counts a wrong code, unless the attempt already reached `max` or is completed.
    async fn record_wrong_code(
        &self,
        key: AttemptKey<'_>,
        max: u32,
    ) -> Result<WrongCode, StoreError>;

    /// Creates the user with its claims, completes the attempt, adds the signin and rotates the
    /// session, all or nothing.
    async fn complete_signup(
        &self,
        session_id: &str,
        completion: &SignupCompletion,
    ) -> Result<Completion, StoreError>;
}

#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts one event against `key` in the window ending at `window_ends`; refused once the
    /// window already holds `max`. Refused events are not counted.
    async fn hit(&self, key: &str, window_ends: Timestamp, max: u32) -> Result<Hit, StoreError>;
}

pub trait Store: SessionStore + UserStore + AttemptStore + LimitStore {}
impl<T: SessionStore + UserStore + AttemptStore + LimitStore> Store for T {}

/// Applies a counted send to an attempt's code state (shared by both adapters' bookkeeping).
pub(crate) fn apply_send(codes: &mut CodeState, send: &CodeSend) {
    codes.code = Some(send.code.clone());
    codes.sends += 1;
}
