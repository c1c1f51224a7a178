//! `/me/passkeys` and a passkey sign-in's completion (issue 16).

use serde_json::Value;

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::passkeys::{StoredPasskey, manage, signin};
use crate::domain::ports::store::StoreError;
use crate::http::Request;
use crate::http::bodies::{NoBody, PasskeyAssertionBody, PasskeyRegisterBody, PasskeyRenameBody};
use crate::http::error::ApiError;
use crate::http::request::{json, json_or_default};
use crate::http::routes::{Reply, Route};
use crate::http::views;

/// `POST /me/passkeys/register/begin`: the creation options (`{"publicKey": ...}`).
pub async fn begin(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    let mut options = manage::begin(deps, caller).await?;
    Ok(Reply::json(views::PasskeyCreationOptionsView {
        public_key: options["publicKey"].take(),
    }))
}

/// `POST /me/passkeys/register/finish {credential, name}`: `201` with the new passkey.
pub async fn finish(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: PasskeyRegisterBody = json(req)?;
    let mut missing = Vec::new();
    if body.credential.is_none() {
        missing.push(FieldError::required("credential"));
    }
    if body.name.is_none() {
        missing.push(FieldError::required("name"));
    }
    let (Some(credential), Some(name)) = (body.credential, body.name) else {
        return Err(AuthError::Invalid(missing).into());
    };
    let passkey = manage::finish(deps, caller, credential, &name).await?;
    Ok(Reply::created(views::passkey(&passkey)))
}

/// `GET /me/passkeys`.
pub async fn list(deps: &Deps, caller: &mut Caller) -> Result<Reply, ApiError> {
    let all = manage::list(deps, caller).await?;
    Ok(Reply::json(
        all.iter().map(views::passkey).collect::<Vec<_>>(),
    ))
}

fn passkey_id(req: &Request, route: Route) -> String {
    route
        .path_parameter(req.uri().path(), "passkey_id")
        .unwrap_or_default()
        .to_string()
}

/// `PATCH /me/passkeys/{passkey_id} {name}`.
pub async fn rename(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: PasskeyRenameBody = json(req)?;
    let name = body
        .name
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("name")]))?;
    let id = passkey_id(req, Route::RenamePasskey);
    let passkey = manage::rename(deps, caller, &id, &name).await?;
    Ok(Reply::json(views::passkey(&passkey)))
}

/// `DELETE /me/passkeys/{passkey_id}`: `data` is null.
pub async fn delete(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    let id = passkey_id(req, Route::DeletePasskey);
    manage::delete(deps, caller, &id).await?;
    Ok(Reply::json(Value::Null))
}

/// Whether an attempt-verification body is a passkey's (it carries `credential`).
pub fn is_assertion(req: &Request) -> Option<Value> {
    let body: Value = serde_json::from_slice(req.body()).ok()?;
    body.get("credential").filter(|c| c.is_object()).cloned()
}

/// The passkey an assertion names, read while the session is (`signin::early_read`).
pub async fn early_read(
    deps: &Deps,
    route: Route,
    req: &Request,
) -> Option<Result<Option<StoredPasskey>, StoreError>> {
    if route != Route::AttemptVerification {
        return None;
    }
    let credential = is_assertion(req)?;
    signin::early_read(deps, &credential).await
}

/// `POST /auth/attempt-verification {signin_attempt_id, credential}`: signs in.
pub async fn complete_signin(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
    read: Option<Result<Option<StoredPasskey>, StoreError>>,
) -> Result<Reply, ApiError> {
    let body: PasskeyAssertionBody = json(req)?;
    if body.strategy.as_deref().is_some_and(|s| s != "passkey") {
        return Err(
            AuthError::invalid("strategy", "a credential goes with strategy passkey").into(),
        );
    }
    let attempt_id = body
        .signin_attempt_id
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("signin_attempt_id")]))?;
    let credential = body
        .credential
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("credential")]))?;
    signin::finish(deps, caller, &attempt_id, credential, read).await?;
    Ok(Reply::session())
}
