//! `POST /auth/signup`: validate, check uniqueness, hash the password, open the attempt in the
//! caller's session (created lazily) and send the first code.

use serde_json::{Map, Value};

use super::attempts::{self, Opening};
use super::caller::Caller;
use super::codes::{self, CODE_TTL};
use super::delivery;
use super::error::{AuthError, FieldError};
use super::identifier;
use super::limits::{ATTEMPT_TTL, Limit};
use super::model::{Channel, Claim, CodeState, PendingCode, SignupAttempt, SignupMethod, Step};
use super::validation::{self, Profile};
use super::{messages, password, sms};
use crate::domain::Deps;
use crate::domain::ports::store::{AttemptKey, AttemptKind};
use crate::ids::{new_id, prefix};

/// An end-user sign-up as typed (`http::bodies::SignupBody` refuses privileged fields).
/// No `Debug`: it holds the password.
#[derive(Default)]
pub struct SignupInput {
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub profile: Option<Profile>,
    pub strategy: Option<SignupMethod>,
}

/// A sign-up that passed every field rule, normalized.
struct ValidSignup {
    method: SignupMethod,
    channel: Channel,
    email: Option<String>,
    phone_number: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    password: Option<String>,
    metadata: Map<String, Value>,
    profile: Map<String, Value>,
    missing_fields: Vec<String>,
}

impl ValidSignup {
    fn claims(&self) -> Vec<Claim> {
        let mut claims = Vec::new();
        if let Some(e) = &self.email {
            claims.push(Claim::Email(e.clone()));
        }
        if let Some(p) = &self.phone_number {
            claims.push(Claim::Phone(p.clone()));
        }
        if let Some(u) = &self.username {
            claims.push(Claim::Username(u.clone()));
        }
        claims
    }

    fn destination(&self) -> &str {
        match self.channel {
            Channel::Email => self.email.as_deref(),
            Channel::Sms => self.phone_number.as_deref(),
        }
        .expect("validation requires the strategy's contact")
    }
}

pub async fn start(deps: &Deps, caller: &mut Caller, input: SignupInput) -> Result<(), AuthError> {
    let valid = validate(deps, input)?;
    let now = deps.clock.now();
    let store = deps.store.as_ref();
    let limits = &deps.config.limits;

    // The per-IP limit guards the EMAIL_EXISTS answer; it is counted alongside the claims read.
    let ip_limit = Limit::signups_per_ip(&caller.ip, limits.signups_per_ip_per_hour);
    let claims = valid.claims();
    let (ip_checked, taken) = tokio::join!(ip_limit.check(store, now), store.taken_claims(&claims));
    ip_checked?;
    let taken = taken?;
    if !taken.is_empty() {
        return Err(AuthError::taken(&taken));
    }

    let to = valid.destination().to_string();
    if valid.channel == Channel::Sms {
        sms::admit(deps, &to, "phone_number", now).await?;
    }
    let password_hash = match valid.password.clone() {
        Some(pw) => Some(password::hash_blocking(pw).await?),
        None => None,
    };
    // An `email_link` sign-up gets a long signup code, finished by completeSignup (seed 002).
    let link = valid.method == SignupMethod::EmailLink;
    let code = if link {
        codes::generate_link_secret()
    } else {
        codes::generate()
    };
    let attempt_id = new_id(prefix::SIGNUP_ATTEMPT);
    let code_hash = codes::hash(codes::key(&deps.config)?, &attempt_id, valid.channel, &code);
    let (step, code_ttl) = match valid.channel {
        _ if link => (Step::VerifyEmailLink, deps.config.signup_link_ttl),
        Channel::Email => (Step::VerifyEmailOtp, CODE_TTL),
        Channel::Sms => (Step::VerifyPhoneOtp, CODE_TTL),
    };
    let attempt = SignupAttempt {
        id: attempt_id,
        session_id: String::new(),
        method: valid.method,
        email: valid.email,
        phone_number: valid.phone_number,
        username: valid.username,
        first_name: valid.first_name,
        last_name: valid.last_name,
        password_hash,
        metadata: valid.metadata,
        profile: valid.profile,
        // Profile completion comes after the code: the user proves the contact first. A signup
        // link's completion takes the missing fields with it.
        remaining_steps: if valid.missing_fields.is_empty() || link {
            vec![step]
        } else {
            vec![step, Step::CompleteProfile]
        },
        email_verified: false,
        phone_verified: false,
        missing_fields: valid.missing_fields,
        image_url: None,
        identity: None,
        signup_agreements_accepted_at: None,
        codes: CodeState {
            code: Some(PendingCode {
                channel: valid.channel,
                hash: code_hash.clone(),
                expires_at: now + code_ttl,
                sent_at: Some(now),
                delivery_failed: false,
            }),
            sends: 1,
            wrong_codes: 0,
        },
        completed: false,
        user_id: None,
        created_at: now,
        expires_at: now + ATTEMPT_TTL.max(code_ttl),
    };
    let attempt_id = attempt.id.clone();
    let cap = Limit::sends_per_destination(&to, limits.sends_per_destination_per_hour);
    let session_id = attempts::open(
        deps,
        caller,
        Opening::Signup(Box::new(attempt)),
        Some(&cap),
        now,
    )
    .await?;
    let key = AttemptKey {
        session_id: &session_id,
        attempt_id: &attempt_id,
        kind: AttemptKind::Signup,
    };
    if link {
        let message = messages::signup_link_for(deps, &to, &session_id, &attempt_id, &code)?;
        return delivery::message(deps, caller, key, message, &code_hash).await;
    }
    delivery::code(deps, caller, key, valid.channel, &to, &code, &code_hash).await
}

/// Checks every field and reports every problem at once.
fn validate(deps: &Deps, input: SignupInput) -> Result<ValidSignup, AuthError> {
    let mut errors = Vec::new();
    // Blank optional fields are treated as absent: forms send "" for untouched inputs.
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let mut check = |result: Result<String, FieldError>| match result {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    };

    let email = present(input.email).and_then(|v| check(identifier::normalize_email(&v)));
    let phone_number = present(input.phone_number)
        .and_then(|v| check(validation::phone_number(&v)))
        .and_then(|p| check(sms::check_allowed(&deps.config, &p, "phone_number").map(|()| p)));
    let username = present(input.username).and_then(|v| check(validation::username(&v)));
    let first_name =
        present(input.first_name).and_then(|v| check(validation::name("first_name", &v)));
    let last_name = present(input.last_name).and_then(|v| check(validation::name("last_name", &v)));

    let method = input.strategy.unwrap_or(SignupMethod::EmailOtp);
    let channel = match method {
        SignupMethod::EmailOtp => Some(Channel::Email),
        SignupMethod::PhoneOtp => Some(Channel::Sms),
        SignupMethod::EmailLink if deps.config.signup_link_url.is_some() => Some(Channel::Email),
        SignupMethod::EmailLink => {
            errors.push(FieldError::invalid(
                "strategy",
                "email_link needs SIGNUP_LINK_URL to be set",
            ));
            None
        }
        SignupMethod::Sso => {
            errors.push(FieldError::invalid(
                "strategy",
                "must be email_otp, phone_otp or email_link; sso starts at /auth/oauth2/init",
            ));
            None
        }
    };

    let password = present(input.password).map(|p| password::normalize(&p));
    let given = |field: &str| match field {
        "email" => email.is_some(),
        "phone_number" => phone_number.is_some(),
        "username" => username.is_some(),
        "first_name" => first_name.is_some(),
        "last_name" => last_name.is_some(),
        "password" => password.is_some(),
        _ => true,
    };
    // A field given but invalid is already reported; only the truly absent count as missing.
    let invalid: Vec<String> = errors.iter().filter_map(|e| e.field.clone()).collect();
    let absent = |field: &str| !given(field) && !invalid.iter().any(|f| f == field);

    // Only the strategy's identifier is needed to start (issue 4: partial sign-up); the other
    // REQUIRED_FIELDS become the attempt's missing_fields, supplied at complete-profile.
    let identifier = match channel {
        Some(Channel::Email) => Some("email"),
        Some(Channel::Sms) => Some("phone_number"),
        None => None,
    };
    if let Some(field) = identifier.filter(|f| absent(f)) {
        errors.push(FieldError::required(field));
    }
    let missing_fields: Vec<String> = deps
        .config
        .required_fields
        .iter()
        .filter(|f| absent(f))
        .cloned()
        .collect();

    if let Some(pw) = &password {
        let context: Vec<&str> = [&email, &username, &first_name, &last_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if let Err(e) = password::check_policy(pw, &context) {
            errors.push(e);
        }
    }

    let metadata = input.metadata.unwrap_or_default();
    if let Err(e) = validation::metadata(&metadata) {
        errors.push(e);
    }
    let profile = match input.profile.as_ref().map(validation::profile).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            errors.push(e);
            Map::new()
        }
    };

    match (errors.is_empty(), channel) {
        (true, Some(channel)) => Ok(ValidSignup {
            method,
            channel,
            email,
            phone_number,
            username,
            first_name,
            last_name,
            password,
            metadata,
            profile,
            missing_fields,
        }),
        _ => Err(AuthError::Invalid(errors)),
    }
}
