//! Second factor (DESIGN section 12): TOTP enrollment, backup codes, the SMS factor, and the
//! sign-in step `verify_second_factor` (`challenge`). Enrollment changes are conditional on the
//! user's `second_factor_version` (`SecondFactorStore::write_second_factor`), and every change
//! that turns a factor off or replaces backup codes needs a recent factor (reverification) and
//! sends a security notice.

pub mod backup;
pub mod challenge;
pub mod reverification;
pub mod sealing;
pub mod totp;

use super::caller::Caller;
use super::codes;
use super::error::AuthError;
use super::factors::{SecondFactorStrategy, SecondFactorWrite};
use super::model::User;
use super::notices::{self, Notice};
use super::reverify;
use super::sms;
use crate::domain::Deps;
use crate::domain::ports::store::Written;

/// `POST /me/totp`: what the authenticator app needs. The secret is shown here once and never
/// again; it is stored sealed until `POST /me/totp/verify` proves the app has it.
pub struct TotpEnrollment {
    /// Base32, for typing into an app.
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// What a user has on (`GET /me/two-factor`, and the answers of the changes).
pub struct TwoFactorStatus {
    pub two_factor_enabled: bool,
    pub totp_enabled: bool,
    pub phone_enabled: bool,
    pub backup_codes_left: usize,
    pub strategies: Vec<SecondFactorStrategy>,
    /// `REQUIRE_SECOND_FACTOR`: the deployment demands one (enroll before anything else).
    pub required: bool,
}

impl TwoFactorStatus {
    pub fn of(user: &User, required: bool) -> Self {
        let f = &user.second_factor;
        Self {
            required,
            two_factor_enabled: user.two_factor_enabled,
            totp_enabled: f.totp_secret.is_some(),
            phone_enabled: f.phone_second_factor,
            backup_codes_left: f.backup_code_hashes.len(),
            strategies: f.strategies(),
        }
    }
}

/// The active signin's user, as stored now.
async fn current_user(deps: &Deps, user_id: &str) -> Result<User, AuthError> {
    let user = deps
        .store
        .get_user(user_id)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    if user.blocked {
        return Err(AuthError::UserBlocked);
    }
    Ok(user)
}

fn signed_in_user_id(caller: &Caller) -> Result<String, AuthError> {
    caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .map(|s| s.user_id.clone())
        .ok_or(AuthError::Unauthenticated)
}

/// Applies `write` to the stored user and returns the user as it now is; a concurrent change to
/// the user's second factor is `SecondFactorChanged` (nothing was written).
async fn write(deps: &Deps, mut user: User, write: SecondFactorWrite) -> Result<User, AuthError> {
    if deps.store.write_second_factor(&write).await? == Written::Conflict {
        return Err(AuthError::SecondFactorChanged);
    }
    user.apply_second_factor(&write);
    Ok(user)
}

/// `write`, then the security notice every change of a factor sends (to the account's email).
async fn write_and_tell(deps: &Deps, user: User, w: SecondFactorWrite) -> Result<User, AuthError> {
    let user = write(deps, user, w).await?;
    notices::send(
        deps,
        Notice::SecondFactorChanged,
        user.email.as_deref(),
        &user.id,
    )
    .await;
    Ok(user)
}

/// The account name an authenticator app shows next to the issuer.
fn account_label(user: &User) -> &str {
    user.email
        .as_deref()
        .or(user.username.as_deref())
        .or(user.phone_number.as_deref())
        .unwrap_or(&user.id)
}

/// `POST /me/totp` (reverification): a new secret, stored sealed as the pending enrollment (a
/// second call replaces it). Refused while TOTP is on: turn it off first.
pub async fn start_totp(deps: &Deps, caller: &Caller) -> Result<TotpEnrollment, AuthError> {
    let user_id = reverify::require_recent(deps, caller)?.user_id.clone();
    let key = codes::key(&deps.config)?;
    let user = current_user(deps, &user_id).await?;
    if user.second_factor.totp_secret.is_some() {
        return Err(AuthError::TotpAlreadyEnabled);
    }
    let secret = totp::new_secret();
    let now = deps.clock.now();
    let mut w = SecondFactorWrite::on(&user.id, &user.second_factor, now);
    w.totp_pending_secret = Some(Some(sealing::seal(key, &user.id, &secret)));
    let user = write(deps, user, w).await?;
    let otpauth_uri = totp::uri(&secret, &deps.config.totp_issuer, account_label(&user));
    Ok(TotpEnrollment {
        secret: totp::base32(&secret),
        qr_svg: totp::qr_svg(&otpauth_uri)?,
        otpauth_uri,
    })
}

/// `POST /me/totp/verify {code}`: a right code from the app turns TOTP on (its step counts as
/// used) and answers ten new backup codes, shown this once.
pub async fn verify_totp(
    deps: &Deps,
    caller: &Caller,
    code: Option<String>,
) -> Result<Vec<String>, AuthError> {
    let code = code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AuthError::Invalid(vec![super::FieldError::required("code")]))?;
    let user_id = signed_in_user_id(caller)?;
    let key = codes::key(&deps.config)?;
    let user = current_user(deps, &user_id).await?;
    if user.second_factor.totp_secret.is_some() {
        return Err(AuthError::TotpAlreadyEnabled);
    }
    let Some(pending) = user.second_factor.totp_pending_secret.clone() else {
        return Err(AuthError::invalid(
            "code",
            "no TOTP enrollment is waiting: POST /me/totp first",
        ));
    };
    let secret = sealing::open(key, &user.id, &pending)?;
    let now = deps.clock.now();
    let step =
        totp::matching_step(&secret, &code, now.unix_timestamp()).ok_or(AuthError::InvalidCode)?;
    let codes = backup::generate();
    let mut w = SecondFactorWrite::on(&user.id, &user.second_factor, now);
    w.totp_secret = Some(Some(pending));
    w.totp_pending_secret = Some(None);
    w.totp_last_step = Some(Some(step));
    w.backup_code_hashes = Some(hashes(key, &user.id, &codes));
    w.two_factor_enabled = true;
    write_and_tell(deps, user, w).await?;
    Ok(codes)
}

/// `DELETE /me/totp` (reverification): TOTP off. With no factor left, the backup codes go too.
pub async fn disable_totp(deps: &Deps, caller: &Caller) -> Result<User, AuthError> {
    let user_id = reverify::require_recent(deps, caller)?.user_id.clone();
    let user = current_user(deps, &user_id).await?;
    let f = &user.second_factor;
    if f.totp_secret.is_none() && f.totp_pending_secret.is_none() {
        return Err(AuthError::SecondFactorNotEnabled);
    }
    let mut w = SecondFactorWrite::on(&user.id, f, deps.clock.now());
    w.totp_secret = Some(None);
    w.totp_pending_secret = Some(None);
    w.totp_last_step = Some(None);
    w.two_factor_enabled = f.phone_second_factor;
    keeps_one(deps, &w)?;
    if !f.phone_second_factor {
        w.backup_code_hashes = Some(Vec::new());
    }
    // Dropping an enrollment never finished changes no factor: nothing to tell.
    if f.totp_secret.is_some() {
        write_and_tell(deps, user, w).await
    } else {
        write(deps, user, w).await
    }
}

/// `POST /me/backup-codes` (reverification): ten new codes replace every old one.
pub async fn replace_backup_codes(deps: &Deps, caller: &Caller) -> Result<Vec<String>, AuthError> {
    let user_id = reverify::require_recent(deps, caller)?.user_id.clone();
    let key = codes::key(&deps.config)?;
    let user = current_user(deps, &user_id).await?;
    if !user.second_factor.any_on() {
        return Err(AuthError::SecondFactorNotEnabled);
    }
    let codes = backup::generate();
    let mut w = SecondFactorWrite::on(&user.id, &user.second_factor, deps.clock.now());
    w.backup_code_hashes = Some(hashes(key, &user.id, &codes));
    write_and_tell(deps, user, w).await?;
    Ok(codes)
}

/// `POST /me/two-factor/phone {enabled}` (reverification): SMS codes to the verified phone as a
/// second factor, on or off.
pub async fn set_phone(deps: &Deps, caller: &Caller, enabled: bool) -> Result<User, AuthError> {
    let user_id = reverify::require_recent(deps, caller)?.user_id.clone();
    let user = current_user(deps, &user_id).await?;
    if enabled {
        let phone = user
            .phone_number
            .as_deref()
            .filter(|_| user.phone_verified)
            .ok_or_else(|| AuthError::invalid("enabled", "verify a phone number first"))?;
        sms::check_allowed(&deps.config, phone, "enabled")
            .map_err(|e| AuthError::Invalid(vec![e]))?;
    }
    let f = &user.second_factor;
    if f.phone_second_factor == enabled {
        return Ok(user);
    }
    let mut w = SecondFactorWrite::on(&user.id, f, deps.clock.now());
    w.phone_second_factor = Some(enabled);
    w.two_factor_enabled = enabled || f.totp_secret.is_some();
    keeps_one(deps, &w)?;
    if !w.two_factor_enabled {
        w.backup_code_hashes = Some(Vec::new());
    }
    let user = write_and_tell(deps, user, w).await?;
    Ok(user)
}

/// `REQUIRE_SECOND_FACTOR`: `SecondFactorRequired` while the active signin's user has no second
/// factor on (no active signin: the route answers for itself).
pub async fn require_enrolled(deps: &Deps, caller: &Caller) -> Result<(), AuthError> {
    let Ok(user_id) = signed_in_user_id(caller) else {
        return Ok(());
    };
    match deps.store.get_user(&user_id).await? {
        Some(u) if !u.two_factor_enabled => Err(AuthError::SecondFactorRequired),
        _ => Ok(()),
    }
}

/// `GET /me/two-factor`.
pub async fn status(deps: &Deps, caller: &Caller) -> Result<TwoFactorStatus, AuthError> {
    let user_id = signed_in_user_id(caller)?;
    let user = current_user(deps, &user_id).await?;
    Ok(TwoFactorStatus::of(
        &user,
        deps.config.require_second_factor,
    ))
}

/// `REQUIRE_SECOND_FACTOR`: the last factor stays on (enroll another one first).
fn keeps_one(deps: &Deps, w: &SecondFactorWrite) -> Result<(), AuthError> {
    if deps.config.require_second_factor && !w.two_factor_enabled {
        return Err(AuthError::SecondFactorRequired);
    }
    Ok(())
}

fn hashes(key: &[u8], user_id: &str, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|c| backup::normalize(c))
        .map(|c| backup::hash(key, user_id, &c))
        .collect()
}
