//! The last step of a contact change: the right code for the new email or phone number moves
//! the claim in one store transaction (`AttemptStore::move_contact`), and a changed email is
//! told to the old address.

use super::caller::Caller;
use super::error::AuthError;
use super::model::{AttemptKind, Channel, Claim, SigninAttempt, Timestamp, User};
use super::notices::{self, Notice};
use crate::domain::Deps;
use crate::domain::ports::store::{AttemptCheck, Completion, ContactMove};

/// A right code for a contact change's attempt. Only the signin that asked may finish it, and
/// only while it is the caller's active one.
pub(crate) async fn complete(
    deps: &Deps,
    caller: &mut Caller,
    attempt: &SigninAttempt,
    check: AttemptCheck,
    now: Timestamp,
) -> Result<User, AuthError> {
    let active = caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .filter(|s| Some(&s.id) == attempt.changes_contact.as_ref())
        .filter(|s| Some(&s.user_id) == attempt.user_id.as_ref())
        .cloned()
        .ok_or(AuthError::Unauthenticated)?;
    let channel = attempt
        .codes
        .code
        .as_ref()
        .map(|c| c.channel)
        .ok_or(AuthError::InvalidCode)?;
    let to = attempt
        .destination
        .clone()
        .ok_or_else(|| AuthError::internal("a contact change without its new contact"))?;
    let mut user = deps
        .store
        .get_user(&active.user_id)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    let from = match channel {
        Channel::Email => user.email.clone(),
        Channel::Sms => user.phone_number.clone(),
    };
    let change = ContactMove {
        session_id: attempt.session_id.clone(),
        check,
        user_id: user.id.clone(),
        channel,
        from: from.clone(),
        to: to.clone(),
        at: now,
    };
    match deps.store.move_contact(&change).await? {
        Completion::Done => {}
        Completion::Taken(claims) => return Err(AuthError::taken(&claims)),
        Completion::AttemptChanged => return Err(AuthError::AttemptCompleted),
        // The user changed that contact meanwhile (or is gone): this change did not happen.
        _ => {
            return Err(AuthError::invalid(
                Claim::for_contact(channel, &to).field(),
                "changed meanwhile: ask for a new code",
            ));
        }
    }
    if let Some(state) = caller.session.as_mut() {
        state.complete_attempt(AttemptKind::Signin, &attempt.id, None);
    }
    user.move_contact(channel, &to, now);
    if channel == Channel::Email && from.as_deref() != Some(to.as_str()) {
        notices::send(deps, Notice::EmailChanged, from.as_deref(), &user.id).await;
    }
    // The SMS second factor follows the verified phone: moving it is a two-factor change too.
    if channel == Channel::Sms
        && user.second_factor.phone_second_factor
        && from.as_deref() != Some(to.as_str())
    {
        let to = user.email.clone();
        notices::send(
            deps,
            Notice::SecondFactorPhoneChanged,
            to.as_deref(),
            &user.id,
        )
        .await;
    }
    Ok(user)
}
