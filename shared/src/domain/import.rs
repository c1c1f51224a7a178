//! `POST /admin/users`: the privileged import of seed 003's full record. Every rule is checked
//! and every problem reported at once; the user and all its claims are written in one
//! transaction, and every claim another user holds is reported together.
//!
//! Unlike a sign-up, an import claims the email and phone number even when they are not
//! verified: the operator vouches for the record, and its users must be able to sign in with
//! them. A password sign-in with an unverified email then continues at `verify_email_otp`, and an
//! OAuth sign-in links only to a *verified* email.

use serde_json::{Map, Value};

use super::error::{AuthError, FieldError};
use super::identifier;
use super::messages;
use super::model::{Claim, Identity, ImportedIdentity, User};
use super::password::{self, legacy::HashFn};
use super::validation::{self, Profile};
use crate::domain::Deps;
use crate::domain::ports::store::Completion;
use crate::ids::{new_id, prefix};

pub const MAX_LOGIN_ATTEMPTS: i64 = 20_000;
pub const MAX_IDENTITIES: usize = 10;

/// Seed 003's lists.
const PROVIDERS: [&str; 33] = [
    "twilio",
    "vonage",
    "netgsm",
    "3gbilisim",
    "dataport",
    "messagebird",
    "custom",
    "hotp",
    "totp",
    "native",
    "expo",
    "one-signal",
    "aws_ses",
    "postmark",
    "sendgrid",
    "sparkpost",
    "smtp",
    "custom-oauth2",
    "amazon",
    "apple",
    "e-devlet",
    "dribbble",
    "dropbox",
    "facebook",
    "github",
    "google",
    "linkedin",
    "microsoft",
    "slack",
    "spotify",
    "twitter",
    "saml",
    "ldap",
];
const IDENTITY_TYPES: [&str; 6] = ["sms", "otp", "push", "email", "social", "enterprise"];

/// No `Debug`: it holds the password (or its hash).
#[derive(Default)]
pub struct ImportInput {
    pub blocked: Option<bool>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub hash_fn: Option<HashFn>,
    pub salt: Option<String>,
    pub identities: Option<Vec<IdentityInput>>,
    pub login_attempts: Option<i64>,
    pub name: Option<String>,
    pub password: Option<String>,
    pub phone_number: Option<String>,
    pub phone_number_verified: Option<bool>,
    pub picture: Option<String>,
    pub username: Option<String>,
    pub verify_email: Option<bool>,
    pub metadata: Option<Map<String, Value>>,
    pub profile: Option<Profile>,
}

#[derive(Debug)]
pub struct IdentityInput {
    pub connection: Option<String>,
    pub provider: Option<String>,
    pub kind: Option<String>,
    pub id: Option<String>,
    pub details: Option<Map<String, Value>>,
}

pub async fn import_user(deps: &Deps, input: ImportInput) -> Result<User, AuthError> {
    let verify_email = input.verify_email.unwrap_or(false);
    let (mut user, password) = validate(input)?;
    user.password_hash = match password {
        Password::None => None,
        Password::Imported(hash) => Some(hash),
        Password::Plain(pw) => Some(password::hash_blocking(pw).await?),
    };
    let now = deps.clock.now();
    user.created_at = now;
    user.updated_at = now;

    let mut claims: Vec<Claim> = Vec::new();
    claims.extend(user.email.clone().map(Claim::Email));
    claims.extend(user.phone_number.clone().map(Claim::Phone));
    claims.extend(user.username.clone().map(Claim::Username));
    claims.extend(user.identities.iter().map(|i| {
        Claim::Identity(Identity {
            provider: i.provider.clone(),
            subject: i.id.clone(),
        })
    }));
    match deps.store.import_user(&user, &claims).await? {
        Completion::Done => {}
        Completion::Taken(taken) => {
            return Err(AuthError::taken(&taken));
        }
        other => return Err(AuthError::internal(format!("import: {other:?}"))),
    }
    if verify_email
        && !user.email_verified
        && let Some(email) = &user.email
    {
        // A code needs a session to be entered in; the first sign-in sends it (see the README).
        if let Err(e) = deps
            .notifier
            .send(&messages::verify_email_notice(email))
            .await
        {
            tracing::warn!(user_id = %user.id, error = %e, "verify_email notice failed");
        }
    }
    Ok(user)
}

enum Password {
    None,
    Plain(String),
    Imported(String),
}

/// Every seed 003 rule, every problem at once.
fn validate(input: ImportInput) -> Result<(User, Password), AuthError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let mut check = |r: Result<String, FieldError>| match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let email = present(input.email).and_then(|v| check(identifier::normalize_email(&v)));
    let phone_number =
        present(input.phone_number).and_then(|v| check(validation::phone_number(&v)));
    let username = present(input.username).and_then(|v| check(validation::username(&v)));
    let image_url = present(input.picture).and_then(|v| check(validation::url("picture", &v)));
    let name = present(input.name).and_then(|v| check(validation::name("name", &v)));

    let login_attempts = match input.login_attempts.unwrap_or(0) {
        n @ 0..=MAX_LOGIN_ATTEMPTS => n as u32,
        _ => {
            errors.push(FieldError::invalid(
                "login_attempts",
                format!("must be from 0 to {MAX_LOGIN_ATTEMPTS}"),
            ));
            0
        }
    };
    let metadata = input.metadata.unwrap_or_default();
    if let Err(e) = validation::metadata(&metadata) {
        errors.push(e);
    }
    let mut profile = match input.profile.as_ref().map(validation::profile).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            errors.push(e);
            Map::new()
        }
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let first_name = text(profile.get("given_name"));
    let last_name = text(profile.get("family_name"));
    if let Some(n) = &name {
        profile.insert("name".into(), Value::String(n.clone()));
    }

    let identities = identities(input.identities.unwrap_or_default(), &mut errors);
    if email.is_none() && phone_number.is_none() && username.is_none() && identities.is_empty() {
        errors.push(FieldError::new(
            super::error::ErrorCode::RequiredField,
            "email",
            "an email, phone_number, username or identity is required to sign in with",
        ));
    }

    let password = match (input.hash_fn, present(input.password)) {
        (None, None) => {
            if input.salt.is_some() {
                errors.push(FieldError::invalid("salt", "is only taken with hash_fn"));
            }
            Password::None
        }
        (Some(_), None) => {
            errors.push(FieldError::required("password"));
            Password::None
        }
        (Some(f), Some(hash)) => match password::legacy::import(f, &hash, input.salt.as_deref()) {
            Ok(stored) => Password::Imported(stored),
            Err(e) => {
                errors.push(e);
                Password::None
            }
        },
        (None, Some(pw)) => {
            if input.salt.is_some() {
                errors.push(FieldError::invalid("salt", "is only taken with hash_fn"));
            }
            let pw = password::normalize(&pw);
            let context: Vec<&str> = [&email, &username, &first_name, &last_name]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            if let Err(e) = password::check_policy(&pw, &context) {
                errors.push(e);
            }
            Password::Plain(pw)
        }
    };
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let epoch = time::OffsetDateTime::UNIX_EPOCH;
    let user = User {
        id: new_id(prefix::USER),
        first_name,
        last_name,
        username,
        email_verified: email.is_some() && input.email_verified.unwrap_or(false),
        phone_verified: phone_number.is_some() && input.phone_number_verified.unwrap_or(false),
        email,
        phone_number,
        image_url,
        two_factor_enabled: false,
        metadata,
        profile,
        password_hash: None,
        blocked: input.blocked.unwrap_or(false),
        login_attempts,
        signup_agreements_accepted_at: None,
        identities,
        second_factor: Default::default(),
        created_at: epoch,
        updated_at: epoch,
    };
    Ok((user, password))
}

fn identities(given: Vec<IdentityInput>, errors: &mut Vec<FieldError>) -> Vec<ImportedIdentity> {
    if given.len() > MAX_IDENTITIES {
        errors.push(FieldError::invalid(
            "identities",
            format!("at most {MAX_IDENTITIES} identities"),
        ));
        return Vec::new();
    }
    let mut out: Vec<ImportedIdentity> = Vec::new();
    for (i, g) in given.into_iter().enumerate() {
        let field = |name: &str| format!("identities[{i}].{name}");
        let mut required = |name: &str, v: Option<String>| {
            let v = v.filter(|s| !s.trim().is_empty());
            if v.is_none() {
                errors.push(FieldError::required(&field(name)));
            }
            v
        };
        let connection = required("connection", g.connection);
        let provider = required("provider", g.provider);
        let kind = required("type", g.kind);
        let id = required("id", g.id);
        match &g.details {
            None => errors.push(FieldError::required(&field("details"))),
            Some(d) => {
                if let Err(e) = validation::opaque_object(&field("details"), d) {
                    errors.push(e);
                }
            }
        }
        if let Some(p) = provider.as_deref().filter(|p| !PROVIDERS.contains(p)) {
            errors.push(FieldError::invalid(
                &field("provider"),
                format!("{p:?} is not one of seed 003's providers"),
            ));
        }
        if let Some(t) = kind.as_deref().filter(|t| !IDENTITY_TYPES.contains(t)) {
            errors.push(FieldError::invalid(
                &field("type"),
                format!("{t:?} is not one of {}", IDENTITY_TYPES.join(", ")),
            ));
        }
        let (Some(connection), Some(provider), Some(kind), Some(id), Some(details)) =
            (connection, provider, kind, id, g.details)
        else {
            continue;
        };
        if out.iter().any(|o| o.provider == provider && o.id == id) {
            errors.push(FieldError::invalid(&field("id"), "appears twice"));
            continue;
        }
        out.push(ImportedIdentity {
            connection,
            provider,
            kind,
            id,
            details,
        });
    }
    out
}
