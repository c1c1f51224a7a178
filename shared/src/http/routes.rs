//! The route table, the per-request wrapper every endpoint runs in, and the envelope renderer.

use std::time::Instant;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER,
};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use tracing::Instrument;

use super::error::ApiError;
pub use super::reply::{Data, Reply};
use super::request::{RequestId, body_too_large, client_ip, user_agent};
use super::{Request, Response, cors, credential, handlers, views};
use crate::domain::Deps;
use crate::domain::model::Channel;
use crate::domain::{Caller, session};
use crate::ids::new_id;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Signup,
    Signin,
    PrepareVerification,
    AttemptVerification,
    CompleteProfile,
    OauthInit,
    OauthCallback,
    CompleteSignup,
    AdminImportUser,
    GetSession,
    SwitchSignin,
    SignOut,
    GetMe,
    PatchMe,
    IssueToken,
    Jwks,
    OpenidConfiguration,
    RotateSigningKey,
    Reverify,
    ListSessions,
    RevokeSession,
    RevokeOtherSessions,
    DeleteMe,
    ResetPassword,
    ChangePassword,
    ChangeEmail,
    VerifyEmail,
    ChangePhoneNumber,
    VerifyPhoneNumber,
    AdminListUsers,
    AdminGetUser,
    AdminPatchUser,
    AdminDeleteUser,
    AdminSignOutUser,
    StartTotp,
    VerifyTotp,
    DisableTotp,
    ReplaceBackupCodes,
    SetPhoneSecondFactor,
    GetTwoFactor,
    BeginPasskeyRegistration,
    FinishPasskeyRegistration,
    ListPasskeys,
    RenamePasskey,
    DeletePasskey,
}

impl Route {
    pub const ALL: [Route; 45] = [
        Route::Signup,
        Route::Signin,
        Route::PrepareVerification,
        Route::AttemptVerification,
        Route::CompleteProfile,
        Route::OauthInit,
        Route::OauthCallback,
        Route::CompleteSignup,
        Route::AdminImportUser,
        Route::GetSession,
        Route::SwitchSignin,
        Route::SignOut,
        Route::GetMe,
        Route::PatchMe,
        Route::IssueToken,
        Route::Jwks,
        Route::OpenidConfiguration,
        Route::RotateSigningKey,
        Route::ResetPassword,
        Route::ChangePassword,
        Route::Reverify,
        Route::ListSessions,
        Route::RevokeSession,
        Route::RevokeOtherSessions,
        Route::DeleteMe,
        Route::ChangeEmail,
        Route::VerifyEmail,
        Route::ChangePhoneNumber,
        Route::VerifyPhoneNumber,
        Route::AdminListUsers,
        Route::AdminGetUser,
        Route::AdminPatchUser,
        Route::AdminDeleteUser,
        Route::AdminSignOutUser,
        Route::StartTotp,
        Route::VerifyTotp,
        Route::DisableTotp,
        Route::ReplaceBackupCodes,
        Route::SetPhoneSecondFactor,
        Route::GetTwoFactor,
        Route::BeginPasskeyRegistration,
        Route::FinishPasskeyRegistration,
        Route::ListPasskeys,
        Route::RenamePasskey,
        Route::DeletePasskey,
    ];

    pub fn method(self) -> Method {
        match self {
            Route::GetSession
            | Route::GetMe
            | Route::OauthInit
            | Route::OauthCallback
            | Route::Jwks
            | Route::OpenidConfiguration
            | Route::ListSessions
            | Route::AdminListUsers
            | Route::AdminGetUser
            | Route::GetTwoFactor
            | Route::ListPasskeys => Method::GET,
            Route::PatchMe | Route::AdminPatchUser | Route::RenamePasskey => Method::PATCH,
            Route::DeleteMe
            | Route::AdminDeleteUser
            | Route::DisableTotp
            | Route::DeletePasskey => Method::DELETE,
            Route::Signup
            | Route::Signin
            | Route::PrepareVerification
            | Route::AttemptVerification
            | Route::CompleteProfile
            | Route::CompleteSignup
            | Route::AdminImportUser
            | Route::SwitchSignin
            | Route::SignOut
            | Route::IssueToken
            | Route::RotateSigningKey
            | Route::Reverify
            | Route::RevokeSession
            | Route::RevokeOtherSessions
            | Route::ResetPassword
            | Route::ChangePassword
            | Route::ChangeEmail
            | Route::VerifyEmail
            | Route::ChangePhoneNumber
            | Route::VerifyPhoneNumber
            | Route::AdminSignOutUser
            | Route::StartTotp
            | Route::VerifyTotp
            | Route::ReplaceBackupCodes
            | Route::SetPhoneSecondFactor
            | Route::BeginPasskeyRegistration
            | Route::FinishPasskeyRegistration => Method::POST,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Route::Signup => "/auth/signup",
            Route::Signin => "/auth/signin",
            Route::PrepareVerification => "/auth/prepare-verification",
            Route::AttemptVerification => "/auth/attempt-verification",
            Route::CompleteProfile => "/auth/complete-profile",
            Route::OauthInit => "/auth/oauth2/init",
            Route::OauthCallback => "/auth/oauth2/callback",
            Route::CompleteSignup => "/api/users/completeSignup",
            Route::AdminImportUser | Route::AdminListUsers => "/admin/users",
            Route::AdminGetUser | Route::AdminPatchUser | Route::AdminDeleteUser => {
                "/admin/users/{user_id}"
            }
            Route::AdminSignOutUser => "/admin/users/{user_id}/sign-out",
            Route::GetSession => "/session",
            Route::SwitchSignin => "/session/switch-sign-in",
            Route::SignOut => "/session/sign-out",
            Route::GetMe | Route::PatchMe | Route::DeleteMe => "/me",
            Route::IssueToken => "/session/token",
            Route::Jwks => "/.well-known/jwks.json",
            Route::OpenidConfiguration => "/.well-known/openid-configuration",
            Route::RotateSigningKey => "/admin/signing-keys/rotate",
            Route::ChangePassword => "/me/password",
            Route::ChangeEmail => "/me/email",
            Route::VerifyEmail => "/me/email/verify",
            Route::ChangePhoneNumber => "/me/phone_number",
            Route::VerifyPhoneNumber => "/me/phone_number/verify",
            Route::ResetPassword => "/auth/reset-password",
            Route::Reverify => "/auth/reverify",
            Route::ListSessions => "/me/sessions",
            Route::RevokeSession => "/me/sessions/{signin_id}/revoke",
            Route::RevokeOtherSessions => "/me/sessions/revoke-others",
            Route::StartTotp | Route::DisableTotp => "/me/totp",
            Route::VerifyTotp => "/me/totp/verify",
            Route::ReplaceBackupCodes => "/me/backup-codes",
            Route::SetPhoneSecondFactor => "/me/two-factor/phone",
            Route::GetTwoFactor => "/me/two-factor",
            Route::BeginPasskeyRegistration => "/me/passkeys/register/begin",
            Route::FinishPasskeyRegistration => "/me/passkeys/register/finish",
            Route::ListPasskeys => "/me/passkeys",
            Route::RenamePasskey | Route::DeletePasskey => "/me/passkeys/{passkey_id}",
        }
    }

    /// Whether a request path is this route's: equal, where a `{name}` segment of the route's
    /// path stands for any one non-empty segment (API Gateway's path parameters).
    pub fn matches_path(self, path: &str) -> bool {
        let mut want = self.path().split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                    if g.is_empty() {
                        return false;
                    }
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }

    /// The value of the path parameter `{name}` in a request path this route matches.
    pub fn path_parameter<'a>(self, path: &'a str, name: &str) -> Option<&'a str> {
        let placeholder = format!("{{{name}}}");
        self.path()
            .split('/')
            .zip(path.split('/'))
            .find(|(w, _)| *w == placeholder)
            .map(|(_, g)| g)
    }

    /// Public documents (the JWKS, OpenID discovery), the key rotation and the admin API on
    /// users never look at a cookie (no session read): the first two kinds may touch nothing
    /// but the keyring, and an operator's call is about another user, never the caller's own.
    fn reads_session(self) -> bool {
        !matches!(
            self,
            Route::Jwks
                | Route::OpenidConfiguration
                | Route::RotateSigningKey
                | Route::AdminListUsers
                | Route::AdminGetUser
                | Route::AdminPatchUser
                | Route::AdminDeleteUser
                | Route::AdminSignOutUser
        )
    }
}

enum Resolved {
    Route(Route),
    MethodNotAllowed(String),
    NotFound,
}

fn resolve(method: &Method, path: &str) -> Resolved {
    let on_path: Vec<Route> = Route::ALL
        .into_iter()
        .filter(|r| r.matches_path(path))
        .collect();
    if let Some(r) = on_path.iter().find(|r| r.method() == method) {
        return Resolved::Route(*r);
    }
    if on_path.is_empty() {
        return Resolved::NotFound;
    }
    let mut allow: Vec<String> = on_path.iter().map(|r| r.method().to_string()).collect();
    allow.push("OPTIONS".into());
    Resolved::MethodNotAllowed(allow.join(", "))
}

/// Every route on one entry point: the dev server, and the Lambda behind API Gateway's
/// `$default` route (unknown paths, wrong methods, CORS preflights).
pub async fn dispatch(deps: &Deps, req: Request) -> Response {
    if req.method() == Method::OPTIONS {
        return match cors::preflight(&deps.config, &req) {
            Ok(headers) => {
                let mut res = Response::new(Bytes::new());
                *res.status_mut() = StatusCode::NO_CONTENT;
                res.headers_mut().extend(headers);
                res
            }
            Err(e) => render(deps, &req, &Caller::default(), Err(e)),
        };
    }
    match resolve(req.method(), req.uri().path()) {
        Resolved::Route(route) => handle(deps, route, req).await,
        Resolved::MethodNotAllowed(allow) => render(
            deps,
            &req,
            &Caller::default(),
            Err(ApiError::MethodNotAllowed { allow }),
        ),
        Resolved::NotFound => render(deps, &req, &Caller::default(), Err(ApiError::NotFound)),
    }
}

/// The envelope for a request refused before any route runs (the dev server's Host check): no
/// session is read, so `session` is null and no credential is set or cleared.
pub fn refuse(deps: &Deps, req: &Request, error: ApiError) -> Response {
    render(deps, req, &Caller::default(), Err(error))
}

/// Runs one endpoint: the checks every request gets, the handler, and the envelope.
pub async fn handle(deps: &Deps, route: Route, req: Request) -> Response {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| new_id("req"));
    let span = tracing::info_span!("request", request_id = %request_id, route = route.path());
    async move {
        let started = Instant::now();
        let mut caller = Caller::anonymous(client_ip(&req));
        let result = run(deps, route, &req, &mut caller).await;
        let response = match result {
            Ok(Reply {
                data: Data::Document { body, max_age },
                ..
            }) => render_document(body, max_age),
            result => render(deps, &req, &caller, result),
        };
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "handled"
        );
        response
    }
    .instrument(span)
    .await
}

async fn run(
    deps: &Deps,
    route: Route,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let mut passkey = None;
    if route.reads_session() {
        // The cookie, or in header mode the bearer credential (`credential.rs`).
        let presented = credential::Presented::read(req, &deps.config.cookie_name);
        // A forbidden origin learns nothing about the session; every other refusal shows it.
        cors::check_origin(&deps.config, req, &presented)?;
        // A passkey assertion's passkey is read while the session is (one round trip for both).
        let (resolved, read) = tokio::join!(
            session::resolve(deps, presented.credential(), &caller.ip),
            handlers::passkeys::early_read(deps, route, req)
        );
        *caller = resolved?;
        super::gate::second_factor(deps, route, caller).await?;
        passkey = read;
    }
    caller.user_agent = user_agent(req);
    if body_too_large(req) {
        return Err(ApiError::PayloadTooLarge);
    }
    match route {
        Route::Signup => handlers::signup::post(deps, req, caller).await,
        Route::Signin => handlers::signin::post(deps, req, caller).await,
        Route::PrepareVerification => handlers::verification::prepare(deps, req, caller).await,
        Route::AttemptVerification if handlers::passkeys::is_assertion(req).is_some() => {
            handlers::passkeys::complete_signin(deps, req, caller, passkey).await
        }
        Route::AttemptVerification => handlers::verification::attempt(deps, req, caller).await,
        Route::CompleteProfile => handlers::complete_profile::post(deps, req, caller).await,
        Route::OauthInit => handlers::oauth::init(deps, req, caller).await,
        Route::OauthCallback => handlers::oauth::callback(deps, req, caller).await,
        Route::CompleteSignup => handlers::complete_signup::post(deps, req, caller).await,
        Route::AdminImportUser => handlers::admin::import_user(deps, req, caller).await,
        Route::GetSession => handlers::session::get(deps, caller).await,
        Route::SwitchSignin => handlers::session::switch(deps, req, caller).await,
        Route::SignOut => handlers::session::sign_out(deps, req, caller).await,
        Route::GetMe => handlers::me::get(deps, caller).await,
        Route::PatchMe => handlers::me::patch(deps, req, caller).await,
        Route::IssueToken => handlers::token::issue(deps, req, caller).await,
        Route::RotateSigningKey => handlers::admin::rotate_signing_key(deps, req).await,
        Route::Jwks => handlers::token::jwks(deps).await,
        Route::OpenidConfiguration => handlers::token::openid_configuration(deps, req),
        Route::ChangePassword => handlers::me::change_password(deps, req, caller).await,
        Route::ChangeEmail => handlers::me::change_contact(deps, req, caller, Channel::Email).await,
        Route::VerifyEmail => handlers::me::verify_contact(deps, req, caller, Channel::Email).await,
        Route::ChangePhoneNumber => {
            handlers::me::change_contact(deps, req, caller, Channel::Sms).await
        }
        Route::VerifyPhoneNumber => {
            handlers::me::verify_contact(deps, req, caller, Channel::Sms).await
        }
        Route::ResetPassword => handlers::signin::reset_password(deps, req, caller).await,
        Route::Reverify => handlers::devices::reverify(deps, req, caller).await,
        Route::ListSessions => handlers::devices::list(deps, caller).await,
        Route::RevokeSession => handlers::devices::revoke(deps, req, caller).await,
        Route::RevokeOtherSessions => handlers::devices::revoke_others(deps, req, caller).await,
        Route::DeleteMe => handlers::devices::delete_me(deps, req, caller).await,
        Route::AdminListUsers => handlers::admin_users::list(deps, req).await,
        Route::AdminGetUser => handlers::admin_users::get(deps, req, route).await,
        Route::AdminPatchUser => handlers::admin_users::patch(deps, req, route).await,
        Route::AdminDeleteUser => handlers::admin_users::delete(deps, req, route).await,
        Route::AdminSignOutUser => handlers::admin_users::sign_out(deps, req, route).await,
        Route::StartTotp => handlers::two_factor::start_totp(deps, req, caller).await,
        Route::VerifyTotp => handlers::two_factor::verify_totp(deps, req, caller).await,
        Route::DisableTotp => handlers::two_factor::disable_totp(deps, req, caller).await,
        Route::ReplaceBackupCodes => {
            handlers::two_factor::replace_backup_codes(deps, req, caller).await
        }
        Route::SetPhoneSecondFactor => handlers::two_factor::set_phone(deps, req, caller).await,
        Route::GetTwoFactor => handlers::two_factor::get(deps, caller).await,
        Route::BeginPasskeyRegistration => handlers::passkeys::begin(deps, req, caller).await,
        Route::FinishPasskeyRegistration => handlers::passkeys::finish(deps, req, caller).await,
        Route::ListPasskeys => handlers::passkeys::list(deps, caller).await,
        Route::RenamePasskey => handlers::passkeys::rename(deps, req, caller).await,
        Route::DeletePasskey => handlers::passkeys::delete(deps, req, caller).await,
    }
}

/// The envelope: `{status, message, data, session, errors}`, with the credential (a cookie, or in
/// header mode `X-Session-Token`) and CORS headers.
fn render(
    deps: &Deps,
    req: &Request,
    caller: &Caller,
    result: Result<Reply, ApiError>,
) -> Response {
    let session = caller.session.as_ref().map(views::session);
    let session = serde_json::to_value(session).unwrap_or(Value::Null);
    let mut headers = http::HeaderMap::new();
    let empty = matches!(
        &result,
        Ok(Reply {
            data: Data::Empty,
            ..
        })
    );
    let (status, message, data, errors) = match result {
        Ok(reply) => {
            if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                headers.insert(LOCATION, location);
            }
            let data = match reply.data {
                Data::CallerSession => session.clone(),
                Data::Json(v) => v,
                Data::Empty => Value::Null,
                Data::Document { body, .. } => body,
            };
            (reply.status, String::new(), data, Vec::new())
        }
        Err(e) => {
            let correlation_id = new_id("err");
            if e.is_internal() {
                tracing::error!(correlation_id = %correlation_id, error = ?e, "internal error");
            }
            let d = e.describe(&correlation_id);
            if let Some(secs) = d.retry_after_secs {
                headers.insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            if let Some(allow) = d.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
                headers.insert(ALLOW, allow);
            }
            (d.status, d.message, Value::Null, d.errors)
        }
    };
    let body = json!({
        "status": status.as_u16(),
        "message": message,
        "data": data,
        "session": session,
        "errors": errors,
    });

    credential::deliver(
        credential::mode(req),
        caller,
        &deps.config.cookie_name,
        deps.clock.now(),
        &mut headers,
    );
    if !empty {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    cors::decorate(&deps.config, req, &mut headers);

    let body = if empty {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

/// A public document: the JSON itself, cacheable, for any origin (it holds nothing private).
fn render_document(body: Value, max_age: u32) -> Response {
    let mut res = Response::new(Bytes::from(body.to_string()));
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(cache) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(CACHE_CONTROL, cache);
    }
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
