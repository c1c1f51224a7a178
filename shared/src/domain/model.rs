//! The stored shapes of sessions, signins, attempts and users. The wire shapes live in
//! `http::views`; these carry what must never leave the server (hashes, counters).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use super::factors::{SecondFactorChallenge, SecondFactors};

pub type Timestamp = OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    VerifyPassword,
    VerifyEmailOtp,
    VerifyPhoneOtp,
    VerifyEmailLink,
    CompleteProfile,
    /// A password reset's last step: the code proved the contact, a new password is due.
    ResetPassword,
    /// The first factor is proven and the user has a second factor on: a TOTP, backup or SMS
    /// code (`SigninAttempt::second_factor`) finishes the sign-in.
    VerifySecondFactor,
    /// A passkey sign-in (issue 16): a WebAuthn assertion over the attempt's challenge
    /// (`SigninAttempt::passkey`) finishes it, first and second factor at once.
    VerifyPasskey,
}

impl Step {
    /// The channel a code for this step goes out on, if the step is a code step.
    pub fn channel(self) -> Option<Channel> {
        match self {
            Step::VerifyEmailOtp | Step::VerifyEmailLink => Some(Channel::Email),
            Step::VerifyPhoneOtp => Some(Channel::Sms),
            Step::VerifyPassword
            | Step::CompleteProfile
            | Step::ResetPassword
            | Step::VerifySecondFactor
            | Step::VerifyPasskey => None,
        }
    }
}

/// The two kinds of attempt a session holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    Signup,
    Signin,
}

/// What sign-up and sign-in attempts share: the code machinery.
pub trait CodeAttempt: Send + Sync {
    fn kind(&self) -> AttemptKind;
    fn id(&self) -> &str;
    fn session_id(&self) -> &str;
    fn codes(&self) -> &CodeState;
    fn codes_mut(&mut self) -> &mut CodeState;
    fn completed(&self) -> bool;
    fn current_step(&self) -> Option<Step>;
    fn expires_at(&self) -> Timestamp;
    /// Where a code for `channel` goes; `None` also for a sign-in attempt of an unknown identifier.
    fn destination(&self, channel: Channel) -> Option<&str>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupMethod {
    EmailOtp,
    PhoneOtp,
    EmailLink,
    Sso,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigninMethod {
    Password,
    EmailOtp,
    PhoneOtp,
    Sso,
    /// A password reset by a code to the account's email, then `reset_password`.
    ResetPasswordEmailCode,
    /// A password reset by a code to the account's verified phone, then `reset_password`.
    ResetPasswordPhoneCode,
    /// A discoverable passkey (issue 16): no identifier, the authenticator names the user.
    Passkey,
}

impl SigninMethod {
    /// The channel a code-based method sends on (`None`: password, `sso`).
    pub fn code_channel(self) -> Option<Channel> {
        match self {
            SigninMethod::EmailOtp | SigninMethod::ResetPasswordEmailCode => Some(Channel::Email),
            SigninMethod::PhoneOtp | SigninMethod::ResetPasswordPhoneCode => Some(Channel::Sms),
            SigninMethod::Password | SigninMethod::Sso | SigninMethod::Passkey => None,
        }
    }

    pub fn is_reset(self) -> bool {
        matches!(
            self,
            SigninMethod::ResetPasswordEmailCode | SigninMethod::ResetPasswordPhoneCode
        )
    }
}

/// The one code currently out for an attempt. A new send replaces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    pub channel: Channel,
    /// Hex HMAC-SHA256 of the code, bound to the attempt and channel (see `codes`).
    pub hash: String,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: Timestamp,
    /// When it was handed to SES/SNS; `None` while the send failed, so a resend is not held back.
    #[serde(with = "time::serde::timestamp::option", default)]
    pub sent_at: Option<Timestamp>,
    /// Its delivery failed (SES or SNS refused it, in the request or in the `send-codes`
    /// function): the session shows it, and a resend replaces the code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delivery_failed: bool,
}

/// Counters shared by sign-up and sign-in attempts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeState {
    pub code: Option<PendingCode>,
    /// Codes sent for this attempt, successful or not (at most `limits::SENDS_PER_ATTEMPT`).
    pub sends: u32,
    /// Wrong codes submitted (the attempt dies at `limits::WRONG_CODES_PER_ATTEMPT`).
    pub wrong_codes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignupAttempt {
    pub id: String,
    pub session_id: String,
    pub method: SignupMethod,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// argon2id PHC string; never sent to a client.
    pub password_hash: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub profile: Map<String, Value>,
    /// Steps still to do, the current one first. Empty once completed.
    pub remaining_steps: Vec<Step>,
    pub email_verified: bool,
    pub phone_verified: bool,
    #[serde(default)]
    pub missing_fields: Vec<String>,
    /// The picture an identity provider gave (a `sso` sign-up).
    #[serde(default)]
    pub image_url: Option<String>,
    /// The provider identity a `sso` sign-up continues; claimed for the user it creates.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// Set by completeSignup when the agreements were accepted; carried to the user.
    #[serde(with = "time::serde::timestamp::option", default)]
    pub signup_agreements_accepted_at: Option<Timestamp>,
    #[serde(flatten)]
    pub codes: CodeState,
    pub completed: bool,
    pub user_id: Option<String>,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: Timestamp,
}

impl CodeAttempt for SignupAttempt {
    fn kind(&self) -> AttemptKind {
        AttemptKind::Signup
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn session_id(&self) -> &str {
        &self.session_id
    }
    fn codes(&self) -> &CodeState {
        &self.codes
    }
    fn codes_mut(&mut self) -> &mut CodeState {
        &mut self.codes
    }
    fn completed(&self) -> bool {
        self.completed
    }
    fn current_step(&self) -> Option<Step> {
        self.remaining_steps.first().copied()
    }
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
    fn destination(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Email => self.email.as_deref(),
            Channel::Sms => self.phone_number.as_deref(),
        }
    }
}

impl SignupAttempt {
    /// Contact fields given but not yet proven.
    pub fn unverified_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.email.is_some() && !self.email_verified {
            out.push("email");
        }
        if self.phone_number.is_some() && !self.phone_verified {
            out.push("phone_number");
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SigninAttempt {
    pub id: String,
    pub session_id: String,
    pub method: SigninMethod,
    /// The identifier as the user typed it, masked before it leaves the server.
    pub identifier: String,
    /// The user the identifier resolved to; `None` for an unknown identifier, which must look alike.
    pub user_id: Option<String>,
    pub destination: Option<String>,
    pub remaining_steps: Vec<Step>,
    #[serde(default)]
    pub missing_fields: Vec<String>,
    /// What an `sso` attempt keeps server-side while the user is at the provider.
    #[serde(default)]
    pub sso: Option<SsoRequest>,
    /// What a known user's password reset needs at its last step, read when it was opened (kept
    /// server-side; `None` for other attempts and for an unknown identifier's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<ResetContext>,
    /// A reverification (`POST /auth/reverify`): the signin whose `verified_at` completing this
    /// attempt refreshes, instead of granting a new signin.
    #[serde(default)]
    pub reverifies: Option<String>,
    /// A contact change (`POST /me/email`, `POST /me/phone_number`): the signin that asked for
    /// it. The code goes to the new contact (`destination`); the right code moves the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_contact: Option<String>,
    /// A user with a second factor on: the step `verify_second_factor` follows the first factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<SecondFactorChallenge>,
    /// A passkey sign-in: the WebAuthn challenge it waits on (`domain::passkeys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<super::passkeys::model::PasskeyChallenge>,
    #[serde(flatten)]
    pub codes: CodeState,
    pub completed: bool,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: Timestamp,
}

impl CodeAttempt for SigninAttempt {
    fn kind(&self) -> AttemptKind {
        AttemptKind::Signin
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn session_id(&self) -> &str {
        &self.session_id
    }
    fn codes(&self) -> &CodeState {
        &self.codes
    }
    fn codes_mut(&mut self) -> &mut CodeState {
        &mut self.codes
    }
    fn completed(&self) -> bool {
        self.completed
    }
    fn current_step(&self) -> Option<Step> {
        self.remaining_steps.first().copied()
    }
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
    fn destination(&self, _channel: Channel) -> Option<&str> {
        self.destination.as_deref()
    }
}

/// A password reset's view of its user: what the new password must not be built on (email,
/// username, names), and where the "password reset" notice goes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetContext {
    pub notice_to: Option<String>,
    pub password_context: Vec<String>,
    /// The user's `signouts_version` when the reset was opened: its code and its new password
    /// apply only while no end of all the user's signins happened since.
    #[serde(default)]
    pub signouts_version: u64,
    /// Whether a second factor was on when the reset was opened (then the reset meets it);
    /// else its code and its new password apply only while none is on.
    #[serde(default)]
    pub second_factor_on: bool,
}

impl ResetContext {
    pub fn of(user: &User) -> Self {
        Self {
            signouts_version: user.second_factor.signouts_version,
            second_factor_on: user.two_factor_enabled,
            notice_to: user.email.clone(),
            password_context: [
                &user.email,
                &user.username,
                &user.first_name,
                &user.last_name,
            ]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        }
    }
}

/// An OpenID Connect authorization in flight. None of it leaves the server: the state is kept as
/// a hash, and the nonce and PKCE verifier are only ever sent to the provider's token endpoint.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoRequest {
    pub provider: String,
    /// Hex SHA-256 of the `state` parameter.
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where the browser goes when the callback is done (on `ALLOWED_REDIRECT_URIS`).
    pub redirect_uri: String,
}

impl std::fmt::Debug for SsoRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoRequest")
            .field("provider", &self.provider)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// A user's account at an identity provider: the issuer's `sub` under our provider name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signin {
    pub id: String,
    pub session_id: String,
    pub user_id: String,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: Timestamp,
    #[serde(with = "time::serde::timestamp")]
    pub last_active_at: Timestamp,
    /// When the user last proved a factor on this signin: set at the grant, refreshed by a
    /// completed reverification (`domain::reverify`). A signin stored before it existed reads as
    /// the epoch, so it must reverify before a sensitive operation.
    #[serde(with = "time::serde::timestamp", default = "epoch")]
    pub verified_at: Timestamp,
    /// The `User-Agent` of the request that granted it (shown in `GET /me/sessions`).
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The client address of the request that granted it.
    #[serde(default)]
    pub ip: Option<String>,
}

fn epoch() -> Timestamp {
    OffsetDateTime::UNIX_EPOCH
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// Hex SHA-256 of the cookie secret; the secret itself is never stored.
    pub secret_hash: String,
    pub active_signin_id: Option<String>,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::timestamp")]
    pub last_active_at: Timestamp,
    /// The earlier of the idle and the absolute deadline.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: Timestamp,
    /// Every attempt stored under the session, oldest first: what caps them per kind
    /// (`limits::ATTEMPTS_PER_SESSION`) and finds the expired ones to delete, kept on the session
    /// itself so one conditional write can check and change it (see `Admission`).
    #[serde(default)]
    pub attempts: Vec<AttemptRef>,
}

/// An attempt as its session lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRef {
    pub id: String,
    pub kind: AttemptKind,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: Timestamp,
}

/// A session with everything under it: what one Query of its item collection returns.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionState {
    pub session: Session,
    pub signins: Vec<Signin>,
    pub signup_attempts: Vec<SignupAttempt>,
    pub signin_attempts: Vec<SigninAttempt>,
}

impl SessionState {
    pub fn new(session: Session) -> Self {
        Self {
            session,
            signins: Vec::new(),
            signup_attempts: Vec::new(),
            signin_attempts: Vec::new(),
        }
    }

    pub fn active_signin(&self) -> Option<&Signin> {
        let id = self.session.active_signin_id.as_deref()?;
        self.signins.iter().find(|s| s.id == id)
    }

    pub fn signin_attempt(&self, id: &str) -> Option<&SigninAttempt> {
        self.signin_attempts.iter().find(|a| a.id == id)
    }

    pub fn signup_attempt(&self, id: &str) -> Option<&SignupAttempt> {
        self.signup_attempts.iter().find(|a| a.id == id)
    }

    /// The attempt of either kind, for the code machinery.
    pub fn attempt_mut(&mut self, kind: AttemptKind, id: &str) -> Option<&mut dyn CodeAttempt> {
        match kind {
            AttemptKind::Signup => self
                .signup_attempts
                .iter_mut()
                .find(|a| a.id == id)
                .map(|a| a as &mut dyn CodeAttempt),
            AttemptKind::Signin => self
                .signin_attempts
                .iter_mut()
                .find(|a| a.id == id)
                .map(|a| a as &mut dyn CodeAttempt),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
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
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub profile: Map<String, Value>,
    /// PHC string; never sent to a client.
    pub password_hash: Option<String>,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub login_attempts: u32,
    /// When the user accepted the signup agreements (seed 002's `signupAgreementsAccepted`).
    #[serde(with = "time::serde::timestamp::option", default)]
    pub signup_agreements_accepted_at: Option<Timestamp>,
    /// Accounts elsewhere an import brought along (seed 003), each also an `IDENTITY#` claim.
    #[serde(default)]
    pub identities: Vec<ImportedIdentity>,
    /// TOTP, backup codes and the SMS second factor (`domain::factors`), flat on the item.
    #[serde(flatten, default)]
    pub second_factor: SecondFactors,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::timestamp")]
    pub updated_at: Timestamp,
}

/// Seed 003's identity: the connection it came through and the raw user object it had there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportedIdentity {
    pub connection: String,
    pub provider: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default)]
    pub details: Map<String, Value>,
}

/// A uniqueness claim: one item per normalized email, phone number or username.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Claim {
    Email(String),
    Phone(String),
    Username(String),
    Identity(Identity),
}

impl Claim {
    /// The request field a conflict on this claim is reported against.
    pub fn field(&self) -> &'static str {
        match self {
            Claim::Email(_) => "email",
            Claim::Phone(_) => "phone_number",
            Claim::Username(_) => "username",
            Claim::Identity(_) => "provider",
        }
    }

    /// The store key, e.g. `EMAIL#ada@example.com`. Values are already normalized.
    pub fn key(&self) -> String {
        match self {
            Claim::Email(v) => format!("EMAIL#{v}"),
            Claim::Phone(v) => format!("PHONE#{v}"),
            Claim::Username(v) => format!("USERNAME#{}", v.to_lowercase()),
            // A subject is case-sensitive and opaque; `#` cannot occur in a provider name.
            Claim::Identity(i) => format!("IDENTITY#{}#{}", i.provider, i.subject),
        }
    }

    /// The claim of a contact a code just proved.
    pub fn for_contact(channel: Channel, destination: &str) -> Claim {
        match channel {
            Channel::Email => Claim::Email(destination.to_string()),
            Channel::Sms => Claim::Phone(destination.to_string()),
        }
    }

    /// Claims for the contacts and username `after` has and `before` did not.
    pub fn for_new_fields(before: &SignupAttempt, after: &SignupAttempt) -> Vec<Claim> {
        let mut claims = Vec::new();
        if before.email.is_none()
            && let Some(e) = &after.email
        {
            claims.push(Claim::Email(e.clone()));
        }
        if before.phone_number.is_none()
            && let Some(p) = &after.phone_number
        {
            claims.push(Claim::Phone(p.clone()));
        }
        if before.username.is_none()
            && let Some(u) = &after.username
        {
            claims.push(Claim::Username(u.clone()));
        }
        claims
    }

    /// The claims a user holds: the username, and only *verified* contacts (an unproven email or
    /// phone claims nothing, so nobody squats or signs in through an address by typing it).
    pub fn for_user(user: &User) -> Vec<Claim> {
        let mut claims = Vec::new();
        if let Some(e) = user.email.as_ref().filter(|_| user.email_verified) {
            claims.push(Claim::Email(e.clone()));
        }
        if let Some(p) = user.phone_number.as_ref().filter(|_| user.phone_verified) {
            claims.push(Claim::Phone(p.clone()));
        }
        if let Some(u) = &user.username {
            claims.push(Claim::Username(u.clone()));
        }
        claims
    }
}
