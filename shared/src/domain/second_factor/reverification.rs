//! `POST /auth/reverify {strategy: "totp" | "backup_code", code}`: a second factor proves it is
//! the user again, at once. The code is spent (a TOTP step, a backup code) in the same write that
//! refreshes the active signin's `verified_at`, so a code reverifies once; wrong ones count like
//! a wrong password's reverification (per user, and the account's daily budget).

use super::{backup, sealing, totp};
use crate::domain::Deps;
use crate::domain::caller::Caller;
use crate::domain::codes;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::factors::{SecondFactorStrategy, SecondFactorUse};
use crate::domain::limits::{Account, AccountBudget, Limit};
use crate::domain::model::{Signin, User};
use crate::domain::ports::store::Written;
use crate::domain::reverify::{self, Strategy, mirror_verified};

/// `POST /auth/reverify`: `totp` and `backup_code` here, every other strategy by
/// `reverify::start`.
pub async fn start(
    deps: &Deps,
    caller: &mut Caller,
    strategy: Strategy,
    typed_password: Option<String>,
    code: Option<String>,
) -> Result<(), AuthError> {
    let factor = match strategy {
        Strategy::Totp => SecondFactorStrategy::Totp,
        Strategy::BackupCode => SecondFactorStrategy::BackupCode,
        _ if code.is_some() => {
            return Err(AuthError::invalid(
                "code",
                "only with the totp and backup_code strategies",
            ));
        }
        _ => return reverify::start(deps, caller, strategy, typed_password).await,
    };
    if typed_password.is_some() {
        return Err(AuthError::invalid(
            "password",
            "only with the password strategy",
        ));
    }
    let signin = caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .cloned()
        .ok_or(AuthError::Unauthenticated)?;
    with_second_factor(deps, caller, &signin, factor, code).await
}

/// Reverifies the active `signin` with `strategy` (`Totp` or `BackupCode`) and `code`.
pub(crate) async fn with_second_factor(
    deps: &Deps,
    caller: &mut Caller,
    signin: &Signin,
    strategy: SecondFactorStrategy,
    code: Option<String>,
) -> Result<(), AuthError> {
    let code = code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("code")]))?;
    let key = codes::key(&deps.config)?;
    let now = deps.clock.now();
    let store = deps.store.as_ref();
    // The user, the per-user failure limit and a guess of the account's budget, in parallel.
    let failures = Limit::password_failures(&format!("USER#{}", signin.user_id));
    let budget = AccountBudget::new(deps, Account::User(&signin.user_id));
    let (user, checked, budgeted) = tokio::join!(
        store.get_user(&signin.user_id),
        failures.check(store, now),
        budget.reserve(deps, now)
    );
    let release = || async {
        let (a, b) = tokio::join!(failures.release(store, now), budget.release(deps, now));
        a.and(b)
    };
    if checked.is_err() || budgeted.is_err() {
        if checked.is_ok() {
            failures.release(store, now).await?;
        }
        if budgeted.is_ok() {
            budget.release(deps, now).await?;
        }
        return checked.and(budgeted);
    }
    let user = match user? {
        Some(u) if !u.blocked => u,
        Some(_) => {
            release().await?;
            return Err(AuthError::UserBlocked);
        }
        None => {
            release().await?;
            return Err(AuthError::Unauthenticated);
        }
    };
    if !user.second_factor.strategies().contains(&strategy) {
        release().await?;
        return Err(AuthError::invalid(
            "strategy",
            "not one of the account's second factors",
        ));
    }
    let spend = match spend_for(key, &user, strategy, &code, now.unix_timestamp()) {
        Ok(spend) => spend,
        Err(e) => {
            release().await?;
            return Err(e);
        }
    };
    // A wrong code, or a right one spent already (a replayed TOTP step, a used backup code):
    // the reserved tries stay charged, as a wrong password's do.
    let written = match &spend {
        Some(spend) => {
            store
                .reverify_with_second_factor(signin, spend, now)
                .await?
        }
        None => Written::Conflict,
    };
    // A right code refused: blocked, or the signin ended, between the read and the write is no
    // wrong guess (the tries go back); a code spent meanwhile (a replay) is one.
    if written == Written::Conflict
        && let Some(spend) = &spend
    {
        let refused = match store.get_user(&signin.user_id).await? {
            Some(u) if u.blocked => Some(AuthError::UserBlocked),
            None => Some(AuthError::Unauthenticated),
            Some(u) if u.can_spend_second_factor(spend) => Some(AuthError::Unauthenticated),
            Some(_) => None,
        };
        if let Some(e) = refused {
            release().await?;
            return Err(e);
        }
    }
    if written == Written::Conflict {
        store.record_failed_login(&signin.user_id).await?;
        return Err(AuthError::InvalidCode);
    }
    release().await?;
    mirror_verified(caller, &signin.id, now);
    Ok(())
}

/// What the code spends if it is right (`None`: wrong).
fn spend_for(
    key: &[u8],
    user: &User,
    strategy: SecondFactorStrategy,
    code: &str,
    unix_now: i64,
) -> Result<Option<SecondFactorUse>, AuthError> {
    Ok(match strategy {
        SecondFactorStrategy::Totp => {
            let sealed = user
                .second_factor
                .totp_secret
                .clone()
                .ok_or_else(|| AuthError::internal("a totp strategy without a secret"))?;
            let secret = sealing::open(key, &user.id, &sealed)?;
            totp::matching_step(&secret, code, unix_now).map(|step| SecondFactorUse::Totp {
                sealed_secret: sealed,
                step,
            })
        }
        SecondFactorStrategy::BackupCode => {
            backup::normalize(code).map(|c| SecondFactorUse::BackupCode {
                hash: backup::hash(key, &user.id, &c),
            })
        }
        SecondFactorStrategy::PhoneOtp => {
            return Err(AuthError::internal(
                "phone_otp reverifies through a code attempt",
            ));
        }
    })
}
