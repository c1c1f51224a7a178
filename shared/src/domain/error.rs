//! The domain's errors. `http::error` maps each variant to a status in one exhaustive match,
//! so a new variant forces a decision there.

use serde::Serialize;
use std::fmt;

use super::model::Claim;

/// Stable error codes of the wire format: add codes, never rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequestBody,
    RequiredField,
    InvalidField,
    WeakPassword,
    EmailExists,
    PhoneNumberExists,
    UsernameExists,
    InvalidCredentials,
    InvalidCode,
    CodeExpired,
    TooManyAttempts,
    RateLimited,
    AttemptNotFound,
    AttemptCompleted,
    Unauthenticated,
    ForbiddenOrigin,
    UserBlocked,
    DeliveryFailed,
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge,
    Internal,
    /// The provider account is already linked to a user (a race of two first sign-ins).
    IdentityExists,
    /// The identity provider refused, or its answer failed a check (state, ID token).
    OauthFailed,
    /// The identity provider could not be reached or answered nonsense.
    ProviderUnavailable,
    /// None of the media types in `Accept` is one the endpoint answers in.
    NotAcceptable,
    /// The dev server only: the request's `Host` is not a loopback name nor in
    /// `DEV_ALLOWED_HOSTS` (a DNS-rebinding page's requests name the attacker's host).
    ForbiddenHost,
    /// A sensitive operation on a signin whose last proven factor is older than
    /// `REVERIFY_MINUTES`: `POST /auth/reverify` first.
    ReverificationRequired,
    /// The admin API: no user has this id.
    UserNotFound,
    /// `POST /me/totp` or its verification while TOTP is already on: turn it off first.
    TotpAlreadyEnabled,
    /// Turning off or replacing backup codes of a second factor that is not on.
    SecondFactorNotEnabled,
    /// The user's second-factor settings changed while this request ran: read them and retry.
    SecondFactorChanged,
    /// `REQUIRE_SECOND_FACTOR`: enroll a second factor first (or keep one on).
    SecondFactorRequired,
    /// `POST /me/passkeys/register/finish`: the credential is registered already.
    PasskeyExists,
}

/// One problem with one field of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub code: ErrorCode,
    pub message: String,
    /// The request field at fault, where one applies (`metadata.plan`, `profile.gender`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl FieldError {
    /// The conflict a uniqueness claim held by another account is reported as.
    pub fn taken(claim: &Claim) -> Self {
        let (code, what) = match claim {
            Claim::Email(_) => (ErrorCode::EmailExists, "email address"),
            Claim::Phone(_) => (ErrorCode::PhoneNumberExists, "phone number"),
            Claim::Username(_) => (ErrorCode::UsernameExists, "username"),
            Claim::Identity(_) => (ErrorCode::IdentityExists, "provider account"),
        };
        FieldError::new(
            code,
            claim.field(),
            format!("an account with this {what} already exists"),
        )
    }

    pub fn new(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A problem with the request as a whole rather than one field.
    pub fn general(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            field: None,
            message: message.into(),
        }
    }

    pub fn required(field: &str) -> Self {
        Self::new(
            ErrorCode::RequiredField,
            field,
            format!("{field} is required"),
        )
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, field, message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Input that fails validation (required, invalid, weak password), one entry per problem.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Email, phone number or username already taken; every conflict is listed.
    #[error("already taken")]
    Taken(Vec<FieldError>),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid code")]
    InvalidCode,
    #[error("code expired")]
    CodeExpired,
    /// The attempt is dead after too many wrong codes or sends.
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("attempt not found")]
    AttemptNotFound,
    #[error("attempt already completed")]
    AttemptCompleted,
    #[error("not signed in")]
    Unauthenticated,
    #[error("user blocked")]
    UserBlocked,
    /// The admin API named a user that does not exist.
    #[error("user not found")]
    UserNotFound,
    /// The active signin last proved a factor longer than `REVERIFY_MINUTES` ago.
    #[error("reverification required")]
    ReverificationRequired,
    #[error("TOTP already enabled")]
    TotpAlreadyEnabled,
    #[error("no second factor enabled")]
    SecondFactorNotEnabled,
    #[error("second factor changed concurrently")]
    SecondFactorChanged,
    #[error("a second factor is required")]
    SecondFactorRequired,
    /// `/me/passkeys/{id}`: the user has no passkey with this id.
    #[error("passkey not found")]
    PasskeyNotFound,
    #[error("delivery failed: {0}")]
    DeliveryFailed(String),
    /// The provider refused or its ID token failed a check; the text says which, never the token.
    #[error("oauth failed: {0}")]
    OauthFailed(String),
    /// Discovery, JWKS or the token endpoint could not be used; the detail is logged.
    #[error("identity provider unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("internal error: {0}")]
    Internal(#[from] InternalError),
}

/// A failure that is ours, not the caller's: logged in full under a correlation id.
#[derive(Debug)]
pub struct InternalError(pub Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl std::error::Error for InternalError {}

impl From<crate::domain::ports::KeyError> for AuthError {
    fn from(e: crate::domain::ports::KeyError) -> Self {
        AuthError::Internal(InternalError(Box::new(e)))
    }
}

impl From<crate::domain::ports::store::StoreError> for AuthError {
    fn from(e: crate::domain::ports::store::StoreError) -> Self {
        AuthError::Internal(InternalError(Box::new(e)))
    }
}

impl AuthError {
    /// Every claim another account holds, reported together.
    pub fn taken(claims: &[Claim]) -> Self {
        AuthError::Taken(claims.iter().map(FieldError::taken).collect())
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AuthError::Invalid(vec![FieldError::invalid(field, message)])
    }

    pub fn internal(message: impl Into<String>) -> Self {
        AuthError::Internal(InternalError(message.into().into()))
    }
}
