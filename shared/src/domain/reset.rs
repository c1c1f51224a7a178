//! `POST /auth/reset-password`: the last step of a password reset. `POST /auth/signin` with
//! `reset_password_email_code` or `reset_password_phone_code` opened a sign-in attempt whose code
//! (`POST /auth/attempt-verification`) moved it to `reset_password`; this sets the new password,
//! signs the user in and ends every other signin of theirs, on every device.

use super::caller::Caller;
use super::error::{AuthError, FieldError};
use super::grant;
use super::model::{SigninAttempt, Step};
use super::notices::{self, Notice};
use super::password;
use crate::domain::Deps;
use crate::domain::ports::store::{AttemptCheck, UserHolds};

/// No `Debug`: it holds the password.
pub struct ResetInput {
    pub signin_attempt_id: Option<String>,
    pub password: Option<String>,
}

pub async fn reset_password(
    deps: &Deps,
    caller: &mut Caller,
    input: ResetInput,
) -> Result<(), AuthError> {
    let id = input.signin_attempt_id.filter(|i| !i.is_empty());
    let typed = input.password.filter(|p| !p.is_empty());
    let mut errors = Vec::new();
    if id.is_none() {
        errors.push(FieldError::required("signin_attempt_id"));
    }
    if typed.is_none() {
        errors.push(FieldError::required("password"));
    }
    let (Some(id), Some(typed)) = (id, typed) else {
        return Err(AuthError::Invalid(errors));
    };
    let attempt = waiting_attempt(caller, &id)?.clone();
    // Only a right code moves an attempt to `reset_password`, and an unknown identifier's code is
    // never right: a waiting attempt always names its user.
    let user_id = attempt
        .user_id
        .clone()
        .ok_or_else(|| AuthError::internal("a reset attempt past its code without a user"))?;
    let context = attempt
        .reset
        .clone()
        .ok_or_else(|| AuthError::internal("a reset attempt past its code without its context"))?;
    let now = deps.clock.now();
    let normalized = password::normalize(&typed);
    let words: Vec<&str> = context
        .password_context
        .iter()
        .map(String::as_str)
        .collect();
    password::check_policy(&normalized, &words).map_err(|e| AuthError::Invalid(vec![e]))?;
    // The user's signins are read while the new password hashes.
    let (hash, signins) = tokio::join!(
        password::hash_blocking(normalized),
        deps.store.read_signins_of_user(&user_id)
    );
    let (hash, signins) = (hash?, signins?);

    // Only while the user is as the reset found it: no factor turned on since a reset that met
    // none, no end of every signin since it was opened (`Completion::SecondFactorStale`).
    let check = AttemptCheck::AtStep {
        attempt_id: attempt.id.clone(),
        step: Step::ResetPassword,
        user: Some(UserHolds::of_reset(
            &context,
            &user_id,
            attempt.method.code_channel(),
            attempt.destination.as_deref(),
        )),
    };
    // Every other signin of the user ends, on every device, in the transaction that sets the new
    // password: whoever knew the old password (or holds a stolen cookie) is out, and no failure
    // can leave the new password in place with them alive. Exact under concurrency.
    match grant::sign_in_with_new_password(deps, caller, &user_id, check, hash, signins, now).await
    {
        // A parallel reset of this attempt won (its end of every signin is what changed): this
        // one lost the attempt, not the user's state.
        Err(AuthError::SecondFactorChanged) => {
            let fresh = deps.store.load_session(&attempt.session_id).await?;
            let completed = fresh
                .as_ref()
                .and_then(|s| s.signin_attempt(&attempt.id))
                .is_none_or(|a| a.completed);
            return Err(if completed {
                AuthError::AttemptCompleted
            } else {
                AuthError::SecondFactorChanged
            });
        }
        other => other?,
    }
    notices::send(
        deps,
        Notice::PasswordReset,
        context.notice_to.as_deref(),
        &user_id,
    )
    .await;
    Ok(())
}

/// The caller's sign-in attempt `id`, open and waiting for its new password.
fn waiting_attempt<'a>(caller: &'a Caller, id: &str) -> Result<&'a SigninAttempt, AuthError> {
    let a = caller
        .session
        .as_ref()
        .and_then(|s| s.signin_attempt(id))
        .ok_or(AuthError::AttemptNotFound)?;
    if a.completed {
        return Err(AuthError::AttemptCompleted);
    }
    if !a.method.is_reset() || a.remaining_steps.first() != Some(&Step::ResetPassword) {
        return Err(AuthError::invalid(
            "signin_attempt_id",
            "is not waiting for a new password; verify its code first",
        ));
    }
    Ok(a)
}
