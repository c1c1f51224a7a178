//! `ApiError` wraps the domain's errors with the ones only HTTP has, and `describe` picks each
//! one's status in a single exhaustive match.

use http::StatusCode;

use crate::domain::error::{AuthError, ErrorCode, FieldError};

#[derive(Debug)]
pub enum ApiError {
    Domain(AuthError),
    BadRequestBody {
        field: Option<String>,
        message: String,
    },
    UnsupportedMediaType,
    /// The client accepts none of the media types the endpoint answers in (seed 002's list).
    NotAcceptable,
    PayloadTooLarge,
    NotFound,
    MethodNotAllowed {
        allow: String,
    },
    ForbiddenOrigin,
    /// The dev server only: a `Host` it does not serve (see `sesame_dev`).
    ForbiddenHost,
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::Domain(e)
    }
}

/// What an error turns into on the wire.
pub struct Described {
    pub status: StatusCode,
    pub message: String,
    pub errors: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
    pub allow: Option<String>,
}

impl Described {
    fn one(status: StatusCode, code: ErrorCode, message: &str) -> Self {
        Self::many(status, message, vec![FieldError::general(code, message)])
    }

    fn many(status: StatusCode, message: &str, errors: Vec<FieldError>) -> Self {
        Self {
            status,
            message: message.to_string(),
            errors,
            retry_after_secs: None,
            allow: None,
        }
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

impl ApiError {
    /// `correlation_id` names an internal error in the log; only the id reaches the client.
    pub fn describe(&self, correlation_id: &str) -> Described {
        use StatusCode as S;
        match self {
            ApiError::BadRequestBody { field, message } => Described::many(
                S::BAD_REQUEST,
                "the request body is not valid",
                vec![FieldError {
                    code: ErrorCode::BadRequestBody,
                    message: message.clone(),
                    field: field.clone(),
                }],
            ),
            ApiError::UnsupportedMediaType => Described::one(
                S::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send the body as application/json (completeSignup: application/x-www-form-urlencoded)",
            ),
            ApiError::NotAcceptable => Described::one(
                S::NOT_ACCEPTABLE,
                ErrorCode::NotAcceptable,
                "accept */*, application/json or application/vnd.soa.vNN+json",
            ),
            ApiError::PayloadTooLarge => Described::one(
                S::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "the request body is larger than 64 KiB",
            ),
            ApiError::NotFound => {
                Described::one(S::NOT_FOUND, ErrorCode::NotFound, "no such endpoint")
            }
            ApiError::MethodNotAllowed { allow } => {
                let mut d = Described::one(
                    S::METHOD_NOT_ALLOWED,
                    ErrorCode::MethodNotAllowed,
                    "this endpoint does not take that method",
                );
                d.allow = Some(allow.clone());
                d
            }
            ApiError::ForbiddenOrigin => Described::one(
                S::FORBIDDEN,
                ErrorCode::ForbiddenOrigin,
                "requests from this origin are not allowed",
            ),
            ApiError::ForbiddenHost => Described::one(
                S::FORBIDDEN,
                ErrorCode::ForbiddenHost,
                "this server answers only requests for localhost, 127.0.0.1, [::1] or a host in DEV_ALLOWED_HOSTS",
            ),
            ApiError::Domain(e) => describe_domain(e, correlation_id),
        }
    }

    pub fn is_internal(&self) -> bool {
        matches!(self, ApiError::Domain(AuthError::Internal(_)))
    }
}

fn describe_domain(e: &AuthError, correlation_id: &str) -> Described {
    use StatusCode as S;
    match e {
        AuthError::Invalid(errors) => {
            Described::many(S::BAD_REQUEST, "some fields are not valid", errors.clone())
        }
        AuthError::Taken(errors) => Described::many(S::CONFLICT, "already in use", errors.clone()),
        AuthError::InvalidCredentials => Described::one(
            S::UNAUTHORIZED,
            ErrorCode::InvalidCredentials,
            "the identifier or password is not correct",
        ),
        AuthError::InvalidCode => Described::one(
            S::BAD_REQUEST,
            ErrorCode::InvalidCode,
            "the code is not correct",
        ),
        AuthError::CodeExpired => Described::one(
            S::BAD_REQUEST,
            ErrorCode::CodeExpired,
            "the code has expired; ask for a new one",
        ),
        AuthError::TooManyAttempts { retry_after_secs } => Described::one(
            S::TOO_MANY_REQUESTS,
            ErrorCode::TooManyAttempts,
            "too many wrong codes; start again",
        )
        .retry_after(*retry_after_secs),
        AuthError::RateLimited { retry_after_secs } => Described::one(
            S::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many requests; try again later",
        )
        .retry_after(*retry_after_secs),
        AuthError::AttemptNotFound => Described::one(
            S::NOT_FOUND,
            ErrorCode::AttemptNotFound,
            "no such attempt in this session",
        ),
        AuthError::AttemptCompleted => Described::one(
            S::CONFLICT,
            ErrorCode::AttemptCompleted,
            "this attempt is already completed",
        ),
        AuthError::Unauthenticated => {
            Described::one(S::UNAUTHORIZED, ErrorCode::Unauthenticated, "sign in first")
        }
        AuthError::ReverificationRequired => Described::one(
            S::FORBIDDEN,
            ErrorCode::ReverificationRequired,
            "confirm it is you first: POST /auth/reverify, then retry",
        ),
        AuthError::TotpAlreadyEnabled => Described::one(
            S::CONFLICT,
            ErrorCode::TotpAlreadyEnabled,
            "TOTP is already on: DELETE /me/totp first to enroll a new authenticator",
        ),
        AuthError::SecondFactorNotEnabled => Described::one(
            S::CONFLICT,
            ErrorCode::SecondFactorNotEnabled,
            "no second factor is on",
        ),
        AuthError::SecondFactorChanged => Described::one(
            S::CONFLICT,
            ErrorCode::SecondFactorChanged,
            "the two-factor settings changed meanwhile; read them again and retry",
        ),
        AuthError::SecondFactorRequired => Described::one(
            S::FORBIDDEN,
            ErrorCode::SecondFactorRequired,
            "this account needs a second factor: enroll one first (POST /me/totp, or POST /me/two-factor/phone), and keep one on",
        ),
        AuthError::UserBlocked => Described::one(
            S::FORBIDDEN,
            ErrorCode::UserBlocked,
            "this account is blocked",
        ),
        AuthError::PasskeyNotFound => Described::one(
            S::NOT_FOUND,
            ErrorCode::NotFound,
            "you have no passkey with this id",
        ),
        AuthError::UserNotFound => {
            Described::one(S::NOT_FOUND, ErrorCode::UserNotFound, "no user has this id")
        }
        AuthError::DeliveryFailed(_) => Described::one(
            S::BAD_GATEWAY,
            ErrorCode::DeliveryFailed,
            "the code could not be sent; ask for a new one",
        ),
        AuthError::OauthFailed(reason) => {
            Described::one(S::BAD_REQUEST, ErrorCode::OauthFailed, reason)
        }
        AuthError::ProviderUnavailable(_) => Described::one(
            S::BAD_GATEWAY,
            ErrorCode::ProviderUnavailable,
            "the identity provider could not be reached; try again",
        ),
        AuthError::Internal(_) => Described::one(
            S::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            &format!("internal error, reference {correlation_id}"),
        ),
    }
}
