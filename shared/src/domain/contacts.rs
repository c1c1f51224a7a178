//! `POST /me/email {email}` and `POST /me/phone_number {phone_number}` (reverification
//! required): a code goes to the new contact through a sign-in attempt of the caller's user,
//! so every rule of sign-in codes holds (resend cooldown and caps, per-destination sends,
//! single use, 5 wrong codes kill it, parallel-safe conditional writes). `POST /me/email/verify`
//! and `POST /me/phone_number/verify {code}` check the code of the caller's latest such
//! attempt; the right one moves the claim (`contact_move`).

use super::caller::Caller;
use super::error::AuthError;
use super::identifier;
use super::limits::Limit;
use super::model::{Channel, Claim, SigninMethod, User};
use super::reverify;
use super::signin::{self, CodeRequest};
use super::sms;
use super::validation;
use super::verification::{self, Target};
use crate::domain::Deps;

/// Sends a code to the new contact. A contact another account holds is refused at once
/// (`EMAIL_EXISTS`, `PHONE_NUMBER_EXISTS`); the move itself checks again.
pub async fn start(
    deps: &Deps,
    caller: &mut Caller,
    channel: Channel,
    value: Option<String>,
) -> Result<(), AuthError> {
    let field = field(channel);
    let signin = reverify::require_recent(deps, caller)?.clone();
    let value = value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| AuthError::Invalid(vec![super::error::FieldError::required(field)]))?;
    let normalized = match channel {
        Channel::Email => identifier::normalize_email(&value),
        Channel::Sms => validation::phone_number(&value),
    }
    .map_err(|mut e| {
        e.field = Some(field.into());
        AuthError::Invalid(vec![e])
    })?;
    if channel == Channel::Sms {
        sms::check_allowed(&deps.config, &normalized, field)
            .map_err(|e| AuthError::Invalid(vec![e]))?;
    }
    let claim = Claim::for_contact(channel, &normalized);
    let (user, owner) = tokio::join!(
        deps.store.get_user(&signin.user_id),
        deps.store.claim_owner(&claim)
    );
    let user = user?.ok_or(AuthError::Unauthenticated)?;
    if user.blocked {
        return Err(AuthError::UserBlocked);
    }
    match owner? {
        Some(owner) if owner != user.id => return Err(AuthError::taken(&[claim])),
        _ => {}
    }
    if current(&user, channel) == Some(normalized.as_str()) {
        return Err(AuthError::invalid(
            field,
            "is already the account's, verified",
        ));
    }
    let request = CodeRequest {
        typed: &normalized,
        method: match channel {
            Channel::Email => SigninMethod::EmailOtp,
            Channel::Sms => SigninMethod::PhoneOtp,
        },
        channel,
        cap: Limit::codes_per_identifier(
            &claim.key(),
            deps.config.limits.sends_per_destination_per_hour,
        ),
        reverifies: None,
        changes_contact: Some(signin.id.clone()),
        verified_hash: None,
    };
    signin::open_code_attempt(deps, caller, request, Some(&user), deps.clock.now()).await
}

/// Checks the code of the caller's latest open change of this contact; the right one moves the
/// claim and answers the changed user.
pub async fn verify(
    deps: &Deps,
    caller: &mut Caller,
    channel: Channel,
    code: Option<String>,
) -> Result<User, AuthError> {
    let signin_id = caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .map(|s| s.id.clone())
        .ok_or(AuthError::Unauthenticated)?;
    let code = code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AuthError::Invalid(vec![super::error::FieldError::required("code")]))?;
    let attempt_id = caller
        .session
        .as_ref()
        .and_then(|s| {
            s.signin_attempts
                .iter()
                .filter(|a| a.changes_contact.as_deref() == Some(signin_id.as_str()))
                .filter(|a| a.codes.code.as_ref().map(|c| c.channel) == Some(channel))
                .filter(|a| !a.completed)
                .max_by_key(|a| a.created_at)
        })
        .map(|a| a.id.clone())
        .ok_or(AuthError::AttemptNotFound)?;
    let user = verification::check(deps, caller, &Target::Signin(attempt_id), &code).await?;
    user.ok_or_else(|| AuthError::internal("a contact change answered no user"))
}

fn field(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "phone_number",
    }
}

/// The user's verified contact on `channel`.
fn current(user: &User, channel: Channel) -> Option<&str> {
    match channel {
        Channel::Email => user.email.as_deref().filter(|_| user.email_verified),
        Channel::Sms => user.phone_number.as_deref().filter(|_| user.phone_verified),
    }
}
