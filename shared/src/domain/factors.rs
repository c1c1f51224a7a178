//! A user's second factors (issue 13) as stored on the user item, and the changes the store
//! makes to them. The pure transitions that apply these changes live in `transitions.rs`.
//!
//! The user item's attributes (flat, next to the profile): `totp_secret` (the enabled TOTP
//! secret, sealed, see `second_factor::sealing`), `totp_pending_secret` (an enrollment waiting for
//! its first code), `totp_last_step` (the last accepted time step: a code is accepted once),
//! `backup_code_hashes` (one map key per unused backup code, its keyed hash), `phone_second_factor`
//! (SMS codes to the verified phone as a second factor) and `second_factor_version` (bumped by every
//! enrollment change, which is conditional on it). `two_factor_enabled` (seed 001) stays where it
//! was, kept equal to `SecondFactors::any_on`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The second-factor fields of a user. No `Debug` of a secret: see the impl below.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_pending_secret: Option<String>,
    /// Absent rather than null when unset, so the sign-in's condition on it reads plainly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_last_step: Option<u64>,
    /// Keyed hash (hex) -> `true`, one entry per backup code not yet used. A map, so a sign-in
    /// removes the one it used with a conditional write that needs no read.
    #[serde(default)]
    pub backup_code_hashes: BTreeMap<String, bool>,
    #[serde(default)]
    pub phone_second_factor: bool,
    #[serde(default)]
    pub second_factor_version: u64,
    /// Bumped whenever every signin of the user ends (a reset, a password change with
    /// `sign_out_others`, an admin sign-out, "sign out other devices"): a sign-in waiting at
    /// `verify_second_factor` is granted only while it is still what it was when the attempt was
    /// opened, so such an end also voids the sign-ins half done.
    #[serde(default)]
    pub signouts_version: u64,
}

impl SecondFactors {
    /// Whether any second factor is on (seed 001's `two_factor_enabled`).
    pub fn any_on(&self) -> bool {
        self.totp_secret.is_some() || self.phone_second_factor
    }

    /// How a sign-in of this user may prove its second factor, in the order a page offers them.
    pub fn strategies(&self) -> Vec<SecondFactorStrategy> {
        let mut out = Vec::new();
        if self.totp_secret.is_some() {
            out.push(SecondFactorStrategy::Totp);
        }
        if self.phone_second_factor {
            out.push(SecondFactorStrategy::PhoneOtp);
        }
        if self.any_on() && !self.backup_code_hashes.is_empty() {
            out.push(SecondFactorStrategy::BackupCode);
        }
        out
    }
}

/// Never a secret or a hash: whether each factor is on, and how many backup codes are left.
impl fmt::Debug for SecondFactors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactors")
            .field("totp", &self.totp_secret.is_some())
            .field("totp_pending", &self.totp_pending_secret.is_some())
            .field("totp_last_step", &self.totp_last_step)
            .field("backup_codes_left", &self.backup_code_hashes.len())
            .field("phone_second_factor", &self.phone_second_factor)
            .field("second_factor_version", &self.second_factor_version)
            .field("signouts_version", &self.signouts_version)
            .finish()
    }
}

/// How the second step of a sign-in is proven (`second_factor_strategies` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorStrategy {
    Totp,
    BackupCode,
    PhoneOtp,
}

/// An enrollment change (`POST /me/totp`, its verification, `DELETE /me/totp`,
/// `POST /me/backup-codes`, `POST /me/two-factor/phone`): applied only while the user's
/// `second_factor_version` is still `expected_version`, which it then increments. `None` leaves a
/// field alone; `Some(None)` removes it. A sign-in's use of a factor is not one of these (see
/// `SecondFactorUse`), so a change never restores a code spent meanwhile: only the fields named
/// here are written.
#[derive(Clone, PartialEq, Eq)]
pub struct SecondFactorWrite {
    pub user_id: String,
    pub expected_version: u64,
    pub totp_secret: Option<Option<String>>,
    pub totp_pending_secret: Option<Option<String>>,
    pub totp_last_step: Option<Option<u64>>,
    /// The new backup codes' hashes, replacing all of them (empty: none left).
    pub backup_code_hashes: Option<Vec<String>>,
    pub phone_second_factor: Option<bool>,
    /// `two_factor_enabled` afterwards (what `SecondFactors::any_on` says of the result).
    pub two_factor_enabled: bool,
    pub at: time::OffsetDateTime,
}

impl SecondFactorWrite {
    /// A change that touches nothing yet, on the user as read.
    pub fn on(user_id: &str, read: &SecondFactors, at: time::OffsetDateTime) -> Self {
        Self {
            user_id: user_id.to_string(),
            expected_version: read.second_factor_version,
            totp_secret: None,
            totp_pending_secret: None,
            totp_last_step: None,
            backup_code_hashes: None,
            phone_second_factor: None,
            two_factor_enabled: read.any_on(),
            at,
        }
    }
}

impl fmt::Debug for SecondFactorWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactorWrite")
            .field("user_id", &self.user_id)
            .field("expected_version", &self.expected_version)
            .field("two_factor_enabled", &self.two_factor_enabled)
            .finish_non_exhaustive()
    }
}

/// A sign-in's second step, spent in the same transaction that grants the signin.
#[derive(Clone, PartialEq, Eq)]
pub enum SecondFactorUse {
    /// A TOTP code of time step `step`: the user's secret must still be `sealed_secret` and its
    /// last accepted step below `step`, which becomes the last accepted one.
    Totp { sealed_secret: String, step: u64 },
    /// A backup code: its hash must still be listed, and is removed.
    BackupCode { hash: String },
    /// An SMS code (the attempt's own code proves it) sent to `phone`: the phone factor must
    /// still be on and `phone` still the user's verified number (a code to a number moved away
    /// from grants nothing).
    Phone { phone: String },
}

impl fmt::Debug for SecondFactorUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecondFactorUse::Totp { step, .. } => write!(f, "Totp {{ step: {step} }}"),
            SecondFactorUse::BackupCode { .. } => f.write_str("BackupCode"),
            SecondFactorUse::Phone { .. } => f.write_str("Phone"),
        }
    }
}

/// What a sign-in attempt of a user with a second factor keeps server-side for its step
/// `verify_second_factor`, read with the user when the attempt was opened, so that the step needs
/// no read of the user (the grant's conditions require it still holds).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorChallenge {
    pub strategies: Vec<SecondFactorStrategy>,
    /// The user's sealed TOTP secret as read; the grant requires it unchanged.
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// The verified phone an SMS second factor goes to.
    #[serde(default)]
    pub phone: Option<String>,
    /// The user's `SecondFactors::signouts_version` as read: the grant requires it unchanged.
    #[serde(default)]
    pub signouts_version: u64,
    /// A password sign-in: the hash the typed password verified (the grant requires it still the
    /// user's, as a password sign-in without a second factor does). Never shown or logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_hash: Option<String>,
}

impl SecondFactorChallenge {
    /// The challenge a sign-in of a user with these factors meets, if any is on.
    pub fn for_user(f: &SecondFactors, verified_phone: Option<&str>) -> Option<Self> {
        if !f.any_on() {
            return None;
        }
        Some(Self {
            strategies: f.strategies(),
            totp_secret: f.totp_secret.clone(),
            phone: verified_phone
                .filter(|_| f.phone_second_factor)
                .map(str::to_string),
            signouts_version: f.signouts_version,
            verified_hash: None,
        })
    }

    /// The challenge after a first factor that went to the SMS factor's own phone (a phone code
    /// sign-in or reset): the phone cannot pass both factors, so `phone_otp` is not offered. The
    /// list may end up empty (the SMS factor was the only one and no backup code is left): such a
    /// sign-in cannot finish; a password or an email code can.
    pub fn without_phone(mut self) -> Self {
        self.strategies
            .retain(|s| *s != SecondFactorStrategy::PhoneOtp);
        self.phone = None;
        self
    }
}

impl fmt::Debug for SecondFactorChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactorChallenge")
            .field("strategies", &self.strategies)
            .finish_non_exhaustive()
    }
}
