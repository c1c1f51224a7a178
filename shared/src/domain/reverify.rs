//! Reverification: a sensitive operation (`DELETE /me`, a password or contact change) needs the
//! active signin to have proven a factor within `REVERIFY_MINUTES` (`Signin::verified_at`, set at
//! the grant and refreshed by `POST /auth/reverify`).

use super::caller::Caller;
use super::error::{AuthError, FieldError};
use super::limits::{Account, AccountBudget, Limit};
use super::model::{AttemptKind, Channel, Claim, Signin, SigninAttempt, SigninMethod, Timestamp};
use super::password;
use super::signin::{self, CodeRequest};
use crate::domain::Deps;
use crate::domain::ports::store::{AttemptCheck, Completion, Written};

/// How the user proves it is them again (`POST /auth/reverify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Password,
    EmailOtp,
    PhoneOtp,
    /// A code of the user's authenticator app (`second_factor::reverify`).
    Totp,
    /// One of the user's backup codes, spent by it.
    BackupCode,
    /// Not yet: passkeys come with their own issue.
    Passkey,
}

/// `POST /auth/reverify`: a right password refreshes the active signin's `verified_at` at once;
/// a code strategy opens a sign-in attempt for the active user (sent to its verified email or
/// phone) whose completion through `POST /auth/attempt-verification` refreshes it. No new
/// signin either way. (`totp` and `backup_code`: `second_factor::reverification::start`.) A user with a second
/// factor on must prove one of its second factors (`totp`, `backup_code`, or `phone_otp` when
/// the SMS factor is on): a password or an email code alone is refused.
pub async fn start(
    deps: &Deps,
    caller: &mut Caller,
    strategy: Strategy,
    typed_password: Option<String>,
) -> Result<(), AuthError> {
    let signin = caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .cloned()
        .ok_or(AuthError::Unauthenticated)?;
    let channel = match strategy {
        // `second_factor::reverification::start` takes these before calling here.
        Strategy::Totp | Strategy::BackupCode => {
            return Err(AuthError::internal(
                "a second-factor reverification reached the first-factor one",
            ));
        }
        Strategy::Passkey => {
            return Err(AuthError::invalid(
                "strategy",
                "passkey reverification is not available yet: use password, email_otp, phone_otp, totp or backup_code",
            ));
        }
        Strategy::Password => None,
        Strategy::EmailOtp => Some(Channel::Email),
        Strategy::PhoneOtp => Some(Channel::Sms),
    };
    let typed_password = typed_password.filter(|p| !p.is_empty());
    if channel.is_none() && typed_password.is_none() {
        return Err(AuthError::Invalid(vec![FieldError::required("password")]));
    }
    if channel.is_some() && typed_password.is_some() {
        return Err(AuthError::invalid(
            "password",
            "only with the password strategy",
        ));
    }
    let user = deps
        .store
        .get_user(&signin.user_id)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    if user.blocked {
        return Err(AuthError::UserBlocked);
    }
    // With a second factor on, a first factor alone does not reverify: the phone counts only
    // when it is the SMS factor.
    let f = &user.second_factor;
    if f.any_on() && !(channel == Some(Channel::Sms) && f.phone_second_factor) {
        return Err(AuthError::invalid(
            "strategy",
            "this account has a second factor: reverify with it (totp, backup_code, or phone_otp when the SMS factor is on)",
        ));
    }
    let now = deps.clock.now();
    let Some(channel) = channel else {
        let password = typed_password.expect("checked above");
        return with_password(deps, caller, &signin, user.password_hash, password, now).await;
    };
    let verified = match channel {
        Channel::Email => user.email.as_deref().filter(|_| user.email_verified),
        Channel::Sms => user.phone_number.as_deref().filter(|_| user.phone_verified),
    };
    let Some(to) = verified.map(str::to_string) else {
        return Err(AuthError::invalid(
            "strategy",
            "the account has no verified contact for it",
        ));
    };
    let claim = Claim::for_contact(channel, &to);
    let request = CodeRequest {
        typed: &to,
        method: match channel {
            Channel::Email => SigninMethod::EmailOtp,
            Channel::Sms => SigninMethod::PhoneOtp,
        },
        channel,
        cap: Limit::codes_per_identifier(
            &claim.key(),
            deps.config.limits.sends_per_destination_per_hour,
        ),
        reverifies: Some(signin.id.clone()),
        changes_contact: None,
        verified_hash: None,
    };
    signin::open_code_attempt(deps, caller, request, Some(&user), now).await
}

/// The password strategy: failures count like sign-in failures (10 per 15 minutes, here per
/// user, and the account's daily budget) and answer no sooner than the failure floor.
async fn with_password(
    deps: &Deps,
    caller: &mut Caller,
    signin: &Signin,
    hash: Option<String>,
    typed: String,
    now: Timestamp,
) -> Result<(), AuthError> {
    let Some(hash) = hash else {
        return Err(AuthError::invalid(
            "strategy",
            "the account has no password: use email_otp or phone_otp",
        ));
    };
    let store = deps.store.as_ref();
    let failures = Limit::password_failures(&format!("USER#{}", signin.user_id));
    // Also one guess of the account's budget, shared with sign-in and every code.
    let budget = AccountBudget::new(deps, Account::User(&signin.user_id));
    let (checked, budgeted) = tokio::join!(failures.check(store, now), budget.reserve(deps, now));
    if checked.is_err() || budgeted.is_err() {
        if checked.is_ok() {
            failures.release(store, now).await?;
        }
        if budgeted.is_ok() {
            budget.release(deps, now).await?;
        }
        return checked.and(budgeted);
    }
    let floor = deps.config.password_failure_floor;
    if !password::verify_blocking(typed, Some(hash), floor).await {
        store.record_failed_login(&signin.user_id).await?;
        return Err(AuthError::InvalidCredentials);
    }
    let (released, budget_released, marked) = tokio::join!(
        failures.release(store, now),
        budget.release(deps, now),
        store.mark_verified(signin, now)
    );
    released?;
    budget_released?;
    if marked? == Written::Conflict {
        return Err(AuthError::Unauthenticated);
    }
    mirror_verified(caller, &signin.id, now);
    Ok(())
}

/// A right code for a reverification attempt: the attempt completes and the signin it names
/// counts as verified now, in one write (so the code serves once).
pub(crate) async fn complete(
    deps: &Deps,
    caller: &mut Caller,
    attempt: &SigninAttempt,
    signin_id: &str,
    check: AttemptCheck,
    now: Timestamp,
) -> Result<(), AuthError> {
    let signin = caller
        .session
        .as_ref()
        .and_then(|s| s.signins.iter().find(|x| x.id == signin_id))
        .filter(|s| Some(&s.user_id) == attempt.user_id.as_ref())
        .cloned()
        .ok_or(AuthError::Unauthenticated)?;
    match deps
        .store
        .finish_reverification(&attempt.session_id, &check, &signin, now)
        .await?
    {
        Completion::Done => {}
        Completion::AttemptChanged => return Err(AuthError::AttemptCompleted),
        _ => return Err(AuthError::Unauthenticated),
    }
    if let Some(state) = caller.session.as_mut() {
        state.complete_attempt(AttemptKind::Signin, &attempt.id, None);
    }
    mirror_verified(caller, signin_id, now);
    Ok(())
}

pub(crate) fn mirror_verified(caller: &mut Caller, signin_id: &str, now: Timestamp) {
    if let Some(s) = caller
        .session
        .as_mut()
        .and_then(|s| s.signins.iter_mut().find(|x| x.id == signin_id))
    {
        s.verified_at = now;
    }
}

/// The caller's active signin, provided it proved a factor recently enough; else
/// `ReverificationRequired` (or `Unauthenticated` without a signin).
pub fn require_recent<'a>(deps: &Deps, caller: &'a Caller) -> Result<&'a Signin, AuthError> {
    let signin = caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .ok_or(AuthError::Unauthenticated)?;
    if is_recent(signin, deps.clock.now(), deps.config.reverify) {
        Ok(signin)
    } else {
        Err(AuthError::ReverificationRequired)
    }
}

/// Whether the signin proved a factor less than `window` before `now`.
pub fn is_recent(signin: &Signin, now: Timestamp, window: time::Duration) -> bool {
    now < signin.verified_at + window
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};

    fn signin(verified_at: Timestamp) -> Signin {
        Signin {
            id: "sin_1".into(),
            session_id: "sess_1".into(),
            user_id: "usr_1".into(),
            created_at: verified_at,
            expires_at: verified_at + Duration::days(30),
            last_active_at: verified_at,
            verified_at,
            user_agent: None,
            ip: None,
        }
    }

    #[test]
    fn a_factor_counts_for_the_window_and_not_a_second_longer() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let window = Duration::minutes(10);
        let s = signin(t);
        assert!(is_recent(&s, t, window));
        assert!(is_recent(&s, t + window - Duration::seconds(1), window));
        assert!(!is_recent(&s, t + window, window));
        assert!(!is_recent(&s, t + Duration::days(1), window));
    }
}
