//! The sign-in step `verify_second_factor`. A user with a second factor on meets it after any
//! first factor but a passkey: a password sign-in opens its attempt already at the step, a code
//! sign-in (or a password reset) lists it after its code step, an OAuth callback opens one. The
//! attempt carries what the step needs (`SecondFactorChallenge`, read with the user when it was
//! opened), so checking it reads nothing more: the session (already loaded) and one transaction
//! that spends the factor on the user item and grants the signin, at most 2 round trips.

use super::{backup, sealing, totp};
use crate::domain::Deps;
use crate::domain::attempts::{self, Opening};
use crate::domain::caller::Caller;
use crate::domain::codes;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::factors::{SecondFactorChallenge, SecondFactorStrategy, SecondFactorUse};
use crate::domain::grant;
use crate::domain::limits::{
    ATTEMPT_TTL, Account, AccountBudget, WRONG_CODES_PER_ATTEMPT, seconds_until,
};
use crate::domain::model::{
    Channel, Claim, CodeState, SigninAttempt, SigninMethod, Step, Timestamp, User,
};
use crate::domain::ports::store::WrongCode;
use crate::domain::ports::store::{AttemptCheck, AttemptKey, AttemptKind, SigninAdvance, Written};
use crate::ids::{new_id, prefix};

/// The challenge a sign-in of `user` meets after its first factor, if a second factor is on.
pub(crate) fn for_user(user: &User) -> Option<SecondFactorChallenge> {
    let phone = user.phone_number.as_deref().filter(|_| user.phone_verified);
    SecondFactorChallenge::for_user(&user.second_factor, phone)
}

/// A right password of a user with a second factor: instead of a signin, a sign-in attempt
/// waiting at `verify_second_factor` (nothing is granted, the credential is not rotated). Its
/// grant requires `verified_hash` still the user's, as a password sign-in's does.
pub(crate) async fn open_after_password(
    deps: &Deps,
    caller: &mut Caller,
    user: &User,
    typed: &str,
    mut challenge: SecondFactorChallenge,
    verified_hash: String,
    now: Timestamp,
) -> Result<(), AuthError> {
    challenge.verified_hash = Some(verified_hash);
    let attempt = SigninAttempt {
        id: new_id(prefix::SIGNIN_ATTEMPT),
        session_id: String::new(),
        method: SigninMethod::Password,
        identifier: typed.trim().to_string(),
        user_id: Some(user.id.clone()),
        destination: None,
        remaining_steps: vec![Step::VerifySecondFactor],
        missing_fields: Vec::new(),
        sso: None,
        reset: None,
        reverifies: None,
        changes_contact: None,
        second_factor: Some(challenge),
        passkey: None,
        codes: CodeState::default(),
        completed: false,
        created_at: now,
        expires_at: now + ATTEMPT_TTL,
    };
    attempts::open(deps, caller, Opening::Signin(Box::new(attempt)), None, now).await?;
    Ok(())
}

/// `POST /auth/attempt-verification {signin_attempt_id, code, strategy}` at the step
/// `verify_second_factor`. A right code spends the factor (a TOTP step, a backup code) and grants
/// the signin in one transaction, or, for a password reset, moves on to `reset_password`; a wrong
/// one counts against the attempt like any code.
pub(crate) async fn verify(
    deps: &Deps,
    caller: &mut Caller,
    attempt: &SigninAttempt,
    strategy: Option<SecondFactorStrategy>,
    submitted: &str,
    now: Timestamp,
) -> Result<(), AuthError> {
    let challenge = attempt
        .second_factor
        .as_ref()
        .ok_or_else(|| AuthError::internal("an attempt at verify_second_factor without one"))?;
    let user_id = attempt
        .user_id
        .clone()
        .ok_or_else(|| AuthError::internal("a second-factor attempt without a user"))?;
    let strategy =
        strategy.ok_or_else(|| AuthError::Invalid(vec![FieldError::required("strategy")]))?;
    if !challenge.strategies.contains(&strategy) {
        return Err(AuthError::invalid(
            "strategy",
            "not one of the attempt's second_factor_strategies",
        ));
    }
    let key = codes::key(&deps.config)?;
    let (spend, code_hash) = match strategy {
        SecondFactorStrategy::Totp => {
            let sealed = challenge
                .totp_secret
                .clone()
                .ok_or_else(|| AuthError::internal("a totp strategy without a secret"))?;
            let secret = sealing::open(key, &user_id, &sealed)?;
            match totp::matching_step(&secret, submitted, now.unix_timestamp()) {
                Some(step) => (
                    SecondFactorUse::Totp {
                        sealed_secret: sealed,
                        step,
                    },
                    None,
                ),
                None => return wrong(deps, attempt, now).await,
            }
        }
        SecondFactorStrategy::BackupCode => match backup::normalize(submitted) {
            Some(code) => (
                SecondFactorUse::BackupCode {
                    hash: backup::hash(key, &user_id, &code),
                },
                None,
            ),
            None => return wrong(deps, attempt, now).await,
        },
        SecondFactorStrategy::PhoneOtp => {
            let pending = attempt
                .codes
                .code
                .clone()
                .filter(|c| c.channel == Channel::Sms)
                .ok_or_else(|| {
                    AuthError::invalid(
                        "strategy",
                        "send the SMS code first: POST /auth/prepare-verification with strategy phone_otp",
                    )
                })?;
            if now >= pending.expires_at {
                return Err(AuthError::CodeExpired);
            }
            if !codes::matches(key, &attempt.id, Channel::Sms, submitted, &pending.hash) {
                return wrong(deps, attempt, now).await;
            }
            let phone = challenge
                .phone
                .clone()
                .ok_or_else(|| AuthError::internal("a phone_otp strategy without a phone"))?;
            (SecondFactorUse::Phone { phone }, Some(pending.hash))
        }
    };
    // A right code still waits while the account's daily budget is full: the completing write
    // checks the counter (no extra round trip).
    let gate = AccountBudget::new(deps, Account::User(&user_id)).gate(now);
    let spent = spend.clone();
    let signouts_version = challenge.signouts_version;
    let check = AttemptCheck::SecondFactor {
        attempt_id: attempt.id.clone(),
        user_id: user_id.clone(),
        max_wrong_codes: WRONG_CODES_PER_ATTEMPT,
        code_hash,
        spend,
        gate: Some(gate.clone()),
        signouts_version: challenge.signouts_version,
    };
    let result = if attempt.remaining_steps.len() > 1 {
        advance(deps, caller, attempt, check).await
    } else {
        // A code sign-in proved its contact (a password sign-in's email code too): marked
        // verified and claimed at the grant, as without a second factor.
        let proven = proven_contact(attempt);
        let verified_hash = challenge.verified_hash.clone();
        grant::sign_in_after_second_factor(
            deps,
            caller,
            &user_id,
            check,
            proven,
            verified_hash,
            now,
        )
        .await
    };
    match result {
        // The factor was spent meanwhile (a TOTP step or backup code used by a parallel request)
        // or the user is blocked; or the attempt moved on.
        Err(AuthError::UserBlocked) | Err(AuthError::AttemptCompleted) => {
            if deps.store.count(&gate.key, gate.window_ends).await? >= gate.max {
                return Err(AuthError::RateLimited {
                    retry_after_secs: seconds_until(now, gate.window_ends),
                });
            }
            match deps.store.get_user(&user_id).await? {
                Some(u) if u.blocked => Err(AuthError::UserBlocked),
                None => Err(AuthError::UserBlocked),
                // The SMS factor's phone moved (or the factor went off) since the code was sent:
                // the code proves a phone that is no longer the user's.
                // Or every signin of the user ended since (a reset's factor step).
                Some(u)
                    if (matches!(spent, SecondFactorUse::Phone { .. })
                        && !u.can_spend_second_factor(&spent))
                        || u.second_factor.signouts_version != signouts_version =>
                {
                    stale(deps, attempt).await
                }
                Some(_) => wrong(deps, attempt, now).await,
            }
        }
        // Every signin of the user ended since the attempt was opened (a reset, a password change
        // with `sign_out_others`, an admin sign-out): the first factor no longer stands.
        Err(AuthError::SecondFactorChanged) => stale(deps, attempt).await,
        other => other,
    }
}

/// The attempt's first factor no longer stands: it is killed (a right code and a wrong one then
/// answer alike, so its codes tell nothing), and the caller signs in again.
async fn stale(deps: &Deps, attempt: &SigninAttempt) -> Result<(), AuthError> {
    let key = AttemptKey {
        session_id: &attempt.session_id,
        attempt_id: &attempt.id,
        kind: AttemptKind::Signin,
    };
    deps.store
        .kill_attempt(key, WRONG_CODES_PER_ATTEMPT)
        .await?;
    Err(AuthError::Unauthenticated)
}

/// The contact a sign-in's code step proved before its second factor, if any: a code sign-in's
/// destination, or the email a password sign-in had to confirm by code (not a reset's).
fn proven_contact(attempt: &SigninAttempt) -> Option<(Channel, Claim)> {
    let channel = match attempt.method {
        SigninMethod::Password => Some(Channel::Email),
        m if m.is_reset() => None,
        m => m.code_channel(),
    };
    channel
        .zip(attempt.destination.as_deref())
        .map(|(channel, to)| (channel, Claim::for_contact(channel, to)))
}

/// A reset's second factor: the factor is spent and the attempt waits at `reset_password`.
async fn advance(
    deps: &Deps,
    caller: &mut Caller,
    attempt: &SigninAttempt,
    check: AttemptCheck,
) -> Result<(), AuthError> {
    let mut advanced = attempt.clone();
    advanced.advance();
    let write = SigninAdvance {
        session_id: attempt.session_id.clone(),
        check,
        remaining_steps: advanced.remaining_steps.clone(),
        second_factor: None,
        user: None,
    };
    if deps.store.advance_signin(&write).await? == Written::Conflict {
        return Err(AuthError::AttemptCompleted);
    }
    if let Some(a) = caller
        .session
        .as_mut()
        .and_then(|s| s.signin_attempts.iter_mut().find(|a| a.id == attempt.id))
    {
        a.advance();
    }
    Ok(())
}

/// A wrong second-factor code (or one spent already): counted against the attempt, which dies
/// at `WRONG_CODES_PER_ATTEMPT`.
async fn wrong(deps: &Deps, attempt: &SigninAttempt, now: Timestamp) -> Result<(), AuthError> {
    let key = AttemptKey {
        session_id: &attempt.session_id,
        attempt_id: &attempt.id,
        kind: AttemptKind::Signin,
    };
    let dead = || AuthError::TooManyAttempts {
        retry_after_secs: seconds_until(now, attempt.expires_at),
    };
    // The account's daily guessing budget is charged too, alongside the attempt's count (no
    // extra round trip); once full, the answer is its 429.
    let charged = async {
        match attempt.user_id.as_deref() {
            Some(user_id) => crate::domain::charge_account_failure(deps, user_id).await,
            None => Ok(()),
        }
    };
    let (recorded, charged) = tokio::join!(
        deps.store.record_wrong_code(key, WRONG_CODES_PER_ATTEMPT),
        charged
    );
    charged?;
    match recorded? {
        WrongCode::Counted(n) if n >= WRONG_CODES_PER_ATTEMPT => Err(dead()),
        WrongCode::Counted(_) => Err(AuthError::InvalidCode),
        // Completed by a parallel request, or killed: read it again to tell which.
        WrongCode::Refused => {
            let fresh = deps.store.load_session(&attempt.session_id).await?;
            let completed = fresh
                .as_ref()
                .and_then(|s| s.signin_attempt(&attempt.id))
                .is_none_or(|a| a.completed);
            Err(if completed {
                AuthError::AttemptCompleted
            } else {
                dead()
            })
        }
    }
}

/// An OAuth callback for a user with a second factor: the `sso` attempt itself waits at
/// `verify_second_factor` (its callback cannot run twice: the write requires it still open).
/// A provider identity that would be linked is not linked then; a later sign-in links it.
pub(crate) async fn await_after_sso(
    deps: &Deps,
    caller: &mut Caller,
    attempt: &SigninAttempt,
    user_id: &str,
    challenge: SecondFactorChallenge,
) -> Result<(), AuthError> {
    let mut waiting = attempt.clone();
    waiting.await_second_factor(user_id, &challenge);
    let write = SigninAdvance {
        session_id: attempt.session_id.clone(),
        check: AttemptCheck::Sso {
            attempt_id: attempt.id.clone(),
        },
        remaining_steps: waiting.remaining_steps.clone(),
        second_factor: Some((user_id.to_string(), challenge.clone())),
        user: None,
    };
    if deps.store.advance_signin(&write).await? == Written::Conflict {
        return Err(AuthError::AttemptCompleted);
    }
    if let Some(a) = caller
        .session
        .as_mut()
        .and_then(|s| s.signin_attempts.iter_mut().find(|a| a.id == attempt.id))
    {
        a.await_second_factor(user_id, &challenge);
    }
    Ok(())
}
