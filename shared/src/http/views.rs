//! The wire shapes of DESIGN section 2. Built from the stored model, leaving out every hash,
//! counter and secret; times in RFC 3339 UTC.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::openapi::schemas::{
    SecondFactorStrategySchema, SigninMethodSchema, SignupMethodSchema, StepSchema,
};

use crate::domain::devices::Device;
use crate::domain::factors::SecondFactorStrategy;
use crate::domain::model::{
    CodeAttempt, SessionState, Signin, SigninAttempt, SigninMethod, SignupAttempt, SignupMethod,
    Step, Timestamp, User,
};
use crate::domain::passkeys::{StoredPasskey, ceremony};
use crate::domain::second_factor::TwoFactorStatus;

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub signin_attempts: Vec<SigninAttemptView>,
    pub signins: Vec<SigninView>,
    pub signup_attempts: Vec<SignupAttemptView>,
    pub active_signin: Option<SigninView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SigninView {
    pub id: String,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_active_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SigninAttemptView {
    pub id: String,
    #[schema(value_type = SigninMethodSchema)]
    pub method: SigninMethod,
    pub identifier: String,
    #[schema(value_type = Option<StepSchema>)]
    pub current_step: Option<Step>,
    #[schema(value_type = Vec<StepSchema>)]
    pub remaining_steps: Vec<Step>,
    /// At `verify_second_factor`: how it may be proven (`strategy` of attempt-verification).
    #[schema(value_type = Vec<SecondFactorStrategySchema>)]
    pub second_factor_strategies: Vec<SecondFactorStrategy>,
    /// At `verify_passkey`: the WebAuthn request options (`{"publicKey": ...}`) for
    /// `navigator.credentials.get`; its answer goes to attempt-verification as `credential`.
    #[schema(value_type = Option<Object>)]
    pub passkey_options: Option<Value>,
    pub completed: bool,
    pub requires_completion: bool,
    pub missing_fields: Vec<String>,
    /// Delivering the current code failed (SES or SNS refused it): ask for a new one with
    /// `POST /auth/prepare-verification`, which the cooldown does not hold back. With the code
    /// queue (AWS) this is where a failed delivery shows, on the next read.
    pub delivery_failed: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupAttemptView {
    pub id: String,
    #[schema(value_type = SignupMethodSchema)]
    pub method: SignupMethod,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(value_type = Option<StepSchema>)]
    pub current_step: Option<Step>,
    #[schema(value_type = Vec<StepSchema>)]
    pub remaining_steps: Vec<Step>,
    pub completed: bool,
    pub requires_completion: bool,
    pub missing_fields: Vec<String>,
    #[schema(value_type = Vec<String>)]
    pub unverified_fields: Vec<&'static str>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub image_url: Option<String>,
    pub two_factor_enabled: bool,
    pub email_verified: bool,
    pub phone_verified: bool,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    #[schema(value_type = Object)]
    pub profile: Map<String, Value>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// The admin API's user: seed 001's user object, and what only an operator sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    #[serde(flatten)]
    pub user: UserView,
    /// Blocked users cannot sign in; blocking ended their signins.
    pub blocked: bool,
}

pub fn admin_user(u: &User) -> AdminUserView {
    AdminUserView {
        user: user(u),
        blocked: u.blocked,
    }
}

/// `GET /admin/users`: a page of users, newest first, or the one an exact lookup found (none:
/// empty). `next_cursor` asks for the following page; `null` on the last one.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUsersView {
    pub users: Vec<AdminUserView>,
    pub next_cursor: Option<String>,
}

/// `POST /admin/users/{user_id}/sign-out`: how many signins ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedOutView {
    pub signins_ended: usize,
}

/// `POST /me/totp`: what an authenticator app needs, shown once. `secret` is base32.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrollmentView {
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth_uri` as a QR code, an SVG document.
    pub qr_svg: String,
}

/// `POST /me/totp/verify`, `POST /me/backup-codes`: ten backup codes, shown this once.
#[derive(Serialize, ToSchema)]
pub struct BackupCodesView {
    pub backup_codes: Vec<String>,
}

/// `GET /me/two-factor`, `DELETE /me/totp`, `POST /me/two-factor/phone`: what is on.
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorView {
    pub two_factor_enabled: bool,
    pub totp_enabled: bool,
    pub phone_enabled: bool,
    pub backup_codes_left: usize,
    #[schema(value_type = Vec<SecondFactorStrategySchema>)]
    pub strategies: Vec<SecondFactorStrategy>,
    /// `REQUIRE_SECOND_FACTOR`: while no factor is on, only enrollment (and the session, the
    /// user, reverification, contact changes, deletion) answer; the rest is `403
    /// SECOND_FACTOR_REQUIRED`.
    pub required: bool,
}

pub fn two_factor(s: &TwoFactorStatus) -> TwoFactorView {
    TwoFactorView {
        two_factor_enabled: s.two_factor_enabled,
        totp_enabled: s.totp_enabled,
        phone_enabled: s.phone_enabled,
        backup_codes_left: s.backup_codes_left,
        strategies: s.strategies.clone(),
        required: s.required,
    }
}

/// `POST /session/token`: a short-lived JWT for the active (or named) signin.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub jwt: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// `GET /auth/oauth2/init` when the client asks for JSON: where to send the browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct OauthUrlView {
    pub oauth_url: String,
}

/// `POST /admin/signing-keys/rotate`: the newest key and whether this call staged it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotationView {
    pub kid: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub signs_from: Timestamp,
    /// False when an earlier rotation's key is still waiting to sign: that key is shown.
    pub staged: bool,
    /// The keys an emergency rotation unpublished.
    pub revoked: Vec<String>,
}

/// `GET /.well-known/jwks.json` (RFC 7517): the public keys tokens are verified with.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwksView {
    pub keys: Vec<JwkView>,
}

/// One RSA public key (RFC 7517/7518).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkView {
    #[schema(value_type = String, example = "RSA")]
    pub kty: &'static str,
    #[serde(rename = "use")]
    #[schema(value_type = String, example = "sig")]
    pub key_use: &'static str,
    #[schema(value_type = String, example = "RS256")]
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0), the part Sesame uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenidConfigurationView {
    pub issuer: String,
    pub jwks_uri: String,
    #[schema(value_type = Vec<String>)]
    pub response_types_supported: Vec<&'static str>,
    #[schema(value_type = Vec<String>)]
    pub subject_types_supported: Vec<&'static str>,
    #[schema(value_type = Vec<String>)]
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    #[schema(value_type = Vec<String>)]
    pub claims_supported: Vec<&'static str>,
}

pub fn session(state: &SessionState) -> SessionView {
    let mut signins: Vec<&Signin> = state.signins.iter().collect();
    signins.sort_by_key(|s| s.created_at);
    let mut signup_attempts: Vec<&SignupAttempt> = state.signup_attempts.iter().collect();
    signup_attempts.sort_by_key(|a| a.created_at);
    let mut signin_attempts: Vec<&SigninAttempt> = state.signin_attempts.iter().collect();
    signin_attempts.sort_by_key(|a| a.created_at);
    SessionView {
        id: state.session.id.clone(),
        created_at: state.session.created_at,
        signin_attempts: signin_attempts.into_iter().map(signin_attempt).collect(),
        signins: signins.into_iter().map(signin).collect(),
        signup_attempts: signup_attempts.into_iter().map(signup_attempt).collect(),
        active_signin: state.active_signin().map(signin),
    }
}

pub fn signin(s: &Signin) -> SigninView {
    SigninView {
        id: s.id.clone(),
        user_id: s.user_id.clone(),
        created_at: s.created_at,
        expires_at: s.expires_at,
        last_active_at: s.last_active_at,
    }
}

pub fn signup_attempt(a: &SignupAttempt) -> SignupAttemptView {
    SignupAttemptView {
        id: a.id.clone(),
        method: a.method,
        email: a.email.clone(),
        phone_number: a.phone_number.clone(),
        username: a.username.clone(),
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        current_step: a.current_step(),
        remaining_steps: a.remaining_steps.clone(),
        completed: a.completed,
        requires_completion: !a.missing_fields.is_empty(),
        missing_fields: a.missing_fields.clone(),
        unverified_fields: a.unverified_fields(),
        expires_at: a.expires_at,
        created_at: a.created_at,
    }
}

pub fn signin_attempt(a: &SigninAttempt) -> SigninAttemptView {
    // `verify_second_factor` shows only once it is the current step: before the first factor is
    // proven, the attempt does not tell whether the account has a second factor.
    let at_second_factor = a.current_step() == Some(Step::VerifySecondFactor);
    SigninAttemptView {
        id: a.id.clone(),
        method: a.method,
        identifier: mask(&a.identifier),
        current_step: a.current_step(),
        remaining_steps: a
            .remaining_steps
            .iter()
            .copied()
            .filter(|s| at_second_factor || *s != Step::VerifySecondFactor)
            .collect(),
        second_factor_strategies: a
            .second_factor
            .as_ref()
            .filter(|_| at_second_factor)
            .map(|c| c.strategies.clone())
            .unwrap_or_default(),
        passkey_options: a
            .passkey
            .as_ref()
            .filter(|_| !a.completed && a.current_step() == Some(Step::VerifyPasskey))
            .and_then(|c| serde_json::from_str(&c.options).ok()),
        completed: a.completed,
        requires_completion: !a.missing_fields.is_empty(),
        missing_fields: a.missing_fields.clone(),
        delivery_failed: a.codes.code.as_ref().is_some_and(|c| c.delivery_failed),
        expires_at: a.expires_at,
        created_at: a.created_at,
    }
}

pub fn user(u: &User) -> UserView {
    UserView {
        id: u.id.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        username: u.username.clone(),
        email: u.email.clone(),
        phone_number: u.phone_number.clone(),
        image_url: u.image_url.clone(),
        two_factor_enabled: u.two_factor_enabled,
        email_verified: u.email_verified,
        phone_verified: u.phone_verified,
        metadata: u.metadata.clone(),
        profile: u.profile.clone(),
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// `a***@example.com`, `+1******0123`, `a***`: enough to recognise, not to harvest.
pub fn mask(identifier: &str) -> String {
    if let Some((local, domain)) = identifier.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    if identifier.starts_with('+') {
        let digits: Vec<char> = identifier.chars().skip(1).collect();
        let keep = digits.len().saturating_sub(4);
        let hidden = "*".repeat(keep.saturating_sub(1));
        let country: String = digits.iter().take(1).collect();
        let tail: String = digits.iter().skip(keep).collect();
        return format!("+{country}{hidden}{tail}");
    }
    let first: String = identifier.chars().take(1).collect();
    format!("{first}***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_an_identifier_is_masked_only_a_hint_remains() {
        assert_eq!(mask("ada@example.com"), "a***@example.com");
        assert_eq!(mask("+14155550123"), "+1******0123");
        assert_eq!(mask("countess"), "c***");
    }
}

/// One signin of the user as `GET /me/sessions` lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: String,
    /// The signin this request was made with.
    pub current: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_active_at: Timestamp,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

pub fn devices(devices: &[Device]) -> Vec<DeviceView> {
    devices
        .iter()
        .map(|d| DeviceView {
            id: d.signin.id.clone(),
            current: d.current,
            created_at: d.signin.created_at,
            last_active_at: d.signin.last_active_at,
            user_agent: d.signin.user_agent.clone(),
            ip: d.signin.ip.clone(),
        })
        .collect()
}

/// One passkey of the user (`GET /me/passkeys`): never its key or counter.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    /// The authenticator may sync it (a multi-device passkey).
    pub backup_eligible: bool,
    /// It is synced (backed up) now, as its last use said.
    pub backed_up: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

pub fn passkey(p: &StoredPasskey) -> PasskeyView {
    let (backup_eligible, backed_up) = ceremony::backup_flags(p);
    PasskeyView {
        id: p.id.clone(),
        name: p.name.clone(),
        backup_eligible,
        backed_up,
        created_at: p.created_at,
        last_used_at: p.last_used_at,
    }
}

/// `POST /me/passkeys/register/begin`: WebAuthn creation options.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyCreationOptionsView {
    /// For `navigator.credentials.create({publicKey})` (base64url binary fields, as
    /// `PublicKeyCredential.parseCreationOptionsFromJSON` takes them).
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: Value,
}
