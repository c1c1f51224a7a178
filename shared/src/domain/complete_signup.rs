//! `POST /api/users/completeSignup` (seed 002), for existing Akana clients.
//!
//! With a `signupCode` (from an `email_link` sign-up's email): the code proves the address, the
//! request supplies the password and names, and the user is created and signed in *where the
//! code is used* (the link may be opened in another browser than the sign-up's). With
//! `signupCode=` empty: the caller's pending `sso` sign-up (an OAuth sign-in that needs
//! completion) is completed with the supplied fields, as `complete-profile` would.

use super::caller::Caller;
use super::codes;
use super::complete_profile::{self, ProfileInput};
use super::error::{AuthError, FieldError};
use super::grant;
use super::limits::{WRONG_CODES_PER_ATTEMPT, seconds_until};
use super::model::{AttemptKind, Channel, SignupAttempt, SignupMethod, Step};
use super::{identifier, password, sms, validation};
use crate::domain::Deps;
use crate::domain::ports::store::{AttemptCheck, AttemptKey, CodeProof, WrongCode};

/// Seed 002's parameters, from the query string and the form body. No `Debug`: it holds the
/// password and the signup code.
#[derive(Default)]
pub struct CompleteSignupInput {
    pub signup_code: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_address: Option<String>,
    pub signup_agreements_accepted: bool,
    pub country_code: Option<String>,
    pub phone_number: Option<String>,
}

/// How it ended: signed in (seed 002's `200` with no body), or a pending sign-up that still has
/// a code step (a phone number or email added on the third-party path).
#[derive(Debug, PartialEq, Eq)]
pub enum Completed {
    SignedIn,
    CodeStepNext,
}

pub async fn complete(
    deps: &Deps,
    caller: &mut Caller,
    input: CompleteSignupInput,
) -> Result<Completed, AuthError> {
    if deps.config.signup_agreements_required && !input.signup_agreements_accepted {
        return Err(AuthError::invalid(
            "signupAgreementsAccepted",
            "the signup agreements must be accepted",
        ));
    }
    match input.signup_code.clone().filter(|c| !c.trim().is_empty()) {
        Some(code) => with_code(deps, caller, &code, input).await,
        None => third_party(deps, caller, input).await,
    }
}

/// `countryCode` + `phoneNumber` as E.164: the country code may come with or without `+`; a
/// number already starting with `+` needs none.
fn phone(deps: &Deps, input: &CompleteSignupInput) -> Result<Option<String>, FieldError> {
    let number = input
        .phone_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let country = input
        .country_code
        .as_deref()
        .map(|c| c.trim().trim_start_matches('+'))
        .filter(|c| !c.is_empty());
    let Some(number) = number else {
        return Ok(None);
    };
    let full = match country {
        _ if number.starts_with('+') => number.to_string(),
        Some(c) if c.bytes().all(|b| b.is_ascii_digit()) && c.len() <= 3 => format!("+{c}{number}"),
        Some(_) => {
            return Err(FieldError::invalid(
                "countryCode",
                "must be a calling code such as 1 or 44",
            ));
        }
        None => return Err(FieldError::required("countryCode")),
    };
    let phone = validation::phone_number(&full)
        .map_err(|_| FieldError::invalid("phoneNumber", "is not a valid phone number"))?;
    sms::check_allowed(&deps.config, &phone, "phoneNumber")?;
    Ok(Some(phone))
}

async fn with_code(
    deps: &Deps,
    caller: &mut Caller,
    code: &str,
    input: CompleteSignupInput,
) -> Result<Completed, AuthError> {
    let now = deps.clock.now();
    let wrong = || {
        AuthError::Invalid(vec![FieldError::new(
            super::error::ErrorCode::InvalidCode,
            "signupCode",
            "the signup code is not valid",
        )])
    };
    let (session_id, attempt_id, secret) = codes::parse_link_code(code).ok_or_else(wrong)?;
    let state = deps
        .store
        .load_session(session_id)
        .await?
        .ok_or_else(wrong)?;
    let attempt = state
        .signup_attempt(attempt_id)
        .filter(|a| a.method == SignupMethod::EmailLink)
        .cloned()
        .ok_or_else(wrong)?;
    if attempt.completed {
        return Err(AuthError::AttemptCompleted);
    }
    if attempt.codes.wrong_codes >= WRONG_CODES_PER_ATTEMPT {
        return Err(AuthError::TooManyAttempts {
            retry_after_secs: seconds_until(now, attempt.expires_at),
        });
    }
    let pending = attempt.codes.code.clone().ok_or_else(wrong)?;
    let key = codes::key(&deps.config)?;
    if !codes::link_matches(key, &attempt.id, secret, &pending.hash) {
        let attempt_key = AttemptKey {
            session_id,
            attempt_id,
            kind: AttemptKind::Signup,
        };
        let counted = deps
            .store
            .record_wrong_code(attempt_key, WRONG_CODES_PER_ATTEMPT)
            .await?;
        return Err(match counted {
            WrongCode::Counted(n) if n < WRONG_CODES_PER_ATTEMPT => wrong(),
            _ => AuthError::TooManyAttempts {
                retry_after_secs: seconds_until(now, attempt.expires_at),
            },
        });
    }
    if now >= pending.expires_at || now >= attempt.expires_at {
        return Err(AuthError::CodeExpired);
    }

    // Anyone can start an email_link sign-up for any address. Used in another browser, the code's
    // owner did not necessarily start it: nothing the starter chose is kept.
    let mut attempt = attempt;
    let elsewhere = caller.session.as_ref().map(|s| s.session.id.as_str()) != Some(session_id);
    if elsewhere {
        attempt.username = None;
        attempt.phone_number = None;
        attempt.first_name = None;
        attempt.last_name = None;
        attempt.password_hash = None;
        attempt.metadata.clear();
        attempt.profile.clear();
    }
    let (revised, password) = apply(deps, &attempt, input)?;
    // A proven code may still answer `PHONE_EXISTS` or `EMAIL_EXISTS`: charged before the
    // password is hashed and the claims written.
    complete_profile::meter(deps, caller, &attempt.id, now).await?;
    let mut revised = revised;
    revised.password_hash = Some(password::hash_blocking(password).await?);
    revised.missing_fields.clear();
    revised.remaining_steps.clear();
    let check = AttemptCheck::Code(CodeProof {
        attempt_id: attempt.id.clone(),
        code_hash: pending.hash,
        max_wrong_codes: WRONG_CODES_PER_ATTEMPT,
        gate: None,
    });
    let proven = Some(Channel::Email);
    grant::finish_signup(deps, caller, revised, check, proven, now).await?;
    Ok(Completed::SignedIn)
}

/// The signup-code path's fields on the attempt: every problem at once.
fn apply(
    deps: &Deps,
    attempt: &SignupAttempt,
    input: CompleteSignupInput,
) -> Result<(SignupAttempt, String), AuthError> {
    let mut errors = Vec::new();
    let mut revised = attempt.clone();
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let phone = phone(deps, &input);

    match present(input.email_address).map(|e| identifier::normalize_email(&e)) {
        None => errors.push(FieldError::required("emailAddress")),
        Some(Ok(e)) if Some(&e) == attempt.email.as_ref() => {}
        Some(_) => errors.push(FieldError::invalid(
            "emailAddress",
            "does not match the address the signup code was sent to",
        )),
    }
    for (field, value, slot) in [
        ("firstName", input.first_name, &mut revised.first_name),
        ("lastName", input.last_name, &mut revised.last_name),
    ] {
        match present(value).map(|v| validation::name(field, &v)) {
            None => errors.push(FieldError::required(field)),
            Some(Ok(v)) => *slot = Some(v),
            Some(Err(e)) => errors.push(e),
        }
    }
    match phone {
        Ok(Some(p)) => revised.phone_number = Some(p),
        Ok(None)
            if deps
                .config
                .required_fields
                .iter()
                .any(|f| f == "phone_number") =>
        {
            errors.push(FieldError::required("phoneNumber"));
        }
        Ok(None) => {}
        Err(e) => errors.push(e),
    }
    let password = present(input.password).map(|p| password::normalize(&p));
    match &password {
        None => errors.push(FieldError::required("password")),
        Some(pw) => {
            let context: Vec<&str> = [
                &revised.email,
                &revised.username,
                &revised.first_name,
                &revised.last_name,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
            if let Err(mut e) = password::check_policy(pw, &context) {
                e.field = Some("password".into());
                errors.push(e);
            }
        }
    }
    // Seed 002 cannot supply a username; a deployment that requires one uses complete-profile.
    if deps.config.required_fields.iter().any(|f| f == "username") && revised.username.is_none() {
        errors.push(FieldError::new(
            super::error::ErrorCode::RequiredField,
            "username",
            "this deployment requires a username, which completeSignup cannot take; use \
             POST /auth/complete-profile",
        ));
    }
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    if input.signup_agreements_accepted {
        revised.signup_agreements_accepted_at = Some(deps.clock.now());
    }
    Ok((revised, password.expect("checked above")))
}

/// `signupCode=` empty: the session's pending `sso` sign-up, completed like complete-profile.
/// Fields the provider already gave are kept; only what the attempt lacks is taken.
async fn third_party(
    deps: &Deps,
    caller: &mut Caller,
    input: CompleteSignupInput,
) -> Result<Completed, AuthError> {
    let attempt = pending_sso(caller)?.clone();
    let phone = phone(deps, &input).map_err(|e| AuthError::Invalid(vec![e]))?;
    let missing = |have: &Option<String>, given: Option<String>| {
        given
            .filter(|_| have.is_none())
            .filter(|v| !v.trim().is_empty())
    };
    let email = input.email_address.clone().filter(|e| !e.trim().is_empty());
    if let (Some(have), Some(given)) = (&attempt.email, &email)
        && identifier::normalize_email(given).ok().as_ref() != Some(have)
    {
        return Err(AuthError::invalid(
            "emailAddress",
            "does not match the address of this sign-up",
        ));
    }
    let profile = ProfileInput {
        attempt_id: Some(attempt.id.clone()),
        email: missing(&attempt.email, email),
        phone_number: missing(&attempt.phone_number, phone),
        username: None,
        password: missing(&attempt.password_hash, input.password),
        first_name: missing(&attempt.first_name, input.first_name),
        last_name: missing(&attempt.last_name, input.last_name),
        metadata: None,
        profile: None,
        signup_agreements_accepted_at: input.signup_agreements_accepted.then(|| deps.clock.now()),
    };
    complete_profile::complete(deps, caller, profile)
        .await
        .map_err(with_seed_names)?;
    let signed_in = caller
        .session
        .as_ref()
        .and_then(|s| s.signup_attempt(&attempt.id))
        .is_some_and(|a| a.completed);
    Ok(if signed_in {
        Completed::SignedIn
    } else {
        Completed::CodeStepNext
    })
}

/// complete-profile's field names as seed 002 spells them.
fn with_seed_names(e: AuthError) -> AuthError {
    let rename = |mut errors: Vec<FieldError>| {
        for e in &mut errors {
            let seed = match e.field.as_deref() {
                Some("first_name") => "firstName",
                Some("last_name") => "lastName",
                Some("email") => "emailAddress",
                Some("phone_number") => "phoneNumber",
                _ => continue,
            };
            e.field = Some(seed.to_string());
        }
        errors
    };
    match e {
        AuthError::Invalid(errors) => AuthError::Invalid(rename(errors)),
        AuthError::Taken(errors) => AuthError::Taken(rename(errors)),
        other => other,
    }
}

/// The caller's newest `sso` sign-up waiting for its profile.
fn pending_sso(caller: &Caller) -> Result<&SignupAttempt, AuthError> {
    caller
        .session
        .as_ref()
        .and_then(|s| {
            s.signup_attempts
                .iter()
                .filter(|a| {
                    a.method == SignupMethod::Sso
                        && !a.completed
                        && a.remaining_steps.first() == Some(&Step::CompleteProfile)
                })
                .max_by_key(|a| a.created_at)
        })
        .ok_or(AuthError::AttemptNotFound)
}
