//! What must still hold for a store write to apply: of the attempt it completes (`AttemptCheck`)
//! and of a limit counter it only checks (`Gate`). Re-exported by `store`.

use crate::domain::factors::SecondFactorUse;
use crate::domain::model::{AttemptKind, Channel, ResetContext, Step, Timestamp};

/// A limit counter that must not be full for a write to apply: checked in the same transaction,
/// not charged (a right code at the account's failure cap must wait like a wrong one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    pub key: String,
    pub window_ends: Timestamp,
    pub max: u32,
}

/// The code that completes an attempt: the attempt must still hold it, not be completed and not
/// be killed by wrong codes (single use).
#[derive(Clone, Debug)]
pub struct CodeProof {
    pub attempt_id: String,
    pub code_hash: String,
    pub max_wrong_codes: u32,
    /// The account's failure budget, which must not be full (sign-in and reset codes only).
    pub gate: Option<Gate>,
}

/// What must still hold of a user for a password reset's step to apply (`User::holds`): no end
/// of all its signins since the reset was opened, and, for a reset that met no second factor,
/// still none on (a factor turned on meanwhile is not skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserHolds {
    pub user_id: String,
    pub signouts_version: u64,
    pub no_second_factor: bool,
    /// The contact the reset's code went to, still the user's (a reset opened to an email or
    /// phone moved away since does not complete).
    pub contact: Option<(Channel, String)>,
}

impl UserHolds {
    /// What must still hold of `user_id` for the next step of a reset opened with `reset`, its
    /// code sent to `destination` on `channel`.
    pub fn of_reset(
        reset: &ResetContext,
        user_id: &str,
        channel: Option<Channel>,
        destination: Option<&str>,
    ) -> Self {
        Self {
            user_id: user_id.to_string(),
            signouts_version: reset.signouts_version,
            no_second_factor: !reset.second_factor_on,
            contact: channel.zip(destination.map(str::to_string)),
        }
    }
}

/// What must still hold of an attempt for a write to apply.
#[derive(Clone, Debug)]
pub enum AttemptCheck {
    /// It still holds this code, is open and not killed (single use).
    Code(CodeProof),
    /// It is open and waiting at this step (profile completion, which takes no code; a reset's
    /// new password, whose user must still be as the reset found it: `user`).
    AtStep {
        attempt_id: String,
        step: Step,
        user: Option<UserHolds>,
    },
    /// The session's `sso` sign-in attempt is still open and has no step left: its callback has
    /// not run yet (one that waits at `verify_second_factor` is no longer granted by it).
    Sso { attempt_id: String },
    /// The sign-in attempt is open at `verify_second_factor` and not killed (and, for an SMS
    /// code, still holds `code_hash`); the same write spends `spend` on user `user_id`
    /// (`User::can_spend_second_factor`, else `UserBlocked`: nothing is written).
    SecondFactor {
        attempt_id: String,
        user_id: String,
        max_wrong_codes: u32,
        code_hash: Option<String>,
        spend: SecondFactorUse,
        /// The account's failure budget, which must not be full: a right second-factor code
        /// waits like a wrong one once it is.
        gate: Option<Gate>,
        /// The user's `signouts_version` when the attempt was opened: a grant requires it
        /// unchanged (every signin of the user ended since: `Completion::SecondFactorStale`).
        signouts_version: u64,
    },
}

impl AttemptCheck {
    pub fn attempt_id(&self) -> &str {
        match self {
            AttemptCheck::Code(p) => &p.attempt_id,
            AttemptCheck::AtStep { attempt_id, .. } => attempt_id,
            AttemptCheck::Sso { attempt_id } => attempt_id,
            AttemptCheck::SecondFactor { attempt_id, .. } => attempt_id,
        }
    }

    /// Which kind of attempt the check is about when it completes a sign-up: the sign-up attempt
    /// itself, or the `sso` sign-in attempt whose callback creates the user directly.
    pub fn signup_kind(&self) -> AttemptKind {
        match self {
            AttemptCheck::Sso { .. } => AttemptKind::Signin,
            AttemptCheck::Code(_)
            | AttemptCheck::AtStep { .. }
            | AttemptCheck::SecondFactor { .. } => AttemptKind::Signup,
        }
    }
}
