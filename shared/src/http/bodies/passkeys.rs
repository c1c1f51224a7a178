//! The passkeys' request bodies (issue 16). `credential` is the browser's `PublicKeyCredential`
//! as JSON (`toJSON()`, base64url fields), checked by the domain with webauthn-rs.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /me/passkeys/register/finish`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegisterBody {
    /// The attestation `navigator.credentials.create` answered.
    #[schema(value_type = Object)]
    pub credential: Option<Value>,
    pub name: Option<String>,
}

/// `PATCH /me/passkeys/{passkey_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRenameBody {
    pub name: Option<String>,
}

/// `POST /auth/attempt-verification` for a passkey sign-in attempt.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAssertionBody {
    pub signin_attempt_id: Option<String>,
    /// The assertion `navigator.credentials.get` answered.
    #[schema(value_type = Object)]
    pub credential: Option<Value>,
    /// Optional; `passkey` when given.
    pub strategy: Option<String>,
}
