//! The OpenAPI 3.1 document, generated from the code: every `Route` (one exhaustive `match` in
//! [`operation`], so a new route does not compile until it is described), the request bodies and
//! views (`ToSchema` derived on the wire types in `bodies.rs` and `views.rs`), the envelope, the
//! error codes and both credential modes. The dev server serves it at `GET /openapi.json` and the
//! repository keeps a copy in `openapi.json` (regenerate: `cargo run -q -- --openapi > openapi.json`).

mod render;
pub mod schemas;

use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::bodies::{
    AdminUserBody, AdminUsersQuery, AttemptBody, CallbackQuery, CompleteProfileBody,
    CompleteSignupForm, ContactBody, ContactCodeBody, ImportBody, InitQuery, MeBody, NoBody,
    PasswordChangeBody, PhoneFactorBody, PrepareBody, ResetPasswordBody, ReverifyBody, RotateBody,
    SigninBody, SigninChoice, SignupBody, TotpCodeBody,
};
use super::bodies::{PasskeyAssertionBody, PasskeyRegisterBody, PasskeyRenameBody};
use super::handlers::admin::ADMIN_KEY_HEADER;
use super::routes::Route;
use super::views::{
    AdminUserView, AdminUsersView, BackupCodesView, DeviceView, JwksView, OauthUrlView,
    OpenidConfigurationView, RotationView, SessionView, SignedOutView, TokenView,
    TotpEnrollmentView, TwoFactorView, UserView,
};
use super::views::{PasskeyCreationOptionsView, PasskeyView};
use schemas::{ErrorCodeSchema, FieldErrorSchema};

/// What a route takes in its body.
enum Body {
    None,
    /// A JSON body of this schema; `optional` when an empty body means the defaults.
    Json {
        schema: String,
        optional: bool,
    },
    /// `application/x-www-form-urlencoded`, of this schema.
    Form(String),
}

/// What a route answers when it succeeds.
enum Success {
    /// `200`, the envelope with `data` the caller's session.
    Session,
    /// This status, the envelope with `data` of this schema.
    Data(u16, String),
    /// This status, the envelope with `data` a list of this schema.
    List(u16, String),
    /// `200`, the envelope with `data` null.
    Null,
    /// `200` with no body at all.
    Empty,
    /// `302` to `Location`; the body is still the envelope, with the session.
    Redirect,
    /// `200`, a public JSON document (not the envelope) of this schema.
    Document(String),
}

/// Who may call a route.
#[derive(Clone, Copy, PartialEq)]
enum Access {
    /// Anyone, credential or not: no session is read.
    Public,
    /// A session credential is read when presented (cookie, or header mode's bearer).
    Session,
    /// The admin key (`X-Admin-Key`, dev server) or IAM (deployed).
    Admin,
}

/// One route's operation.
struct Operation {
    summary: &'static str,
    description: &'static str,
    access: Access,
    body: Body,
    query: Vec<Value>,
    success: Vec<Success>,
    /// Error statuses besides the ones every route of its kind can answer (see `responses`).
    errors: &'static [u16],
}

impl Operation {
    fn new(summary: &'static str, access: Access) -> Self {
        Self {
            summary,
            description: "",
            access,
            body: Body::None,
            query: Vec::new(),
            success: vec![Success::Session],
            errors: &[],
        }
    }

    fn about(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    fn json<T: ToSchema>(mut self) -> Self {
        self.body = Body::Json {
            schema: T::name().into_owned(),
            optional: false,
        };
        self
    }

    fn optional_json<T: ToSchema>(mut self) -> Self {
        self.body = Body::Json {
            schema: T::name().into_owned(),
            optional: true,
        };
        self
    }

    fn form<T: ToSchema>(mut self) -> Self {
        self.body = Body::Form(T::name().into_owned());
        self
    }

    fn query<T: IntoParams>(mut self) -> Self {
        self.query = T::into_params(|| None)
            .into_iter()
            .map(|p| serde_json::to_value(p).expect("a parameter serializes"))
            .collect();
        self
    }

    fn answers(mut self, success: Vec<Success>) -> Self {
        self.success = success;
        self
    }

    fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }
}

fn data<T: ToSchema>(status: u16) -> Success {
    Success::Data(status, T::name().into_owned())
}

fn list<T: ToSchema>(status: u16) -> Success {
    Success::List(status, T::name().into_owned())
}

fn public_document<T: ToSchema>() -> Success {
    Success::Document(T::name().into_owned())
}

/// Each route's operation. A new `Route` variant fails to compile here until it is described:
/// its summary, who may call it, its body, what it answers and which errors it adds.
fn operation(route: Route) -> Operation {
    use Access::{Admin, Public, Session};
    match route {
        Route::Signup => Operation::new("Start a sign-up", Session)
            .about("Opens a sign-up attempt in the caller's session (a session is created when there is none). With a password and nothing left to verify or complete, the user is created and signed in at once; otherwise a code is sent and `signup_attempts` shows the steps left.")
            .json::<SignupBody>()
            .errors(&[409, 429, 502]),
        Route::Signin => Operation::new("Start a sign-in", Session)
            .about("`strategy: password` checks the password (and signs in, unless a step is left); `email_otp` or `phone_otp` sends a code. Unknown identifiers are answered like known ones.")
            .json::<SigninBody>()
            .errors(&[401, 403, 429, 502]),
        Route::PrepareVerification => Operation::new("Send a new code", Session)
            .about("Sends (again) the code of an open attempt, on the attempt's channel or the one `strategy` names.")
            .json::<PrepareBody>()
            .errors(&[404, 409, 429, 502]),
        Route::AttemptVerification => Operation::new("Check a code", Session)
            .about("A right code advances the attempt; on its last step the user is created or signed in and the session's credential rotates. A passkey attempt (`verify_passkey`) takes `PasskeyAssertionBody` instead: the answer of `navigator.credentials.get` for the attempt's `passkey_options`; a right one signs in (both factors).")
            .json::<AttemptBody>()
            .errors(&[401, 403, 404, 409, 429, 502]),
        Route::CompleteProfile => Operation::new("Complete a pending attempt", Session)
            .about("Gives an attempt the fields it misses (`missing_fields`), then finishes it like a code would.")
            .json::<CompleteProfileBody>()
            .errors(&[401, 403, 404, 409, 429, 502]),
        Route::OauthInit => Operation::new("Start an OAuth sign-in", Session)
            .about("Answers `302` to the provider, or with `Accept: application/json` the URL in `data.oauth_url`.")
            .query::<InitQuery>()
            .answers(vec![data::<OauthUrlView>(200), Success::Redirect])
            .errors(&[429, 502]),
        Route::OauthCallback => Operation::new("Finish an OAuth sign-in", Session)
            .about("Where the provider sends the browser back. Answers `302` to the `redirect_uri` given at init (with `error=<CODE>` when it failed), or with `Accept: application/json` the envelope.")
            .query::<CallbackQuery>()
            .answers(vec![Success::Session, Success::Redirect])
            .errors(&[401, 403, 409, 429, 502]),
        Route::CompleteSignup => Operation::new("Complete a sign-up (seed 002's form)", Session)
            .about("The legacy form post, parameters in the form or the query. Answers `200` with no body when the user is signed in, or the envelope when a code step comes next.")
            .form::<CompleteSignupForm>()
            .answers(vec![Success::Empty, Success::Session])
            .errors(&[401, 403, 404, 406, 409, 429, 502]),
        Route::AdminImportUser => Operation::new("Import a user (seed 003)", Admin)
            .about("Creates a user from another system's record, password hash included.")
            .json::<ImportBody>()
            .answers(vec![data::<UserView>(201)])
            .errors(&[401, 404, 409]),
        Route::AdminListUsers => Operation::new("Find or list users", Admin)
            .about("With one of `email`, `phone_number` or `username`: the user holding it (exact, normalized as sign-up stores it; `users` is empty when none does). Otherwise a page of users, newest first: `limit` (1 to 100, default 50) and the `cursor` the previous page answered as `next_cursor`.")
            .query::<AdminUsersQuery>()
            .answers(vec![data::<AdminUsersView>(200)])
            .errors(&[401, 404]),
        Route::AdminGetUser => Operation::new("One user", Admin)
            .answers(vec![data::<AdminUserView>(200)])
            .errors(&[401, 404]),
        Route::AdminPatchUser => Operation::new("Edit, block or unblock a user", Admin)
            .about("The user's own fields, checked as `PATCH /me` checks them, and `blocked`, `email_verified`, `phone_number_verified`. Blocking ends every signin of the user at once; unblocking revives none. A username or contact another user holds is `USERNAME_EXISTS` / `EMAIL_EXISTS` / `PHONE_NUMBER_EXISTS`.")
            .json::<AdminUserBody>()
            .answers(vec![data::<AdminUserView>(200)])
            .errors(&[401, 404, 409]),
        Route::AdminDeleteUser => Operation::new("Delete a user", Admin)
            .about("As `DELETE /me` deletes: the user, its claims and identities and every signin; its email, phone number and username are free again.")
            .answers(vec![Success::Null])
            .errors(&[401, 404]),
        Route::AdminSignOutUser => Operation::new("Sign a user out everywhere", Admin)
            .about("Ends every signin of the user in every browser and device.")
            .answers(vec![data::<SignedOutView>(200)])
            .errors(&[401, 404]),
        Route::GetSession => Operation::new("The caller's session", Session)
            .about("`data` is the session (or null): its signins, open attempts and the active signin."),
        Route::SwitchSignin => Operation::new("Switch the active account", Session)
            .json::<SigninChoice>()
            .errors(&[401, 404]),
        Route::SignOut => Operation::new("Sign out", Session)
            .about("Ends one signin (`signin_id`), or with no body every signin and the session.")
            .optional_json::<SigninChoice>()
            .errors(&[401, 404]),
        Route::GetMe => Operation::new("The signed-in user", Session)
            .answers(vec![data::<UserView>(200)])
            .errors(&[401]),
        Route::PatchMe => Operation::new("Edit the signed-in user", Session)
            .about("`null` or `\"\"` clears a name or the image.")
            .json::<MeBody>()
            .answers(vec![data::<UserView>(200)])
            .errors(&[401, 409]),
        Route::IssueToken => Operation::new("A short-lived JWT for your backend", Session)
            .about("For the active signin, or the one `signin_id` names. Verify it with the JWKS.")
            .optional_json::<SigninChoice>()
            .answers(vec![data::<TokenView>(200)])
            .errors(&[401, 404]),
        Route::Jwks => Operation::new("The token-verification keys (JWKS)", Public)
            .answers(vec![public_document::<JwksView>()]),
        Route::OpenidConfiguration => Operation::new("OpenID Connect discovery", Public)
            .answers(vec![public_document::<OpenidConfigurationView>()]),
        Route::RotateSigningKey => Operation::new("Rotate the token-signing key", Admin)
            .about("Stages a new key (published now, signing after the JWKS cache age); `immediate: true` also revokes the current ones.")
            .optional_json::<RotateBody>()
            .answers(vec![data::<RotationView>(200)])
            .errors(&[401, 404]),
        Route::ResetPassword => Operation::new("Set a new password after a reset code", Session)
            .about("Finishes a `reset_password_email_code` / `reset_password_phone_code` sign-in attempt whose code was proven: sets the password, signs in, and ends every other signin of the user everywhere.")
            .json::<ResetPasswordBody>()
            .errors(&[401, 404, 409, 429]),
        Route::ChangePassword => Operation::new("Change the password", Session)
            .about("With `current_password` (a wrong one counts toward the password limit), or, for a user without a password, a recent reverification. `sign_out_others` ends every other signin of the user.")
            .json::<PasswordChangeBody>()
            .errors(&[401, 429]),
        Route::Reverify => Operation::new("Prove a factor again", Session)
            .about("Refreshes the active signin's `verified_at`: a right `password`, or a right `code` with `totp` / `backup_code` (spent: it reverifies once), at once; `email_otp` / `phone_otp` open a sign-in attempt whose code, checked with `POST /auth/attempt-verification`, does it (no new signin). A user with a second factor on must use one of its second factors (`totp`, `backup_code`, or `phone_otp` when the SMS factor is on); a password or an email code alone is `400 INVALID_FIELD`.")
            .json::<ReverifyBody>()
            .errors(&[401, 429, 502]),
        Route::ListSessions => Operation::new("The user's signins on every device", Session)
            .answers(vec![list::<DeviceView>(200)])
            .errors(&[401]),
        Route::RevokeSession => Operation::new("End one of the user's signins", Session)
            .about("Takes effect on that signin's next request. `data` is the signins left.")
            .optional_json::<NoBody>()
            .answers(vec![list::<DeviceView>(200)])
            .errors(&[401, 404]),
        Route::RevokeOtherSessions => Operation::new("End every other signin of the user", Session)
            .optional_json::<NoBody>()
            .answers(vec![list::<DeviceView>(200)])
            .errors(&[401]),
        Route::DeleteMe => Operation::new("Delete the signed-in user", Session)
            .about("Needs a recent reverification. Deletes the user, its claims and identities and every signin; the email, phone number and username are free again.")
            .optional_json::<NoBody>()
            .answers(vec![Success::Null])
            .errors(&[401]),
        Route::ChangeEmail => Operation::new("Change the email address", Session)
            .about("Needs a recent reverification. Sends a code to the new address (`{email}` only); `POST /me/email/verify` moves it. An address another account holds is `EMAIL_EXISTS`.")
            .json::<ContactBody>()
            .errors(&[401, 409, 429, 502]),
        Route::VerifyEmail => Operation::new("Confirm the new email address", Session)
            .about("The code sent to the new address: the address moves to this user, verified, in one step; the old one is told and is free again.")
            .json::<ContactCodeBody>()
            .answers(vec![data::<UserView>(200)])
            .errors(&[401, 404, 409, 429]),
        Route::ChangePhoneNumber => Operation::new("Change the phone number", Session)
            .about("Needs a recent reverification. Sends a code by SMS to the new number (`{phone_number}` only, in `SMS_ALLOWED_COUNTRIES`); `POST /me/phone_number/verify` moves it.")
            .json::<ContactBody>()
            .errors(&[401, 409, 429, 502]),
        Route::VerifyPhoneNumber => Operation::new("Confirm the new phone number", Session)
            .about("The code sent to the new number: the number moves to this user, verified, in one step.")
            .json::<ContactCodeBody>()
            .answers(vec![data::<UserView>(200)])
            .errors(&[401, 404, 409, 429]),
        Route::StartTotp => Operation::new("Start TOTP enrollment", Session)
            .about("Needs a recent reverification. Answers a new secret (base32), its `otpauth://` URI and the QR code as SVG, shown this once; `POST /me/totp/verify` with the app's code turns TOTP on. Refused (`TOTP_ALREADY_ENABLED`) while TOTP is on.")
            .optional_json::<NoBody>()
            .answers(vec![data::<TotpEnrollmentView>(200)])
            .errors(&[401, 409]),
        Route::VerifyTotp => Operation::new("Turn TOTP on", Session)
            .about("The authenticator app's current code for the secret `POST /me/totp` gave: TOTP is on, and ten backup codes are answered, shown this once (each works once). A security notice goes to the account's email.")
            .json::<TotpCodeBody>()
            .answers(vec![data::<BackupCodesView>(200)])
            .errors(&[401, 409]),
        Route::DisableTotp => Operation::new("Turn TOTP off", Session)
            .about("Needs a recent reverification. With no second factor left the backup codes go too. A security notice goes to the account's email.")
            .optional_json::<NoBody>()
            .answers(vec![data::<TwoFactorView>(200)])
            .errors(&[401, 409]),
        Route::ReplaceBackupCodes => Operation::new("Replace the backup codes", Session)
            .about("Needs a recent reverification and a second factor on. Ten new codes replace every old one, shown this once. A security notice goes to the account's email.")
            .optional_json::<NoBody>()
            .answers(vec![data::<BackupCodesView>(200)])
            .errors(&[401, 409]),
        Route::SetPhoneSecondFactor => Operation::new("SMS codes as a second factor", Session)
            .about("Needs a recent reverification. `enabled: true` needs a verified phone number in `SMS_ALLOWED_COUNTRIES`. A security notice goes to the account's email.")
            .json::<PhoneFactorBody>()
            .answers(vec![data::<TwoFactorView>(200)])
            .errors(&[401, 409]),
        Route::GetTwoFactor => Operation::new("The user's second factors", Session)
            .about("Which factors are on and how many backup codes are left.")
            .answers(vec![data::<TwoFactorView>(200)])
            .errors(&[401]),
        Route::BeginPasskeyRegistration => Operation::new("Begin adding a passkey", Session)
            .about("Needs a recent reverification. `data` is the WebAuthn creation options (`{publicKey}`) for `navigator.credentials.create` (a discoverable credential, user verification required); the challenge waits five minutes, single use.")
            .optional_json::<NoBody>()
            .answers(vec![data::<PasskeyCreationOptionsView>(200)])
            .errors(&[401, 403]),
        Route::FinishPasskeyRegistration => Operation::new("Finish adding a passkey", Session)
            .about("The answer of `navigator.credentials.create` and a name. `409 PASSKEY_EXISTS` if the credential is registered already.")
            .json::<PasskeyRegisterBody>()
            .answers(vec![data::<PasskeyView>(201)])
            .errors(&[401, 409]),
        Route::ListPasskeys => Operation::new("The user's passkeys", Session)
            .answers(vec![list::<PasskeyView>(200)])
            .errors(&[401]),
        Route::RenamePasskey => Operation::new("Rename a passkey", Session)
            .json::<PasskeyRenameBody>()
            .answers(vec![data::<PasskeyView>(200)])
            .errors(&[401, 404]),
        Route::DeletePasskey => Operation::new("Delete a passkey", Session)
            .about("Needs a recent reverification. It no longer signs in.")
            .optional_json::<NoBody>()
            .answers(vec![Success::Null])
            .errors(&[401, 403, 404]),
    }
}

/// Every schema the operations name, with the ones they name in turn, and the envelopes.
fn component_schemas() -> Map<String, Value> {
    let mut all: Vec<(String, RefOr<Schema>)> = Vec::new();
    macro_rules! add {
        ($($t:ty),+ $(,)?) => {$(
            all.push((<$t as ToSchema>::name().into_owned(), <$t as PartialSchema>::schema()));
            <$t as ToSchema>::schemas(&mut all);
        )+};
    }
    add!(
        SignupBody,
        SigninBody,
        PrepareBody,
        AttemptBody,
        CompleteProfileBody,
        CompleteSignupForm,
        MeBody,
        ImportBody,
        SigninChoice,
        RotateBody,
        ResetPasswordBody,
        PasswordChangeBody,
        ReverifyBody,
        NoBody,
        TotpCodeBody,
        PhoneFactorBody,
        ContactBody,
        ContactCodeBody,
        PasskeyRegisterBody,
        PasskeyRenameBody,
        PasskeyAssertionBody,
        PasskeyCreationOptionsView,
        PasskeyView,
        DeviceView,
        SessionView,
        UserView,
        TotpEnrollmentView,
        BackupCodesView,
        TwoFactorView,
        TokenView,
        OauthUrlView,
        RotationView,
        JwksView,
        OpenidConfigurationView,
        AdminUserBody,
        AdminUserView,
        AdminUsersView,
        SignedOutView,
        FieldErrorSchema,
        ErrorCodeSchema,
    );
    let mut all: Vec<(String, Value)> = all
        .into_iter()
        .map(|(name, schema)| {
            let mut schema = serde_json::to_value(schema).expect("schemas serialize");
            if name.ends_with("View") {
                render::every_property_required(&mut schema);
            }
            (name, schema)
        })
        .chain(render::envelopes())
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.dedup_by(|a, b| a.0 == b.0);
    all.into_iter().collect()
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in Route::ALL {
        let item = paths.entry(route.path()).or_insert(json!({}));
        item[route.method().as_str().to_ascii_lowercase()] = render::operation_json(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sesame",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Serverless authentication. Every answer but the two public documents is the envelope `{status, message, data, session, errors}`. Browsers hold the session in a cookie (cookie mode); native apps send `X-Session-Mode: header` and carry the credential themselves (`Authorization: Bearer` in, `X-Session-Token` out).",
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "session_cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "__Host-session",
                    "description": "Cookie mode (browsers): the session cookie (`COOKIE_NAME`, default `__Host-session`).",
                },
                "session_bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Header mode (native apps): `Authorization: Bearer <credential>`, the value of the last `X-Session-Token`.",
                },
                "admin_key": {
                    "type": "apiKey",
                    "in": "header",
                    "name": ADMIN_KEY_HEADER,
                    "description": "The dev server's `ADMIN_KEY`. Deployed, the admin routes are behind IAM instead.",
                },
            },
        },
    })
}

/// The document as the committed `openapi.json` holds it: pretty, with a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
