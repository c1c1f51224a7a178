//! Every state transition of an attempt or a session, written once as a pure function on the
//! model. The domain applies them to the caller's copy of the session (so the answer shows the
//! new state without a second read), and `MemoryStore` applies them to what it stores; the
//! DynamoDB adapter builds its conditional writes from the same store payloads, and the store
//! conformance suite checks that what each adapter stored equals what these functions produce.

use super::factors::{SecondFactorUse, SecondFactorWrite};
use super::limits::{ATTEMPTS_PER_SESSION, SIGNINS_PER_SESSION};
use super::model::{
    AttemptKind, AttemptRef, Channel, Claim, CodeState, SecondFactorChallenge, Session,
    SessionState, Signin, SigninAttempt, SignupAttempt, Step, Timestamp, User,
};
use super::ports::store::{
    Admission, CodeSend, Grant, GrantSession, NewAttempt, SessionRotation, SessionWrite,
    SignupCompletion, UserHolds,
};

impl User {
    /// A contact change's effect on the user: the new email or phone number, verified.
    pub fn move_contact(&mut self, channel: Channel, to: &str, at: Timestamp) {
        match channel {
            Channel::Email => {
                self.email = Some(to.to_string());
                self.email_verified = true;
            }
            Channel::Sms => {
                self.phone_number = Some(to.to_string());
                self.phone_verified = true;
            }
        }
        self.updated_at = at;
    }

    /// An enrollment change (see `SecondFactorWrite`): the named fields, the version bumped,
    /// `two_factor_enabled` as the write says. The store applies it only at `expected_version`.
    pub fn apply_second_factor(&mut self, w: &SecondFactorWrite) {
        let f = &mut self.second_factor;
        if let Some(v) = &w.totp_secret {
            f.totp_secret = v.clone();
        }
        if let Some(v) = &w.totp_pending_secret {
            f.totp_pending_secret = v.clone();
        }
        if let Some(v) = w.totp_last_step {
            f.totp_last_step = v;
        }
        if let Some(hashes) = &w.backup_code_hashes {
            f.backup_code_hashes = hashes.iter().map(|h| (h.clone(), true)).collect();
        }
        if let Some(v) = w.phone_second_factor {
            f.phone_second_factor = v;
        }
        f.second_factor_version = w.expected_version + 1;
        self.two_factor_enabled = w.two_factor_enabled;
        self.updated_at = w.at;
    }

    /// Whether a sign-in may spend this second factor now (what the store's condition checks).
    pub fn can_spend_second_factor(&self, u: &SecondFactorUse) -> bool {
        let f = &self.second_factor;
        match u {
            SecondFactorUse::Totp {
                sealed_secret,
                step,
            } => {
                f.totp_secret.as_ref() == Some(sealed_secret)
                    && f.totp_last_step.is_none_or(|last| last < *step)
            }
            SecondFactorUse::BackupCode { hash } => f.backup_code_hashes.contains_key(hash),
            SecondFactorUse::Phone { phone } => {
                f.phone_second_factor
                    && self.phone_verified
                    && self.phone_number.as_deref() == Some(phone.as_str())
            }
        }
    }

    /// Whether a reset's next step may apply to this user (`UserHolds`): no end of all its
    /// signins since the reset was opened, and no factor on if it met none.
    pub fn holds(&self, h: &UserHolds) -> bool {
        self.second_factor.signouts_version == h.signouts_version
            && !(h.no_second_factor && self.two_factor_enabled)
            && h.contact
                .as_ref()
                .is_none_or(|(c, v)| self.has_contact(*c, v))
    }

    /// Whether `value` is still the user's email (or phone number): a code sent to it proves
    /// nothing of the user once the contact moved away.
    pub fn has_contact(&self, channel: Channel, value: &str) -> bool {
        match channel {
            Channel::Email => self.email.as_deref() == Some(value),
            Channel::Sms => self.phone_number.as_deref() == Some(value),
        }
    }

    /// Whether the contact a sign-in's code proved (`SigninCompletion::verified`) is still the
    /// user's.
    pub fn still_has(&self, proven: &(Channel, Claim)) -> bool {
        match proven {
            (c, Claim::Email(v) | Claim::Phone(v)) => self.has_contact(*c, v),
            _ => false,
        }
    }

    /// A sign-in spent its second factor: a TOTP step is the last accepted one, a backup code
    /// is gone.
    pub fn spend_second_factor(&mut self, u: &SecondFactorUse) {
        let f = &mut self.second_factor;
        match u {
            SecondFactorUse::Totp { step, .. } => f.totp_last_step = Some(*step),
            SecondFactorUse::BackupCode { hash } => {
                f.backup_code_hashes.remove(hash);
            }
            SecondFactorUse::Phone { .. } => {}
        }
    }

    /// Every signin of the user ended (a reset, a password change with `sign_out_others`, an
    /// admin sign-out, "sign out other devices"): a sign-in waiting at its second factor since
    /// before is no longer granted (`SecondFactors::signouts_version`).
    pub fn signed_out_everywhere(&mut self) {
        self.second_factor.signouts_version += 1;
    }
}

impl CodeState {
    /// Killed: as many wrong codes as `max` (the attempt takes no more, right or wrong).
    pub fn kill(&mut self, max: u32) {
        self.wrong_codes = self.wrong_codes.max(max);
    }

    /// A (re)send: the new code replaces the old one and the send is counted.
    pub fn apply_send(&mut self, send: &CodeSend) {
        self.code = Some(send.code.clone());
        self.sends += 1;
    }
}

impl SignupAttempt {
    /// The last step passed. `user` is the user it created, when the attempt's own session may
    /// learn who that is (see `SignupCompletion::user_for_attempt`); the attempt then keeps the
    /// fields the user ended up with.
    pub fn complete(&mut self, user: Option<&User>) {
        self.completed = true;
        self.remaining_steps.clear();
        self.codes.code = None;
        let Some(user) = user else {
            return;
        };
        self.missing_fields.clear();
        self.user_id = Some(user.id.clone());
        self.email_verified = user.email_verified;
        self.phone_verified = user.phone_verified;
        self.email = user.email.clone();
        self.phone_number = user.phone_number.clone();
        self.username = user.username.clone();
        self.first_name = user.first_name.clone();
        self.last_name = user.last_name.clone();
    }

    /// A code step passed with steps still to go: the contact is proven, the code is spent.
    pub fn advance(&mut self, proven: Channel) {
        if !self.remaining_steps.is_empty() {
            self.remaining_steps.remove(0);
        }
        match proven {
            Channel::Email => self.email_verified = true,
            Channel::Sms => self.phone_verified = true,
        }
        self.codes.code = None;
    }
}

impl SigninAttempt {
    /// Its part is done: a right code, or an `sso` callback that ran.
    pub fn complete(&mut self) {
        self.completed = true;
        self.remaining_steps.clear();
        self.codes.code = None;
    }

    /// An `sso` callback of a user with a second factor: the attempt waits at
    /// `verify_second_factor` for that user instead of granting.
    pub fn await_second_factor(&mut self, user_id: &str, challenge: &SecondFactorChallenge) {
        self.remaining_steps = vec![Step::VerifySecondFactor];
        self.user_id = Some(user_id.to_string());
        self.second_factor = Some(challenge.clone());
        self.codes.code = None;
    }

    /// A code step passed with steps still to go (a password reset's `reset_password`): the code
    /// is spent and the attempt waits at its next step.
    pub fn advance(&mut self) {
        if !self.remaining_steps.is_empty() {
            self.remaining_steps.remove(0);
        }
        self.codes.code = None;
    }
}

impl SignupCompletion {
    /// What the completed attempt's own session may learn of the new user. A signup code used in
    /// another browser completes the starter's attempt without telling the starter who signed up
    /// (anyone can start a sign-up for any address); an `sso` callback completes a sign-in
    /// attempt, which carries no user fields.
    pub fn user_for_attempt(&self) -> Option<&User> {
        let same_session = self.attempt_session_id == self.grant.session_id();
        (self.check.signup_kind() == AttemptKind::Signup && same_session).then_some(&self.user)
    }
}

impl Session {
    /// A completed sign-in or sign-up: new secret, the new signin active, deadlines moved.
    pub fn rotate(&mut self, r: &SessionRotation) {
        self.secret_hash = r.secret_hash.clone();
        self.active_signin_id = Some(r.active_signin_id.clone());
        self.last_active_at = r.last_active_at;
        self.expires_at = r.expires_at;
    }
}

impl Admission {
    /// How an attempt of `kind` joins a session listing `listed`: the expired attempts leave, and
    /// so many of the oldest of its kind that, with it, `ATTEMPTS_PER_SESSION` remain. A new
    /// attempt is never refused for the cap: the one it replaces is the least likely in use.
    pub fn new(listed: &[AttemptRef], kind: AttemptKind, now: Timestamp) -> Self {
        let (mut dropped, live): (Vec<AttemptRef>, Vec<AttemptRef>) =
            listed.iter().cloned().partition(|a| now >= a.expires_at);
        let same_kind: Vec<AttemptRef> = live.into_iter().filter(|a| a.kind == kind).collect();
        let over = (same_kind.len() + 1).saturating_sub(ATTEMPTS_PER_SESSION);
        dropped.extend(same_kind.into_iter().take(over));
        Self {
            expected: listed.to_vec(),
            dropped,
        }
    }

    /// Keeps `id` on the list even if expired: an attempt the same write changes (the `sso`
    /// attempt a callback completes) is not also deleted.
    pub fn sparing(mut self, id: &str) -> Self {
        self.dropped.retain(|a| a.id != id);
        self
    }

    /// The session's list once `new` joined: the dropped attempts gone, `new` last.
    pub fn after(&self, new: &AttemptRef) -> Vec<AttemptRef> {
        let mut list: Vec<AttemptRef> = self
            .expected
            .iter()
            .filter(|a| !self.dropped.iter().any(|d| d.id == a.id))
            .cloned()
            .collect();
        list.push(new.clone());
        list
    }
}

impl SessionWrite {
    /// How the attempt joins: a created session lists nothing but its own `attempts` before.
    pub fn admission(&self) -> Admission {
        match self {
            SessionWrite::Create(s) => Admission {
                expected: s.attempts.clone(),
                dropped: Vec::new(),
            },
            SessionWrite::Touch { admission, .. } => admission.clone(),
        }
    }
}

impl SessionState {
    /// An attempt opened: the dropped attempts go, and the new one joins the list and the session.
    pub fn admit(&mut self, admission: &Admission, attempt: NewAttempt<'_>) {
        self.session.attempts = admission.after(&attempt.listed());
        let dropped = |id: &str| admission.dropped.iter().any(|d| d.id == id);
        self.signup_attempts.retain(|a| !dropped(&a.id));
        self.signin_attempts.retain(|a| !dropped(&a.id));
        match attempt {
            NewAttempt::Signup(a) => self.signup_attempts.push(a.clone()),
            NewAttempt::Signin(a) => self.signin_attempts.push(a.clone()),
        }
    }

    /// Which signins a new signin of `user_id` replaces: the same user's older one (one signin
    /// per user), and the least recently active other one when the session is full.
    pub fn replaced_by_signin_of(&self, user_id: &str) -> Vec<Signin> {
        let mut removed: Vec<Signin> = self
            .signins
            .iter()
            .filter(|s| s.user_id == user_id)
            .cloned()
            .collect();
        let others: Vec<&Signin> = self
            .signins
            .iter()
            .filter(|s| s.user_id != user_id)
            .collect();
        if others.len() >= SIGNINS_PER_SESSION
            && let Some(oldest) = others.iter().min_by_key(|s| s.last_active_at)
        {
            removed.push((*oldest).clone());
        }
        removed
    }

    /// Applies a grant to the session it names: the replaced signins go, the new one is added,
    /// and the session is rotated (a created session already holds its final state).
    pub fn apply_grant(&mut self, grant: &Grant) {
        match &grant.session {
            GrantSession::Create(s) => self.session = s.clone(),
            GrantSession::Rotate(r) => self.session.rotate(r),
        }
        self.signins
            .retain(|s| !grant.removed_signins.iter().any(|r| r.id == s.id));
        self.signins.push(grant.signin.clone());
    }

    /// Completes the attempt of `kind` named `id`, if the session holds it (see
    /// `SignupAttempt::complete` for `user`).
    pub fn complete_attempt(&mut self, kind: AttemptKind, id: &str, user: Option<&User>) {
        match kind {
            AttemptKind::Signup => {
                if let Some(a) = self.signup_attempts.iter_mut().find(|a| a.id == id) {
                    a.complete(user);
                }
            }
            AttemptKind::Signin => {
                if let Some(a) = self.signin_attempts.iter_mut().find(|a| a.id == id) {
                    a.complete();
                }
            }
        }
    }

    /// A first OAuth sign-in that needs a code or profile fields: the `sso` sign-in attempt is
    /// done and the sign-up attempt it continues as joins the session, admitted like any new one.
    pub fn continue_as_signup(
        &mut self,
        sso_attempt_id: &str,
        signup: &SignupAttempt,
        admission: &Admission,
    ) {
        if let Some(a) = self
            .signin_attempts
            .iter_mut()
            .find(|a| a.id == sso_attempt_id)
        {
            a.complete();
        }
        self.admit(admission, NewAttempt::Signup(signup));
    }
}
