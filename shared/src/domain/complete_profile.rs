//! `POST /auth/complete-profile` (seed 000): supply what a pending sign-up lacks. The attempt is
//! either completed (the user is created and signed in) or, when a new phone number or email
//! needs proving, moved to that code step first.

use serde_json::{Map, Value};

use super::caller::Caller;
use super::codes::{self, CODE_TTL};
use super::delivery;
use super::error::{AuthError, FieldError};
use super::grant;
use super::identifier;
use super::limits::{Limit, seconds_until};
use super::model::{Channel, Claim, CodeAttempt, PendingCode, SignupAttempt, Step, Timestamp};
use super::password;
use super::sms;
use super::validation::{self, Profile};
use crate::domain::Deps;
use crate::domain::ports::store::{AttemptCheck, AttemptKey, AttemptKind, CodeSend, Opened};

/// The fields a pending attempt may still take. A field it already has is refused.
/// No `Debug`: it holds the password.
#[derive(Default)]
pub struct ProfileInput {
    pub attempt_id: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub profile: Option<Profile>,
    /// Set by completeSignup (seed 002), never read from a complete-profile body.
    pub signup_agreements_accepted_at: Option<Timestamp>,
}

pub async fn complete(
    deps: &Deps,
    caller: &mut Caller,
    input: ProfileInput,
) -> Result<(), AuthError> {
    let now = deps.clock.now();
    let attempt = waiting_attempt(caller, input.attempt_id.as_deref())?.clone();
    let (mut revised, password, new_contacts) = apply(&attempt, input)?;
    if let Some(phone) = revised.phone_number.as_deref()
        && new_contacts.contains(&Channel::Sms)
    {
        sms::check_allowed(&deps.config, phone, "phone_number")
            .map_err(|e| AuthError::Invalid(vec![e]))?;
    }
    // Charged alongside the claims read (as sign-up's per-IP limit, so no extra round trip): a
    // taken claim is told, and the password hashed, only once the charge passed.
    let claims = Claim::for_new_fields(&attempt, &revised);
    let store = deps.store.as_ref();
    let (metered, taken) = tokio::join!(meter(deps, caller, &attempt.id, now), async {
        if claims.is_empty() {
            Ok(Vec::new())
        } else {
            store.taken_claims(&claims).await
        }
    });
    metered?;
    let taken = taken?;
    if !taken.is_empty() {
        return Err(AuthError::taken(&taken));
    }
    if let Some(pw) = password {
        revised.password_hash = Some(password::hash_blocking(pw).await?);
    }
    revised.missing_fields.clear();

    if new_contacts.is_empty() {
        revised.remaining_steps.clear();
        let check = AttemptCheck::AtStep {
            attempt_id: attempt.id.clone(),
            step: Step::CompleteProfile,
            user: None,
        };
        return grant::finish_signup(deps, caller, revised, check, None, now).await;
    }
    prove_contacts(deps, caller, revised, &new_contacts, now).await
}

/// Counts one completion against the caller's IP and the attempt (both conditional counters, so
/// parallel requests get no more than sequential ones); `RateLimited` once either is full.
pub(super) async fn meter(
    deps: &Deps,
    caller: &Caller,
    attempt_id: &str,
    now: Timestamp,
) -> Result<(), AuthError> {
    let store = deps.store.as_ref();
    let per_ip =
        Limit::completions_per_ip(&caller.ip, deps.config.limits.completions_per_ip_per_hour);
    let per_attempt = Limit::completions_per_attempt(attempt_id);
    let (ip, attempt) = tokio::join!(per_ip.check(store, now), per_attempt.check(store, now));
    ip.and(attempt)
}

/// The attempt named by `attempt_id`, or the session's newest one waiting for its profile.
fn waiting_attempt<'a>(
    caller: &'a Caller,
    id: Option<&str>,
) -> Result<&'a SignupAttempt, AuthError> {
    let state = caller.session.as_ref().ok_or(AuthError::AttemptNotFound)?;
    let waiting =
        |a: &SignupAttempt| !a.completed && a.current_step() == Some(Step::CompleteProfile);
    match id {
        None => state
            .signup_attempts
            .iter()
            .filter(|a| waiting(a))
            .max_by_key(|a| a.created_at)
            .ok_or(AuthError::AttemptNotFound),
        Some(id) => {
            let a = state.signup_attempt(id).ok_or(AuthError::AttemptNotFound)?;
            if a.completed {
                return Err(AuthError::AttemptCompleted);
            }
            if !waiting(a) {
                return Err(AuthError::invalid(
                    "attempt_id",
                    "is not waiting for profile completion; verify its code first",
                ));
            }
            Ok(a)
        }
    }
}

/// The attempt with the input's fields, the normalized password to hash, and the contacts that
/// are new (and so must be proven). Every problem is reported at once.
fn apply(
    attempt: &SignupAttempt,
    input: ProfileInput,
) -> Result<(SignupAttempt, Option<String>, Vec<Channel>), AuthError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut revised = attempt.clone();
    if input.signup_agreements_accepted_at.is_some() {
        revised.signup_agreements_accepted_at = input.signup_agreements_accepted_at;
    }
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let already = |field: &str| FieldError::invalid(field, "is already set for this attempt");

    let mut set = |field: &str,
                   value: Option<String>,
                   current: &mut Option<String>,
                   check: &dyn Fn(&str) -> Result<String, FieldError>| {
        let Some(v) = present(value) else {
            return false;
        };
        if current.is_some() {
            errors.push(already(field));
            return false;
        }
        match check(&v) {
            Ok(v) => {
                *current = Some(v);
                true
            }
            Err(e) => {
                errors.push(e);
                false
            }
        }
    };
    let new_email = set(
        "email",
        input.email,
        &mut revised.email,
        &identifier::normalize_email,
    );
    let new_phone = set(
        "phone_number",
        input.phone_number,
        &mut revised.phone_number,
        &validation::phone_number,
    );
    set(
        "username",
        input.username,
        &mut revised.username,
        &validation::username,
    );
    set(
        "first_name",
        input.first_name,
        &mut revised.first_name,
        &|v| validation::name("first_name", v),
    );
    set("last_name", input.last_name, &mut revised.last_name, &|v| {
        validation::name("last_name", v)
    });

    let password = present(input.password).map(|p| password::normalize(&p));
    if password.is_some() && attempt.password_hash.is_some() {
        errors.push(already("password"));
    }
    if let Some(m) = input.metadata {
        match validation::metadata(&m) {
            Err(e) => errors.push(e),
            Ok(()) if !attempt.metadata.is_empty() => errors.push(already("metadata")),
            Ok(()) => revised.metadata = m,
        }
    }
    if let Some(p) = &input.profile {
        match validation::profile(p) {
            Err(e) => errors.push(e),
            Ok(_) if !attempt.profile.is_empty() => errors.push(already("profile")),
            Ok(p) => revised.profile = p,
        }
    }
    if let Some(pw) = &password {
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
        if let Err(e) = password::check_policy(pw, &context) {
            errors.push(e);
        }
    }

    // Whatever is still missing is reported by name, unless it was given and refused above.
    let has = |field: &str| match field {
        "email" => revised.email.is_some(),
        "phone_number" => revised.phone_number.is_some(),
        "username" => revised.username.is_some(),
        "first_name" => revised.first_name.is_some(),
        "last_name" => revised.last_name.is_some(),
        "password" => attempt.password_hash.is_some() || password.is_some(),
        _ => true,
    };
    let reported: Vec<String> = errors.iter().filter_map(|e| e.field.clone()).collect();
    for field in &attempt.missing_fields {
        if !has(field) && !reported.contains(field) {
            errors.push(FieldError::required(field));
        }
    }
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let mut new_contacts = Vec::new();
    if new_phone {
        new_contacts.push(Channel::Sms);
    }
    if new_email {
        new_contacts.push(Channel::Email);
    }
    Ok((revised, password, new_contacts))
}

/// Moves the attempt to the code step of the first new contact and sends its code.
async fn prove_contacts(
    deps: &Deps,
    caller: &mut Caller,
    mut revised: SignupAttempt,
    new_contacts: &[Channel],
    now: Timestamp,
) -> Result<(), AuthError> {
    revised.remaining_steps = new_contacts
        .iter()
        .map(|c| match c {
            Channel::Sms => Step::VerifyPhoneOtp,
            Channel::Email => Step::VerifyEmailOtp,
        })
        .collect();
    let channel = new_contacts[0];
    let to = revised
        .destination(channel)
        .expect("a new contact was just set")
        .to_string();
    if channel == Channel::Sms {
        sms::admit(deps, &to, "phone_number", now).await?;
    }
    let code = codes::generate();
    let hash = codes::hash(codes::key(&deps.config)?, &revised.id, channel, &code);
    let send = CodeSend {
        code: PendingCode {
            channel,
            hash: hash.clone(),
            expires_at: now + CODE_TTL,
            sent_at: Some(now),
            delivery_failed: false,
        },
        expected_sends: revised.codes.sends,
    };
    revised.codes.apply_send(&send);
    let cap = Limit::sends_per_destination(&to, deps.config.limits.sends_per_destination_per_hour);
    match deps
        .store
        .revise_signup(&revised, Some(cap.charge(now)))
        .await?
    {
        Opened::Done => {}
        Opened::Limited { window_ends } => {
            return Err(AuthError::RateLimited {
                retry_after_secs: seconds_until(now, window_ends),
            });
        }
        // Another completion got there first.
        Opened::Conflict => return Err(AuthError::AttemptCompleted),
    }
    if let Some(slot) = caller
        .session
        .as_mut()
        .and_then(|s| s.signup_attempts.iter_mut().find(|a| a.id == revised.id))
    {
        *slot = revised.clone();
    }
    let key = AttemptKey {
        session_id: &revised.session_id,
        attempt_id: &revised.id,
        kind: AttemptKind::Signup,
    };
    delivery::code(deps, caller, key, channel, &to, &code, &hash).await
}
