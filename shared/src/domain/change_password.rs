//! `POST /me/password {current_password, new_password, sign_out_others}`: a signed-in user sets a
//! new password. A user who has one proves it (a wrong one counts toward the same per-identifier
//! failure limit as sign-in); a user without one (code or OAuth sign-ups) needs a recent
//! verification instead; a user with a second factor on needs both (the password and a recent
//! verification, which for them proves a second factor). A "password changed" notice goes to the
//! account's email.

use super::caller::Caller;
use super::devices;
use super::error::{AuthError, FieldError};
use super::limits::{Account, AccountBudget, Limit};
use super::model::{Claim, User};
use super::notices::{self, Notice};
use super::password;
use super::reverify;
use crate::domain::Deps;
use crate::domain::ports::store::{PasswordWrite, Written};

/// No `Debug`: it holds passwords.
#[derive(Default)]
pub struct PasswordChange {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
    pub sign_out_others: bool,
}

pub async fn change(
    deps: &Deps,
    caller: &mut Caller,
    input: PasswordChange,
) -> Result<User, AuthError> {
    let user_id = caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .map(|s| s.user_id.clone())
        .ok_or(AuthError::Unauthenticated)?;
    let Some(new) = input.new_password.filter(|p| !p.is_empty()) else {
        return Err(AuthError::Invalid(vec![FieldError::required(
            "new_password",
        )]));
    };
    let now = deps.clock.now();
    let store = deps.store.as_ref();
    // The signins to end are read alongside the user (the end still requires that no grant
    // landed since this read, so it stays exact).
    let to_end = async {
        match input.sign_out_others {
            true => store.read_signins_of_user(&user_id).await.map(Some),
            false => Ok(None),
        }
    };
    let (user, to_end) = tokio::join!(store.get_user(&user_id), to_end);
    let mut user = user?.ok_or(AuthError::Unauthenticated)?;
    let to_end = to_end?;
    // A user with a second factor on changes the password only after proving a factor recently
    // (the sign-in's, or `POST /auth/reverify` with one): the current password alone is one
    // factor. Checked before the password, so without it nothing tells whether that was right.
    if user.two_factor_enabled {
        reverify::require_recent(deps, caller)?;
    }
    let normalized = password::normalize(&new);
    let context: Vec<&str> = [
        &user.email,
        &user.username,
        &user.first_name,
        &user.last_name,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect();
    password::check_policy(&normalized, &context).map_err(|mut e| {
        e.field = Some("new_password".into());
        AuthError::Invalid(vec![e])
    })?;

    let old = user.password_hash.clone();
    let limits = match &old {
        Some(hash) => {
            let typed = input.current_password.filter(|p| !p.is_empty());
            let Some(typed) = typed else {
                return Err(AuthError::Invalid(vec![FieldError::required(
                    "current_password",
                )]));
            };
            Some(prove_current(deps, &user, typed, hash.clone()).await?)
        }
        // No password to prove: a recent verification stands in for it.
        None => {
            reverify::require_recent(deps, caller)?;
            None
        }
    };

    let new_hash = password::hash_blocking(normalized).await?;
    // The reservations go back at once (one round trip, however many identifiers).
    let released = async {
        let all = futures_util::future::join_all(
            limits
                .iter()
                .flatten()
                .map(|limit| limit.release(store, now)),
        )
        .await;
        all.into_iter().collect::<Result<(), AuthError>>()
    };
    // The user's other signins (when asked) end in the transaction that sets the password: no
    // failure can leave the new password in place with them alive.
    let keep = caller
        .session
        .as_ref()
        .and_then(|s| s.session.active_signin_id.clone());
    let change = PasswordWrite {
        user_id: user_id.clone(),
        expected: old,
        new_hash: new_hash.clone(),
        now,
        end_signins: to_end.map(|read| (read, keep.clone())),
    };
    let (written, released) = tokio::join!(store.change_password(&change), released);
    released?;
    if written? == Written::Conflict {
        // Another change won in between (or the user is gone): this one did not happen. The user
        // still asked to end their other signins, which holds either way.
        if input.sign_out_others {
            devices::end_other_signins(deps, &user_id, keep.as_deref()).await?;
        }
        return Err(AuthError::invalid(
            "current_password",
            "no longer matches: the password changed meanwhile",
        ));
    }
    user.password_hash = Some(new_hash);
    user.updated_at = now;
    notices::send(
        deps,
        Notice::PasswordChanged,
        user.email.as_deref(),
        &user.id,
    )
    .await;
    Ok(user)
}

/// The per-identifier failure counters a password try for `user` charges: one per identifier
/// they can sign in with, the same keys sign-in uses.
fn failure_limits(user: &User) -> Vec<Limit> {
    let claims = Claim::for_user(user);
    if claims.is_empty() {
        return vec![Limit::password_failures(&format!("USER#{}", user.id))];
    }
    claims
        .iter()
        .map(|c| Limit::password_failures(&c.key()))
        .collect()
}

/// Checks the typed current password, counting the try against every identifier's failure limit
/// and the account's budget (reserved first, so parallel tries get no more than sequential ones). Right: the reservations
/// are returned to be released; wrong: they stay counted.
async fn prove_current(
    deps: &Deps,
    user: &User,
    typed: String,
    hash: String,
) -> Result<Vec<Limit>, AuthError> {
    let store = deps.store.as_ref();
    let now = deps.clock.now();
    let mut limits = failure_limits(user);
    // The account's daily guessing budget too, shared with sign-in and every code.
    let budget = AccountBudget::new(deps, Account::User(&user.id));
    let (checked, budgeted) = tokio::join!(
        futures_util::future::join_all(limits.iter().map(|l| l.check(store, now))),
        budget.reserve(deps, now)
    );
    if let Some(refused) = checked.iter().position(Result::is_err) {
        for (limit, result) in limits.iter().zip(&checked) {
            if result.is_ok() {
                limit.release(store, now).await?;
            }
        }
        if budgeted.is_ok() {
            budget.release(deps, now).await?;
        }
        return Err(checked
            .into_iter()
            .nth(refused)
            .and_then(Result::err)
            .expect("found above"));
    }
    if let Err(e) = budgeted {
        for limit in &limits {
            limit.release(store, now).await?;
        }
        return Err(e);
    }
    limits.push(budget.limit().clone());
    let floor = deps.config.password_failure_floor;
    if !password::verify_blocking(typed, Some(hash), floor).await {
        store.record_failed_login(&user.id).await?;
        return Err(AuthError::Invalid(vec![FieldError::invalid(
            "current_password",
            "is not correct",
        )]));
    }
    Ok(limits)
}
