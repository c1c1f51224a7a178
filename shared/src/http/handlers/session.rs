use crate::domain::Deps;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::{Caller, session};
use crate::http::Request;
use crate::http::bodies::SigninChoice;
use crate::http::error::ApiError;
use crate::http::request::{json, json_or_default};
use crate::http::routes::Reply;

/// `GET /session`: the caller's session, or `data: null` when there is none.
pub async fn get(deps: &Deps, caller: &mut Caller) -> Result<Reply, ApiError> {
    session::touch_if_stale(deps, caller).await?;
    Ok(Reply::session())
}

/// `POST /session/switch-sign-in`.
pub async fn switch(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: SigninChoice = json(req)?;
    let id = body
        .signin_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("signin_id")]))?;
    session::switch(deps, caller, &id).await?;
    Ok(Reply::session())
}

/// `POST /session/sign-out`: one signin with `signin_id`, or all of them (the body may be empty).
pub async fn sign_out(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: SigninChoice = json_or_default(req)?;
    session::sign_out(deps, caller, body.signin_id.as_deref()).await?;
    Ok(Reply::session())
}
