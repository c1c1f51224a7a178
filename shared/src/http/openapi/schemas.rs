//! Schemas for the domain types that appear on the wire. The domain knows nothing of OpenAPI, so
//! each is described here: an enum by serializing every one of its variants (a match that the
//! compiler holds exhaustive), a struct by a mirror whose fields a test compares with the domain
//! type's serialized form.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::error::ErrorCode;
use crate::domain::factors::SecondFactorStrategy;
use crate::domain::model::{SigninMethod, SignupMethod, Step};
use crate::domain::password::legacy::HashFn;

/// A string enum whose values are the serde names of `variants`.
fn string_enum<T: Serialize>(variants: &[T], description: &str) -> RefOr<Schema> {
    let values: Vec<Value> = variants
        .iter()
        .map(|v| serde_json::to_value(v).expect("a unit variant serializes"))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

macro_rules! enum_schema {
    ($schema:ident, $name:literal, $ty:ty, [$($variant:ident),+ $(,)?], $description:literal) => {
        #[doc = $description]
        pub struct $schema;

        impl $schema {
            /// Every variant; the match below stops compiling when one is added.
            pub fn all() -> Vec<$ty> {
                let all = vec![$(<$ty>::$variant),+];
                for v in &all {
                    match v {
                        $(<$ty>::$variant)|+ => {}
                    }
                }
                all
            }
        }

        impl PartialSchema for $schema {
            fn schema() -> RefOr<Schema> {
                string_enum(&Self::all(), $description)
            }
        }

        impl ToSchema for $schema {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

enum_schema!(
    SigninMethodSchema,
    "SigninMethod",
    SigninMethod,
    [
        Password,
        EmailOtp,
        PhoneOtp,
        Sso,
        ResetPasswordEmailCode,
        ResetPasswordPhoneCode,
        Passkey
    ],
    "How a sign-in attempt proves the user: a password, a code by email or SMS, an identity provider, or a passkey; the `reset_password_*` ones prove a code before a new password is set."
);
enum_schema!(
    SignupMethodSchema,
    "SignupMethod",
    SignupMethod,
    [EmailOtp, PhoneOtp, EmailLink, Sso],
    "How a sign-up attempt verifies its address."
);
enum_schema!(
    StepSchema,
    "Step",
    Step,
    [
        VerifyPassword,
        VerifyEmailOtp,
        VerifyPhoneOtp,
        VerifyEmailLink,
        CompleteProfile,
        ResetPassword,
        VerifySecondFactor,
        VerifyPasskey
    ],
    "A step an attempt still has to take."
);
enum_schema!(
    SecondFactorStrategySchema,
    "SecondFactorStrategy",
    SecondFactorStrategy,
    [Totp, BackupCode, PhoneOtp],
    "How the step `verify_second_factor` is proven: a code from the authenticator app, a backup code, or a code by SMS to the verified phone."
);
enum_schema!(
    HashFnSchema,
    "HashFn",
    HashFn,
    [Bcrypt, Argon2, Pbkdf2],
    "The function an imported password hash was made with."
);
enum_schema!(
    ErrorCodeSchema,
    "ErrorCode",
    ErrorCode,
    [
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
        IdentityExists,
        OauthFailed,
        ProviderUnavailable,
        NotAcceptable,
        ForbiddenHost,
        ReverificationRequired,
        UserNotFound,
        TotpAlreadyEnabled,
        SecondFactorNotEnabled,
        SecondFactorChanged,
        SecondFactorRequired,
        PasskeyExists,
    ],
    "What went wrong, for programs: one code per problem."
);

/// One problem with one field of the request (`domain::error::FieldError`).
#[derive(ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub struct FieldErrorSchema {
    #[schema(value_type = ErrorCodeSchema)]
    code: ErrorCode,
    /// For people: what is wrong and how to fix it.
    message: String,
    /// The request field at fault, where one applies (`metadata.plan`, `profile.gender`).
    #[schema(required = false)]
    field: String,
}

/// Seed 003's profile (`domain::validation::Profile`). Unknown fields are refused.
#[derive(ToSchema)]
#[schema(as = Profile)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ProfileSchema {
    addresses: Option<Vec<AddressSchema>>,
    birthdate: Option<String>,
    family_name: Option<String>,
    #[schema(value_type = Option<GenderSchema>)]
    gender: Option<GenderSchema>,
    given_name: Option<String>,
    locale: Option<String>,
    middle_name: Option<String>,
    nickname: Option<String>,
    profile_page: Option<String>,
    website: Option<String>,
    zoneinfo: Option<String>,
}

/// One postal address of a profile (`domain::validation::Address`).
#[derive(ToSchema)]
#[schema(as = Address)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AddressSchema {
    id: Option<String>,
    is_primary: Option<bool>,
    first_name: Option<String>,
    last_name: Option<String>,
    street_address: Option<String>,
    street_address_2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip_code: Option<String>,
    country: Option<String>,
}

/// Seed 003's gender: an integer from -10 to 10, or a string (stored as the integer).
pub struct GenderSchema;

impl PartialSchema for GenderSchema {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("An integer from -10 to 10, or a string naming one."))
            .into()
    }
}

impl ToSchema for GenderSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Gender")
    }
}
