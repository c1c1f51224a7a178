//! `POST /auth/signin`: by password, or by a code sent to the account's email or phone, or a
//! password reset (a code, then `POST /auth/reset-password`, see `reset`).
//!
//! Unknown identifiers are indistinguishable from known ones: a password is checked against a
//! dummy hash of the same cost and fails alike, and every failed check (an imported hash of any
//! cost included) answers no sooner than the failure floor; an OTP sign-in opens the same attempt
//! and simply sends nothing.

use super::attempts::{self, Opening};
use super::caller::Caller;
use super::codes::{self, CODE_TTL};
use super::delivery;
use super::error::{AuthError, FieldError};
use super::grant;
use super::identifier;
use super::limits::{ATTEMPT_TTL, Account, AccountBudget, Limit, NO_SUCH_USER};
use super::model::{
    Channel, Claim, CodeState, PendingCode, ResetContext, SigninAttempt, SigninMethod, Step,
    Timestamp, User,
};
use super::password;
use super::second_factor::challenge;
use super::sms;
use crate::domain::Deps;
use crate::domain::ports::store::{AttemptKey, AttemptKind};
use crate::ids::{new_id, prefix};

/// No `Debug`: it holds the password.
#[derive(Default)]
pub struct SigninInput {
    pub identifier: Option<String>,
    pub password: Option<String>,
    pub strategy: Option<SigninMethod>,
}

pub async fn start(deps: &Deps, caller: &mut Caller, input: SigninInput) -> Result<(), AuthError> {
    let strategy = input.strategy.unwrap_or(SigninMethod::Password);
    if strategy == SigninMethod::Passkey {
        return super::passkeys::signin::start(deps, caller, input.identifier, input.password)
            .await;
    }
    let typed = input.identifier.filter(|i| !i.trim().is_empty());
    let password = input.password.filter(|p| !p.is_empty());
    let mut errors = Vec::new();
    if typed.is_none() {
        errors.push(FieldError::required("identifier"));
    }
    if strategy == SigninMethod::Password && password.is_none() {
        errors.push(FieldError::required("password"));
    }
    if strategy == SigninMethod::Sso {
        errors.push(FieldError::invalid(
            "strategy",
            "must be password, email_otp, phone_otp, reset_password_email_code or \
             reset_password_phone_code",
        ));
    }
    let claim = match typed.as_deref().map(identifier::parse) {
        Some(Err(e)) => {
            errors.push(e);
            None
        }
        Some(Ok(c)) => Some(c),
        None => None,
    };
    // A phone this deployment does not text is refused before any lookup: known or not alike
    // (for a sign-in code and a reset code alike).
    if let (
        SigninMethod::PhoneOtp | SigninMethod::ResetPasswordPhoneCode,
        Some(Claim::Phone(phone)),
    ) = (strategy, &claim)
        && let Err(e) = sms::check_allowed(&deps.config, phone, "identifier")
    {
        errors.push(e);
    }
    let (Some(typed), Some(claim), true) = (typed, claim, errors.is_empty()) else {
        return Err(AuthError::Invalid(errors));
    };

    let now = deps.clock.now();
    match strategy {
        SigninMethod::Password => {
            let typed_password = password.expect("checked above");
            with_password(deps, caller, &typed, &claim, typed_password, now).await
        }
        SigninMethod::Sso => unreachable!("refused above"),
        method => with_code(deps, caller, &typed, &claim, method, now).await,
    }
}

async fn with_password(
    deps: &Deps,
    caller: &mut Caller,
    typed: &str,
    claim: &Claim,
    // As typed: verification normalizes it (and tries it raw against imported hashes).
    password: String,
    now: Timestamp,
) -> Result<(), AuthError> {
    let store = deps.store.as_ref();
    let ip_limit = Limit::signins_per_ip(&caller.ip, deps.config.limits.signins_per_ip_per_hour);
    let failures = Limit::password_failures(&claim.key());
    let (ip_checked, reserved, owner) = tokio::join!(
        ip_limit.check(store, now),
        failures.check(store, now),
        store.claim_owner(claim),
    );
    if let Err(e) = ip_checked {
        if reserved.is_ok() {
            failures.release(store, now).await?;
        }
        return Err(e);
    }
    reserved?;
    // An unknown identifier makes the same reads and writes as a known one (on an id no user
    // has, and a guessing budget of its own), so neither the answer nor its timing tells them
    // apart.
    let owner = match owner {
        Ok(owner) => owner,
        Err(e) => {
            failures.release(store, now).await?;
            return Err(e.into());
        }
    };
    let user_id = owner.as_deref().unwrap_or(NO_SUCH_USER);
    let claim_key = claim.key();
    let account = match &owner {
        Some(id) => Account::User(id),
        None => Account::Unknown(&claim_key),
    };
    let budget = AccountBudget::new(deps, account);
    let (user, budgeted) = tokio::join!(store.get_user(user_id), budget.reserve(deps, now));
    if let Err(e) = budgeted {
        failures.release(store, now).await?;
        return Err(e);
    }
    let user = user?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let floor = deps.config.password_failure_floor;
    if !password::verify_blocking(password.clone(), hash, floor).await {
        store.record_failed_login(user_id).await?;
        return Err(AuthError::InvalidCredentials);
    }

    // The password was right: the reserved tries were not failures.
    let user = user.expect("only a stored hash verifies");
    let verified_hash = user
        .password_hash
        .clone()
        .expect("only a stored hash verifies");
    let rehash = imported_hash_rewrite(&user, password::normalize(&password)).await;
    let release = async {
        let (a, b) = tokio::join!(failures.release(store, now), budget.release(deps, now));
        a.and(b)
    };
    // No grant here (a blocked user, an email that needs its code, a second factor to come):
    // an imported hash's rewrite is stored on its own.
    let granting = !user.blocked
        && (user.email.is_none() || user.email_verified)
        && challenge::for_user(&user).is_none();
    if !granting && let Some(new) = &rehash {
        store_rewrite(deps, &user.id, &verified_hash, new).await;
    }
    if user.blocked {
        release.await?;
        return Err(AuthError::UserBlocked);
    }
    if let Some(email) = user.email.as_ref().filter(|_| !user.email_verified) {
        release.await?;
        // The password was right, so this path reveals nothing: cap the address itself.
        let cap =
            Limit::sends_per_destination(email, deps.config.limits.sends_per_destination_per_hour);
        let request = CodeRequest {
            typed,
            method: SigninMethod::Password,
            channel: Channel::Email,
            cap,
            reverifies: None,
            changes_contact: None,
            verified_hash: Some(verified_hash.clone()),
        };
        return open_code_attempt(deps, caller, request, Some(&user), now).await;
    }
    // A second factor on: the attempt waits at `verify_second_factor`; nothing is granted yet.
    if let Some(challenge) = challenge::for_user(&user) {
        let (released, opened) = tokio::join!(
            release,
            challenge::open_after_password(
                deps,
                caller,
                &user,
                typed,
                challenge,
                verified_hash,
                now
            )
        );
        released?;
        return opened;
    }
    // Granted only while the hash is still the one just verified (a reset or password change
    // committed meanwhile wins), with the rewrite of an imported hash in the same transaction.
    let granted = async {
        let hash = verified_hash.clone();
        match grant::sign_in_with_password(deps, caller, &user.id, hash, rehash, now).await {
            Err(AuthError::InvalidCredentials) => {
                recheck(deps, caller, &user.id, password, now).await
            }
            // A second factor was turned on since the user was read: it is asked for now.
            Err(AuthError::SecondFactorChanged) => {
                ask_second_factor(deps, caller, &user.id, typed, verified_hash, now).await
            }
            other => other,
        }
    };
    let (released, granted) = tokio::join!(release, granted);
    released?;
    granted
}

/// A password sign-in refused because the user turned a second factor on after being read: the
/// attempt now waits at `verify_second_factor`, as if the factor had been on from the start.
async fn ask_second_factor(
    deps: &Deps,
    caller: &mut Caller,
    user_id: &str,
    typed: &str,
    verified_hash: String,
    now: Timestamp,
) -> Result<(), AuthError> {
    let user = deps
        .store
        .get_user(user_id)
        .await?
        .filter(|u| u.password_hash.as_deref() == Some(verified_hash.as_str()))
        .ok_or(AuthError::InvalidCredentials)?;
    if user.blocked {
        return Err(AuthError::UserBlocked);
    }
    let challenge = challenge::for_user(&user).ok_or(AuthError::SecondFactorChanged)?;
    challenge::open_after_password(deps, caller, &user, typed, challenge, verified_hash, now).await
}

/// The user's hash changed between its check and the grant. A reset or a change to another
/// password makes the typed one wrong; but a parallel sign-in's rewrite of an imported hash (or
/// a reset to this very password) keeps it right, and the user's own sign-in must not fail for
/// it: checked once more against the hash now stored, and granted under that one.
async fn recheck(
    deps: &Deps,
    caller: &mut Caller,
    user_id: &str,
    password: String,
    now: Timestamp,
) -> Result<(), AuthError> {
    let hash = deps
        .store
        .get_user(user_id)
        .await?
        .and_then(|u| u.password_hash);
    let floor = deps.config.password_failure_floor;
    match hash {
        Some(hash) if password::verify_blocking(password, Some(hash.clone()), floor).await => {
            grant::sign_in_with_password(deps, caller, user_id, hash, None, now).await
        }
        _ => Err(AuthError::InvalidCredentials),
    }
}

/// An imported hash (bcrypt, PBKDF2, older argon2) that just verified gets an argon2id rewrite,
/// stored conditionally on the hash being unchanged (with the grant, or by `store_rewrite` when
/// there is none). A failure here costs the user nothing: it is logged and retried at the next
/// sign-in.
async fn imported_hash_rewrite(user: &User, password: String) -> Option<String> {
    user.password_hash
        .as_deref()
        .filter(|h| password::legacy::needs_upgrade(h))?;
    match password::hash_blocking(password).await {
        Ok(new) => Some(new),
        Err(e) => {
            tracing::warn!(user_id = %user.id, error = %e, "rehash failed");
            None
        }
    }
}

/// Stores an imported hash's rewrite outside a grant (a blocked user, or one whose email still
/// needs its code), provided the hash is still `old`.
async fn store_rewrite(deps: &Deps, user_id: &str, old: &str, new: &str) {
    match deps.store.replace_password_hash(user_id, old, new).await {
        Ok(written) => {
            tracing::info!(user_id = %user_id, ?written, "imported password hash upgraded")
        }
        Err(e) => tracing::warn!(user_id = %user_id, error = %e, "storing the rehash failed"),
    }
}

async fn with_code(
    deps: &Deps,
    caller: &mut Caller,
    typed: &str,
    claim: &Claim,
    method: SigninMethod,
    now: Timestamp,
) -> Result<(), AuthError> {
    let channel = method
        .code_channel()
        .ok_or_else(|| AuthError::internal("a code sign-in without a channel"))?;
    let store = deps.store.as_ref();
    let ip_limit = Limit::signins_per_ip(&caller.ip, deps.config.limits.signins_per_ip_per_hour);
    let (ip_checked, owner) = tokio::join!(ip_limit.check(store, now), store.claim_owner(claim));
    ip_checked?;
    // An unknown identifier reads a user too (an id no user has): the same calls as a known one.
    let owner = owner?;
    let user = store
        .get_user(owner.as_deref().unwrap_or(NO_SUCH_USER))
        .await?;
    // Charged per identifier, known or not, so a full cap (429) says nothing about existence.
    let cap = Limit::codes_per_identifier(
        &claim.key(),
        deps.config.limits.sends_per_destination_per_hour,
    );
    let request = CodeRequest {
        typed,
        method,
        channel,
        cap,
        reverifies: None,
        changes_contact: None,
        verified_hash: None,
    };
    open_code_attempt(deps, caller, request, user.as_ref(), now).await
}

/// Where a sign-in code for `user` may go: the email on file, or a verified phone number only.
pub(crate) fn destination(user: &User, channel: Channel) -> Option<&str> {
    match channel {
        Channel::Email => user.email.as_deref(),
        Channel::Sms => user.phone_number.as_deref().filter(|_| user.phone_verified),
    }
}

/// A sign-in by code: what the user typed, how, where the code goes, and the cap it charges;
/// for a reverification, the signin it refreshes.
pub(crate) struct CodeRequest<'a> {
    pub typed: &'a str,
    pub method: SigninMethod,
    pub channel: Channel,
    pub cap: Limit,
    pub reverifies: Option<String>,
    /// A contact change: the signin asking; the code goes to `typed` (the new contact).
    pub changes_contact: Option<String>,
    /// A password sign-in whose email needs its code: the hash the password verified against.
    /// A second factor after the code grants only while it is still the user's.
    pub verified_hash: Option<String>,
}

/// Opens a sign-in attempt at the code step for `channel` and sends the code, or, when there is no
/// user or nowhere to send, opens the same attempt with a code nobody receives.
pub(crate) async fn open_code_attempt(
    deps: &Deps,
    caller: &mut Caller,
    request: CodeRequest<'_>,
    user: Option<&User>,
    now: Timestamp,
) -> Result<(), AuthError> {
    let CodeRequest {
        typed,
        method,
        channel,
        cap,
        reverifies,
        changes_contact,
        verified_hash,
    } = request;
    let to = match &changes_contact {
        Some(_) => user.map(|_| typed.to_string()),
        None => user
            .and_then(|u| destination(u, channel))
            .map(str::to_string),
    };
    let attempt_id = new_id(prefix::SIGNIN_ATTEMPT);
    let code = codes::generate();
    let code_hash = codes::hash(codes::key(&deps.config)?, &attempt_id, channel, &code);
    let step = match channel {
        Channel::Email => Step::VerifyEmailOtp,
        Channel::Sms => Step::VerifyPhoneOtp,
    };
    // A user with a second factor meets `verify_second_factor` once the code is right (shown
    // only when it is the current step, so the attempt tells nobody whether the account has one);
    // a reverification or a contact change proves a factor of a signed-in user instead. A reset
    // waits for the new password once the code is right; an unknown identifier's attempt lists
    // the same steps (its code is never right).
    // A code to the phone of the SMS factor is that factor already: the phone alone must not
    // pass both, so `phone_otp` is not offered after it.
    let challenge = user
        .filter(|_| to.is_some() && reverifies.is_none() && changes_contact.is_none())
        .and_then(challenge::for_user)
        .map(|c| match channel {
            Channel::Sms => c.without_phone(),
            Channel::Email => c,
        })
        .map(|mut c| {
            c.verified_hash = verified_hash;
            c
        });
    let mut steps = vec![step];
    if challenge.is_some() {
        steps.push(Step::VerifySecondFactor);
    }
    if method.is_reset() {
        steps.push(Step::ResetPassword);
    }
    let attempt = SigninAttempt {
        id: attempt_id.clone(),
        session_id: String::new(),
        method,
        identifier: typed.trim().to_string(),
        user_id: to.as_ref().and(user).map(|u| u.id.clone()),
        destination: to.clone(),
        remaining_steps: steps,
        missing_fields: Vec::new(),
        sso: None,
        reset: user
            .filter(|_| method.is_reset() && to.is_some())
            .map(ResetContext::of),
        reverifies,
        changes_contact,
        second_factor: challenge,
        passkey: None,
        codes: CodeState {
            code: Some(PendingCode {
                channel,
                hash: code_hash.clone(),
                expires_at: now + CODE_TTL,
                sent_at: Some(now),
                delivery_failed: false,
            }),
            sends: 1,
            wrong_codes: 0,
        },
        completed: false,
        created_at: now,
        expires_at: now + ATTEMPT_TTL,
    };
    let session_id = attempts::open(
        deps,
        caller,
        Opening::Signin(Box::new(attempt)),
        Some(&cap),
        now,
    )
    .await?;
    // A number outside SMS_ALLOWED_COUNTRIES, or under a full prefix, gets nothing, and the answer
    // is the one an unknown identifier gets. The prefix is charged only after the identifier's and
    // the session's caps passed, so one client cannot spend a country's budget.
    let to = match to {
        Some(to) if channel == Channel::Sms => sms::quietly(deps, &to, now).await?.then_some(to),
        None if channel == Channel::Sms => {
            sms::as_if_quietly(deps, typed.trim(), now).await?;
            None
        }
        to => to,
    };
    let key = AttemptKey {
        session_id: &session_id,
        attempt_id: &attempt_id,
        kind: AttemptKind::Signin,
    };
    // With the code queue, one item either way (a decoy when `to` is None), and no wait for
    // SES or SNS: the answer's content and timing do not depend on the account.
    delivery::signin_code(deps, caller, key, channel, to.as_deref(), &code, &code_hash).await
}
