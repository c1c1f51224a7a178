//! The wire shapes of request bodies and query strings, and their conversion into the domain's
//! inputs. `deny_unknown_fields` is the rule that refuses privileged or misspelt fields with
//! `400 BAD_REQUEST_BODY`; the domain then checks values and reports every problem at once.

mod passkeys;
mod second_factor;
pub use passkeys::{PasskeyAssertionBody, PasskeyRegisterBody, PasskeyRenameBody};
pub use second_factor::{PhoneFactorBody, TotpCodeBody};

use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::domain::admin::AdminUpdate;
use crate::domain::change_password::PasswordChange;
use crate::domain::complete_profile::ProfileInput;
use crate::domain::factors::SecondFactorStrategy;
use crate::domain::import::{IdentityInput, ImportInput};
use crate::domain::me::MeUpdate;
use crate::domain::model::{Channel, SigninMethod, SignupMethod};
use crate::domain::oauth::{CallbackInput, InitInput};
use crate::domain::password::legacy::HashFn;
use crate::domain::reset::ResetInput;
use crate::domain::signin::SigninInput;
use crate::domain::signup::SignupInput;
use crate::domain::validation::Profile;
use crate::http::openapi::schemas::SecondFactorStrategySchema;
use crate::http::openapi::schemas::{
    HashFnSchema, ProfileSchema, SigninMethodSchema, SignupMethodSchema,
};

// No `Debug` on a body that carries a password or a code, so none can reach a log.

/// `POST /auth/signup`. Privileged fields (`email_verified`, `blocked`, `hash_fn`, ...) are
/// unknown here and so refused.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupBody {
    email: Option<String>,
    phone_number: Option<String>,
    username: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(default, deserialize_with = "exact_metadata")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<ProfileSchema>)]
    profile: Option<Profile>,
    #[schema(value_type = Option<SignupMethodSchema>)]
    strategy: Option<SignupMethod>,
}

impl From<SignupBody> for SignupInput {
    fn from(b: SignupBody) -> Self {
        SignupInput {
            email: b.email,
            phone_number: b.phone_number,
            username: b.username,
            password: b.password,
            first_name: b.first_name,
            last_name: b.last_name,
            metadata: b.metadata,
            profile: b.profile,
            strategy: b.strategy,
        }
    }
}

/// `POST /auth/signin`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigninBody {
    identifier: Option<String>,
    password: Option<String>,
    #[schema(value_type = Option<SigninMethodSchema>)]
    strategy: Option<SigninMethod>,
}

impl From<SigninBody> for SigninInput {
    fn from(b: SigninBody) -> Self {
        SigninInput {
            identifier: b.identifier,
            password: b.password,
            strategy: b.strategy,
        }
    }
}

/// `POST /auth/reset-password`. No `Debug`: it holds the password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordBody {
    signin_attempt_id: Option<String>,
    password: Option<String>,
}

impl From<ResetPasswordBody> for ResetInput {
    fn from(b: ResetPasswordBody) -> Self {
        ResetInput {
            signin_attempt_id: b.signin_attempt_id,
            password: b.password,
        }
    }
}

/// `POST /me/password`. No `Debug`: it holds passwords.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
    #[serde(default)]
    sign_out_others: bool,
}

impl From<PasswordChangeBody> for PasswordChange {
    fn from(b: PasswordChangeBody) -> Self {
        PasswordChange {
            current_password: b.current_password,
            new_password: b.new_password,
            sign_out_others: b.sign_out_others,
        }
    }
}

/// `POST /me/email {email}` and `POST /me/phone_number {phone_number}` (each takes its own).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

/// `POST /me/email/verify` and `POST /me/phone_number/verify`. No `Debug`: it holds a code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactCodeBody {
    pub code: Option<String>,
}

/// `POST /auth/prepare-verification` (seed 004 names the attempt either way).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareBody {
    pub signin_attempt_id: Option<String>,
    pub signup_attempt_id: Option<String>,
    strategy: Option<CodeStrategy>,
}

impl PrepareBody {
    pub fn channel(&self) -> Option<Channel> {
        self.strategy.map(|s| match s {
            CodeStrategy::EmailOtp => Channel::Email,
            CodeStrategy::PhoneOtp => Channel::Sms,
        })
    }
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum CodeStrategy {
    EmailOtp,
    PhoneOtp,
}

/// `POST /auth/attempt-verification` (seed 004).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptBody {
    pub signin_attempt_id: Option<String>,
    pub signup_attempt_id: Option<String>,
    pub code: Option<String>,
    /// Only at the step `verify_second_factor`: which of `second_factor_strategies` the code is.
    #[schema(value_type = Option<SecondFactorStrategySchema>)]
    pub strategy: Option<SecondFactorStrategy>,
}

/// `POST /auth/complete-profile` (seed 000).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteProfileBody {
    attempt_id: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    username: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(default, deserialize_with = "exact_metadata")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<ProfileSchema>)]
    profile: Option<Profile>,
}

impl From<CompleteProfileBody> for ProfileInput {
    fn from(b: CompleteProfileBody) -> Self {
        ProfileInput {
            attempt_id: b.attempt_id,
            email: b.email,
            phone_number: b.phone_number,
            username: b.username,
            password: b.password,
            first_name: b.first_name,
            last_name: b.last_name,
            metadata: b.metadata,
            profile: b.profile,
            signup_agreements_accepted_at: None,
        }
    }
}

/// `PATCH /me` (seed 001). Anything else (`email_verified`, `id`, `two_factor_enabled`, ...) is
/// refused. `null` (or `""`) clears a name or the image.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    image_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "exact_metadata")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<ProfileSchema>)]
    profile: Option<Profile>,
}

/// Tells `"field": null` (Some(None)) from an absent field (None).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl From<MeBody> for MeUpdate {
    fn from(b: MeBody) -> Self {
        MeUpdate {
            first_name: b.first_name,
            last_name: b.last_name,
            username: b.username,
            image_url: b.image_url,
            metadata: b.metadata,
            profile: b.profile,
        }
    }
}

/// `metadata`, read so that no number changes on the way in. serde_json reads an integer beyond
/// 64 bits as the nearest float (`18446744073709551616` would be stored as
/// `18446744073709552000`), and only the number's text tells it from a float, so each value is
/// taken as raw JSON first: an integer (no `.`, `e` or `E`) must fit `i64` or `u64`, else the body
/// is refused (`400 BAD_REQUEST_BODY` naming `metadata.<key>`). serde_json's
/// `arbitrary_precision` would keep every number's text too, but for the whole workspace, where
/// it changes how numbers inside untagged enums (seed 003's `gender`) and the DynamoDB mapping
/// are read; `raw_value` changes nothing outside this function.
fn exact_metadata<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
            let mut map = Map::new();
            while let Some((key, ExactValue(value))) = entries.next_entry()? {
                map.insert(key, value);
            }
            Ok(map)
        }
    }
    struct Object(Map<String, Value>);
    impl<'de> Deserialize<'de> for Object {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(Entries).map(Object)
        }
    }
    Option::<Object>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// A JSON value whose integers are exactly what was sent.
struct ExactValue(Value);

impl<'de> Deserialize<'de> for ExactValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let integer = text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
            && !text.contains(['.', 'e', 'E']);
        if integer && text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
            return Err(D::Error::custom(
                "integers must be from -9223372036854775808 to 18446744073709551615",
            ));
        }
        serde_json::from_str(text)
            .map(ExactValue)
            .map_err(D::Error::custom)
    }
}

/// `GET /auth/oauth2/init`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InitQuery {
    provider: Option<String>,
    redirect_uri: Option<String>,
}

impl From<InitQuery> for InitInput {
    fn from(q: InitQuery) -> Self {
        InitInput {
            provider: q.provider,
            redirect_uri: q.redirect_uri,
        }
    }
}

/// The provider's redirect to `GET /auth/oauth2/callback`. Providers add parameters of their own
/// (`scope`, `iss`, ...), so unknown ones are ignored. No `Debug`: it holds the code.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

impl From<CallbackQuery> for CallbackInput {
    fn from(q: CallbackQuery) -> Self {
        CallbackInput {
            code: q.code,
            state: q.state,
            error: q.error,
        }
    }
}

/// `POST /admin/users`: seed 003's full record. No `Debug`: it holds the password or its hash.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    blocked: Option<bool>,
    email: Option<String>,
    email_verified: Option<bool>,
    #[schema(value_type = Option<HashFnSchema>)]
    hash_fn: Option<HashFn>,
    salt: Option<String>,
    identities: Option<Vec<IdentityBody>>,
    login_attempts: Option<i64>,
    name: Option<String>,
    password: Option<String>,
    phone_number: Option<String>,
    phone_number_verified: Option<bool>,
    picture: Option<String>,
    username: Option<String>,
    verify_email: Option<bool>,
    #[serde(default, deserialize_with = "exact_metadata")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<ProfileSchema>)]
    profile: Option<Profile>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IdentityBody {
    connection: Option<String>,
    provider: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<String>,
    #[schema(value_type = Option<Object>)]
    details: Option<Map<String, Value>>,
}

impl From<ImportBody> for ImportInput {
    fn from(b: ImportBody) -> Self {
        ImportInput {
            blocked: b.blocked,
            email: b.email,
            email_verified: b.email_verified,
            hash_fn: b.hash_fn,
            salt: b.salt,
            identities: b.identities.map(|ids| {
                ids.into_iter()
                    .map(|i| IdentityInput {
                        connection: i.connection,
                        provider: i.provider,
                        kind: i.kind,
                        id: i.id,
                        details: i.details,
                    })
                    .collect()
            }),
            login_attempts: b.login_attempts,
            name: b.name,
            password: b.password,
            phone_number: b.phone_number,
            phone_number_verified: b.phone_number_verified,
            picture: b.picture,
            username: b.username,
            verify_email: b.verify_email,
            metadata: b.metadata,
            profile: b.profile,
        }
    }
}

/// `POST /api/users/completeSignup`'s form (seed 002), for the document: the handler reads the
/// parameters itself (`handlers::complete_signup`), from the query and the form alike.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CompleteSignupForm {
    signup_code: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email_address: Option<String>,
    /// `true` or `false` (any case); empty or absent is `false`.
    signup_agreements_accepted: Option<String>,
    country_code: Option<String>,
    phone_number: Option<String>,
}

/// `{signin_id}`: which of the session's signins (switch, sign-out, token).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigninChoice {
    pub signin_id: Option<String>,
}

/// `GET /admin/users`: one of `email`, `phone_number`, `username` (exact lookup), or a page
/// (`limit`, 1 to 100, default 50; `cursor` from the previous page's `next_cursor`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminUsersQuery {
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// `PATCH /admin/users/{user_id}`: the user's own editable fields (checked as `PATCH /me`
/// checks them) and the operator's (`blocked`, `email_verified`, `phone_number_verified`).
///
/// It repeats `MeBody`'s fields instead of flattening a shared struct: `#[serde(flatten)]`
/// buffers the fields before the inner struct reads them, so `exact_metadata` can no longer read
/// a value's raw text (every `metadata` would be refused), and the OpenAPI schema would become
/// an `allOf` of a new component (both tried).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUserBody {
    blocked: Option<bool>,
    email_verified: Option<bool>,
    phone_number_verified: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "exact_metadata")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<ProfileSchema>)]
    profile: Option<Profile>,
}

impl From<AdminUserBody> for AdminUpdate {
    fn from(b: AdminUserBody) -> Self {
        AdminUpdate {
            fields: MeUpdate {
                first_name: b.first_name,
                last_name: b.last_name,
                username: b.username,
                image_url: None,
                metadata: b.metadata,
                profile: b.profile,
            },
            email_verified: b.email_verified,
            phone_number_verified: b.phone_number_verified,
            blocked: b.blocked,
        }
    }
}

/// `POST /admin/signing-keys/rotate`: `{"immediate": true}` for the emergency form.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    #[serde(default)]
    pub immediate: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(body: &str) -> Result<Option<Map<String, Value>>, String> {
        let mut de = serde_json::Deserializer::from_str(body);
        serde_path_to_error::deserialize::<_, MeBody>(&mut de)
            .map(|b| b.metadata)
            .map_err(|e| e.path().to_string())
    }

    #[test]
    fn when_a_metadata_integer_is_beyond_64_bits_it_is_refused_and_one_within_is_exact() {
        let kept = metadata(r#"{"metadata": {"a": 9007199254740993, "b": -9223372036854775808, "c": 18446744073709551615, "d": 1.5, "e": 1e19, "f": "x", "g": null}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(kept["a"].as_u64(), Some(9_007_199_254_740_993));
        assert_eq!(kept["b"].as_i64(), Some(i64::MIN));
        assert_eq!(kept["c"].as_u64(), Some(u64::MAX));
        assert_eq!(kept["e"].as_f64(), Some(1e19));
        let keys: Vec<&String> = kept.keys().collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f", "g"], "order kept");
        let huge = format!("1{}", "0".repeat(400));
        for big in [
            "18446744073709551616",
            "-9223372036854775809",
            huge.as_str(),
        ] {
            let body = format!(r#"{{"metadata": {{"plan": "x", "big": {big}}}}}"#);
            assert_eq!(metadata(&body).unwrap_err(), "metadata.big", "{big}");
        }
        assert_eq!(metadata(r#"{"metadata": null}"#).unwrap(), None);
        assert_eq!(metadata(r#"{}"#).unwrap(), None);
        assert_eq!(metadata(r#"{"metadata": [1]}"#).unwrap_err(), "metadata");
    }
}

/// `POST /auth/reverify`: `{strategy, password}` (the password only with that strategy). No
/// `Debug`: it carries a password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverifyBody {
    strategy: Option<ReverifyStrategy>,
    pub password: Option<String>,
    /// `totp` and `backup_code`: the code.
    pub code: Option<String>,
}

/// How the user proves a factor again (`passkey` is refused until it exists). A user with a
/// second factor on proves one of its second factors.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum ReverifyStrategy {
    Password,
    EmailOtp,
    PhoneOtp,
    Totp,
    BackupCode,
    Passkey,
}

impl ReverifyBody {
    /// The strategy; `None` when the body names none.
    pub fn strategy(&self) -> Option<crate::domain::reverify::Strategy> {
        use crate::domain::reverify::Strategy;
        self.strategy.map(|s| match s {
            ReverifyStrategy::Password => Strategy::Password,
            ReverifyStrategy::EmailOtp => Strategy::EmailOtp,
            ReverifyStrategy::PhoneOtp => Strategy::PhoneOtp,
            ReverifyStrategy::Totp => Strategy::Totp,
            ReverifyStrategy::BackupCode => Strategy::BackupCode,
            ReverifyStrategy::Passkey => Strategy::Passkey,
        })
    }
}

/// An endpoint that takes no body (`POST /me/sessions/...`, `DELETE /me`): empty, or `{}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}
