//! The Store port. Each trait is one capability; `Store` is all of them. Every state change that
//! must not happen twice is a conditional operation whose outcome is returned, not assumed.
//! `memory` and `dynamo` implement it and pass the same conformance suite (`tests/store_*.rs`).

use async_trait::async_trait;

pub use super::checks::{AttemptCheck, CodeProof, Gate, UserHolds};
pub use super::outcomes::{Completion, Grant, GrantSession, SessionRotation, StoreError, Written};
use crate::domain::admin_change::{AdminChange, AdminOutcome, UserCursor, UserPage};
use crate::domain::factors::{SecondFactorUse, SecondFactorWrite};
pub use crate::domain::model::AttemptKind;
use crate::domain::model::{
    AttemptRef, Channel, Claim, PendingCode, SecondFactorChallenge, Session, SessionState, Signin,
    SigninAttempt, SignupAttempt, Step, Timestamp, User,
};
pub use crate::domain::profile_changes::ProfileChanges;

/// A user's signins as read, with the version of the user's grants they were read at (what
/// `SessionStore::end_read_signins` requires still to hold). Opaque to the domain.
#[derive(Clone, Debug, Default)]
pub struct SigninsRead {
    pub signins: Vec<Signin>,
    pub version: Option<String>,
}

/// A contact change's last step (`POST /me/email/verify`, `POST /me/phone_number/verify`): the
/// attempt whose code proved `to`, and the user's contact on `channel` as read (`from`).
#[derive(Clone, Debug)]
pub struct ContactMove {
    pub session_id: String,
    pub check: AttemptCheck,
    pub user_id: String,
    pub channel: Channel,
    pub from: Option<String>,
    pub to: String,
    pub at: Timestamp,
}

/// Which attempt of which session an operation targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptKey<'a> {
    pub session_id: &'a str,
    pub attempt_id: &'a str,
    pub kind: AttemptKind,
}

/// A new attempt of either kind.
#[derive(Clone, Copy, Debug)]
pub enum NewAttempt<'a> {
    Signup(&'a SignupAttempt),
    Signin(&'a SigninAttempt),
}

impl NewAttempt<'_> {
    /// The attempt as its session lists it.
    pub fn listed(&self) -> AttemptRef {
        let (id, kind, expires_at) = match self {
            NewAttempt::Signup(a) => (&a.id, AttemptKind::Signup, a.expires_at),
            NewAttempt::Signin(a) => (&a.id, AttemptKind::Signin, a.expires_at),
        };
        AttemptRef {
            id: id.clone(),
            kind,
            expires_at,
        }
    }
}

/// How an attempt joins its session: a new session (listing the new attempt after its own
/// `attempts`), or an existing one that must still exist and list what `admission` expects.
#[derive(Clone, Debug)]
pub enum SessionWrite {
    Create(Session),
    Touch {
        session_id: String,
        last_active_at: Timestamp,
        expires_at: Timestamp,
        admission: Admission,
    },
}

/// How a new attempt joins its session's list (`Session::attempts`), planned by `Admission::new`
/// from the list as read; `Admission::after` is the list once it joined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Admission {
    /// The list as read. The write applies only while the session still lists exactly these, so
    /// requests opening attempts at once cannot all take the last place.
    pub expected: Vec<AttemptRef>,
    /// The attempts that leave the list, their items deleted in the same write: the expired
    /// ones, and at the cap the oldest of the new attempt's kind.
    pub dropped: Vec<AttemptRef>,
}

/// A limit counter a write also charges, in the same transaction.
#[derive(Clone, Copy, Debug)]
pub struct Charge<'a> {
    pub key: &'a str,
    pub window_ends: Timestamp,
    pub max: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    Done,
    /// The session to touch no longer exists or lists other attempts than expected (another
    /// attempt joined it since it was read), the one to create already exists, or the attempt to
    /// revise moved on.
    Conflict,
    /// The charged counter is full; nothing was written.
    Limited {
        window_ends: Timestamp,
    },
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

/// A code step passed with steps still to go (profile completion): no user yet. The fields are
/// the attempt's state after `SignupAttempt::advance`.
#[derive(Clone, Debug)]
pub struct SignupAdvance {
    pub session_id: String,
    pub proof: CodeProof,
    pub remaining_steps: Vec<Step>,
    pub email_verified: bool,
    pub phone_verified: bool,
}

/// A sign-in's step passed with steps still to go: a code (the attempt then waits at
/// `verify_second_factor` or a reset's `reset_password`), or a reset's second factor (then
/// `reset_password`, the factor spent in the same write). The fields are the attempt's state after
/// `SigninAttempt::advance`.
#[derive(Clone, Debug)]
pub struct SigninAdvance {
    pub session_id: String,
    /// `Code`, `SecondFactor`, or `Sso` (with `second_factor`).
    pub check: AttemptCheck,
    pub remaining_steps: Vec<Step>,
    /// An `sso` callback of a user with a second factor: the attempt waits for it, for this user
    /// (`SigninAttempt::await_second_factor`).
    pub second_factor: Option<(String, SecondFactorChallenge)>,
    /// A password reset's step: what must still hold of its user (`User::holds`), checked in the
    /// same write.
    pub user: Option<UserHolds>,
}

/// Everything a completed sign-up writes, in one transaction.
#[derive(Clone, Debug)]
pub struct SignupCompletion {
    /// The session holding the attempt: the caller's, except for a signup code opened in another
    /// browser (completeSignup), whose user is signed in where the code is used.
    pub attempt_session_id: String,
    pub check: AttemptCheck,
    pub user: User,
    pub claims: Vec<Claim>,
    pub grant: Grant,
}

/// Everything a completed sign-in writes, in one transaction.
#[derive(Clone, Debug)]
pub struct SigninCompletion {
    pub user_id: String,
    /// What must still hold of the sign-in attempt (its code, or an open `sso` attempt); `None`
    /// for a password sign-in that needed no code.
    pub check: Option<AttemptCheck>,
    /// The contact the code proved: marked verified on the user, and claimed for them (unless
    /// another user holds it, then `Taken`).
    pub verified: Option<(Channel, Claim)>,
    /// A provider identity to link to the user (first OAuth sign-in with a matching verified
    /// email); `Taken` if another user holds it.
    pub link: Option<Claim>,
    /// A password reset's new argon2id PHC string, or an imported hash's argon2id rewrite after
    /// a password sign-in: set on the user in the same transaction.
    pub password_hash: Option<String>,
    /// A password sign-in: the hash the typed password verified against. The grant (and any
    /// rewrite above) applies only while the user's hash is still this one, so a reset or a
    /// password change that commits in between wins: `CredentialsChanged`, nothing written.
    pub verified_hash: Option<String>,
    /// A password reset: every signin of the user as read ends in the same transaction (the
    /// new one stays). As exact as `SessionStore::end_read_signins`: if a grant landed since
    /// the read, the adapter reads again; if there are more than one transaction holds, the
    /// surplus ends first, in transactions of its own.
    pub end_signins: Option<SigninsRead>,
    pub grant: Grant,
}

impl SigninCompletion {
    /// Whether the grant requires the user to have no second factor on (else
    /// `Completion::SecondFactorStale`): a sign-in that met none, by a code (`Code`), a password
    /// (`verified_hash` without a check) or an OAuth callback (`Sso`), so a factor turned on while
    /// it was open is not skipped; a reset's last step (`AtStep`) whose reset met none. A grant
    /// after `verify_second_factor` (`SecondFactor`) requires nothing of it.
    pub fn requires_no_second_factor(&self) -> bool {
        match &self.check {
            Some(AttemptCheck::Code(_) | AttemptCheck::Sso { .. }) => true,
            None => self.verified_hash.is_some(),
            Some(AttemptCheck::AtStep { user, .. }) => {
                user.as_ref().is_some_and(|u| u.no_second_factor)
            }
            Some(AttemptCheck::SecondFactor { .. }) => false,
        }
    }

    /// The `signouts_version` the grant requires unchanged, if any: a sign-in that waited at
    /// `verify_second_factor`, or a reset's last step.
    pub fn signouts_version(&self) -> Option<u64> {
        match &self.check {
            Some(AttemptCheck::SecondFactor {
                signouts_version, ..
            }) => Some(*signouts_version),
            Some(AttemptCheck::AtStep { user: Some(u), .. }) => Some(u.signouts_version),
            _ => None,
        }
    }
}

/// A password change (`UserStore::change_password`): what must still hold, what is written, and
/// which signins end with it, in one transaction.
#[derive(Clone, Debug)]
pub struct PasswordWrite {
    pub user_id: String,
    /// The hash as read (`None`: the user has no password yet); `Conflict` if it changed.
    pub expected: Option<String>,
    pub new_hash: String,
    pub now: Timestamp,
    /// `sign_out_others`: the user's signins as read, ended with the change except `keep`
    /// (as exact as `SessionStore::end_read_signins`, and bounded as `SigninCompletion`'s).
    pub end_signins: Option<(SigninsRead, Option<String>)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum UsernameChange {
    Done,
    /// Another user holds the new name; nothing was written.
    Taken,
    /// The user's username is no longer `from` (or the user is gone); nothing was written.
    Stale,
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

    /// Moves the session's idle deadline and the active signin's `last_active_at` (on the signin
    /// and on its entry in the user's index; neither is recreated if it is gone).
    async fn touch_session(
        &self,
        session_id: &str,
        active_signin: Option<&Signin>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Makes `signin` (of session `signin.session_id`) the active signin and marks it used now.
    /// `Conflict` if either is gone.
    async fn switch_signin(&self, signin: &Signin, now: Timestamp) -> Result<Written, StoreError>;

    /// Removes one signin (and its user-index entry) and sets the active one to `next_active`.
    /// `Conflict` if it was gone.
    async fn remove_signin(
        &self,
        signin: &Signin,
        next_active: Option<&str>,
    ) -> Result<Written, StoreError>;

    /// Deletes the session and everything under it, its signins' user-index entries included.
    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError>;

    /// Every signin of the user across sessions, from the user's index, in one read: what
    /// `GET /me/sessions` shows. Signins past their end or idle too long are the caller's to
    /// filter out (TTL removes them lazily).
    async fn signins_of_user(&self, user_id: &str) -> Result<Vec<Signin>, StoreError>;

    /// Ends one signin wherever it is: its item in its session and its user-index entry, in one
    /// write. Its session stays (a dangling active signin reads as none). `Conflict` if it was
    /// already gone.
    async fn revoke_signin(&self, signin: &Signin) -> Result<Written, StoreError>;

    /// Ends every signin of the user, everywhere, except the one named `except`, and returns the
    /// ended ones. Exact under concurrency: a signin granted to the user before this returns is
    /// either ended too or was granted after the end took effect (grants and this write meet on
    /// the user's item).
    async fn end_signins_of_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError>;

    /// The user's signins as one read that `end_read_signins` can act on without reading again:
    /// lets a caller overlap the read with its other reads.
    async fn read_signins_of_user(&self, user_id: &str) -> Result<SigninsRead, StoreError>;

    /// `end_signins_of_user` starting from an earlier `read_signins_of_user`: as exact, since the
    /// write still requires that no grant landed since that read (else it reads again).
    async fn end_read_signins(
        &self,
        user_id: &str,
        read: SigninsRead,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError>;

    /// Records a completed reverification: `verified_at` on the signin and its index entry.
    /// `Conflict` if the signin is gone.
    async fn mark_verified(&self, signin: &Signin, at: Timestamp) -> Result<Written, StoreError>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Which of these claims are already held by a user.
    async fn taken_claims(&self, claims: &[Claim]) -> Result<Vec<Claim>, StoreError>;

    /// The user holding a claim (an email, phone number or username), if any.
    async fn claim_owner(&self, claim: &Claim) -> Result<Option<String>, StoreError>;

    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError>;

    /// Stores an imported user with its claims, all or nothing: `Taken` lists every claim
    /// another user holds.
    async fn import_user(&self, user: &User, claims: &[Claim]) -> Result<Completion, StoreError>;

    /// Replaces the user's password hash, provided it is still `expected` (a rehash after a
    /// sign-in with an imported hash must not undo a password change made meanwhile).
    async fn replace_password_hash(
        &self,
        user_id: &str,
        expected: &str,
        new_hash: &str,
    ) -> Result<Written, StoreError>;

    /// Sets a new password hash (and `updated_at`), provided the user's hash is still
    /// `expected`, and ends the signins `end_signins` names, in one transaction. `Conflict` (and
    /// nothing written) if the hash changed or the user is gone.
    async fn change_password(&self, change: &PasswordWrite) -> Result<Written, StoreError>;

    /// Counts a failed password on the user (seed 003's `login_attempts`).
    async fn record_failed_login(&self, user_id: &str) -> Result<(), StoreError>;

    /// Sets profile fields and returns the updated user, or `None` if the user is gone.
    async fn update_profile(
        &self,
        user_id: &str,
        changes: &ProfileChanges,
    ) -> Result<Option<User>, StoreError>;

    /// Deletes the user and everything that is theirs: the user item, every claim it holds
    /// (email, phone, username, provider identities, passkeys; each then free for anyone), and every signin
    /// in every session with its index entry. All in one transaction where it fits (otherwise the
    /// signins go first, the user and its claims last), exact under concurrency like
    /// `end_signins_of_user`. `Conflict` if the user was already gone.
    async fn delete_user(&self, user_id: &str) -> Result<Written, StoreError>;

    /// Moves the username claim from `from` to `to` and sets the other changes, atomically.
    async fn change_username(
        &self,
        user_id: &str,
        from: Option<&str>,
        to: &str,
        changes: &ProfileChanges,
    ) -> Result<UsernameChange, StoreError>;

    /// Applies an operator's edit all or nothing (see `AdminChange`): blocking ends every
    /// signin of the user exactly, like `end_signins_of_user`, in the same write where it fits.
    async fn admin_update(&self, change: &AdminChange) -> Result<AdminOutcome, StoreError>;

    /// At most `limit` users, newest first, after `after`: one Query, never a Scan.
    async fn list_users(
        &self,
        after: Option<&UserCursor>,
        limit: usize,
    ) -> Result<UserPage, StoreError>;
}

#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Stores a new attempt, creates or touches its session, and charges the counter (the
    /// per-destination cap of the code it sends), all or nothing. The attempt joins the session's
    /// list and the admission's dropped attempts leave it and are deleted, in the same write.
    async fn open_attempt(
        &self,
        session: &SessionWrite,
        attempt: NewAttempt<'_>,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError>;

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

    /// Kills the attempt (`CodeState::kill`: its wrong codes at `max`), unless completed: a
    /// sign-in whose first factor no longer stands takes no more codes.
    async fn kill_attempt(&self, key: AttemptKey<'_>, max: u32) -> Result<(), StoreError>;

    /// Counts a wrong code, unless the attempt already reached `max` or is completed.
    async fn record_wrong_code(
        &self,
        key: AttemptKey<'_>,
        max: u32,
    ) -> Result<WrongCode, StoreError>;

    /// Creates the user with its claims, completes the attempt, adds the signin and rotates the
    /// session, all or nothing.
    async fn finish_signup(&self, completion: &SignupCompletion) -> Result<Completion, StoreError>;

    /// Records a passed code step that is not the last: the attempt moves to its next step.
    /// `Conflict` if the code no longer holds.
    async fn advance_signup(&self, advance: &SignupAdvance) -> Result<Written, StoreError>;

    /// The same for a sign-in attempt (a password reset's code): it moves to `reset_password`.
    async fn advance_signin(&self, advance: &SigninAdvance) -> Result<Written, StoreError>;

    /// Replaces a sign-up attempt waiting at `complete_profile` with its revised self (new
    /// fields, the next step, a new code), charging the code's cap. `Conflict` if it moved on.
    async fn revise_signup(
        &self,
        attempt: &SignupAttempt,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError>;

    /// Completes an open `sso` sign-in attempt and stores the `sso` sign-up attempt it continues
    /// as (a first OAuth sign-in that needs a code or profile fields), admitted into the session's
    /// list as `open_attempt` admits one, charging the code's cap. `Conflict` if the sign-in
    /// attempt is no longer open (a replayed callback) or the list is not the expected one.
    async fn continue_as_signup(
        &self,
        sso_attempt_id: &str,
        signup: &SignupAttempt,
        admission: &Admission,
        charge: Option<Charge<'_>>,
    ) -> Result<Opened, StoreError>;

    /// Completes the attempt (if any), resets the user's failed logins (refusing a blocked user),
    /// and grants the signin, all or nothing.
    async fn finish_signin(&self, completion: &SigninCompletion) -> Result<Completion, StoreError>;

    /// Completes a reverification's sign-in attempt in `session_id` (the check must still hold:
    /// single use) and sets `verified_at` = `at` on `signin` and its index entry, all or nothing.
    /// `AttemptChanged` if the attempt moved on; `SessionChanged` if the signin is gone.
    async fn finish_reverification(
        &self,
        session_id: &str,
        check: &AttemptCheck,
        signin: &Signin,
        at: Timestamp,
    ) -> Result<Completion, StoreError>;

    /// Moves a contact in one transaction: the attempt completes (the check must still hold:
    /// single use), the new contact is claimed for the user (`Taken` if another user holds it),
    /// the old one released (with its user-index entry), and the user changed as
    /// `User::move_contact` says. `AttemptChanged` if the attempt moved on; `UserBlocked` if the
    /// user is gone or its contact is no longer `from`. Nothing is written unless `Done`.
    async fn move_contact(&self, change: &ContactMove) -> Result<Completion, StoreError>;
}

#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts one event against `key` in the window ending at `window_ends`; refused once the
    /// window already holds `max`. Refused events are not counted.
    async fn hit(&self, key: &str, window_ends: Timestamp, max: u32) -> Result<Hit, StoreError>;

    /// Gives back one event counted by `hit` (for a reservation that turned out not to count).
    async fn release(&self, key: &str, window_ends: Timestamp) -> Result<(), StoreError>;

    /// How many events the window ending at `window_ends` holds (0 when none).
    async fn count(&self, key: &str, window_ends: Timestamp) -> Result<u32, StoreError>;
}

/// Second-factor enrollment (issue 13); a sign-in's use of a factor is `AttemptCheck::SecondFactor`.
#[async_trait]
pub trait SecondFactorStore: Send + Sync {
    /// `User::apply_second_factor(write)`, provided the user exists at `write.expected_version`;
    /// `Conflict` (nothing written) otherwise.
    async fn write_second_factor(&self, write: &SecondFactorWrite) -> Result<Written, StoreError>;

    /// A reverification by a second factor (`POST /auth/reverify` with `totp` or `backup_code`):
    /// `User::spend_second_factor(spend)` on the signin's user, provided
    /// `User::can_spend_second_factor` and the user is not blocked, and `verified_at = at` on the
    /// signin and its index entry, in one write. `Conflict` (nothing written) if the factor is
    /// spent or changed, the user blocked or the signin gone.
    async fn reverify_with_second_factor(
        &self,
        signin: &Signin,
        spend: &SecondFactorUse,
        at: Timestamp,
    ) -> Result<Written, StoreError>;
}

pub use super::passkeys::PasskeyStore;

pub trait Store:
    SessionStore + UserStore + AttemptStore + LimitStore + SecondFactorStore + PasskeyStore
{
}
impl<T> Store for T where
    T: SessionStore + UserStore + AttemptStore + LimitStore + SecondFactorStore + PasskeyStore
{
}
