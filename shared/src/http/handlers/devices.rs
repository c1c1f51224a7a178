//! `POST /auth/reverify`, `GET /me/sessions`, `POST /me/sessions/{signin_id}/revoke`,
//! `POST /me/sessions/revoke-others` and `DELETE /me`.

use crate::domain::Deps;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::{Caller, devices, second_factor};
use crate::http::Request;
use crate::http::bodies::{NoBody, ReverifyBody};
use crate::http::error::ApiError;
use crate::http::request::{json, json_or_default};
use crate::http::routes::{Reply, Route};
use crate::http::views;

/// `POST /auth/reverify`: `data` is the caller's session (holding the new attempt, for a code).
pub async fn reverify(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: ReverifyBody = json(req)?;
    let strategy = body
        .strategy()
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("strategy")]))?;
    second_factor::reverification::start(deps, caller, strategy, body.password, body.code).await?;
    Ok(Reply::session())
}

/// `GET /me/sessions`.
pub async fn list(deps: &Deps, caller: &mut Caller) -> Result<Reply, ApiError> {
    let devices = devices::list(deps, caller).await?;
    Ok(Reply::json(views::devices(&devices)))
}

/// `POST /me/sessions/{signin_id}/revoke`: `data` is the signins left.
pub async fn revoke(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    let signin_id = Route::RevokeSession
        .path_parameter(req.uri().path(), "signin_id")
        .unwrap_or_default()
        .to_string();
    let left = devices::revoke(deps, caller, &signin_id).await?;
    Ok(Reply::json(views::devices(&left)))
}

/// `POST /me/sessions/revoke-others`: `data` is the signins left (the caller's).
pub async fn revoke_others(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    let left = devices::revoke_others(deps, caller).await?;
    Ok(Reply::json(views::devices(&left)))
}

/// `DELETE /me`: `data` is null; `session` no longer holds the deleted user's signin.
pub async fn delete_me(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let _: NoBody = json_or_default(req)?;
    devices::delete_me(deps, caller).await?;
    Ok(Reply::json(serde_json::Value::Null))
}
