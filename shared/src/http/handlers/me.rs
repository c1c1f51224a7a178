use crate::domain::Deps;
use crate::domain::{Caller, change_password, me};
use crate::http::Request;
use crate::http::bodies::{MeBody, PasswordChangeBody};
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;
use crate::http::views;

/// `GET /me`.
pub async fn get(deps: &Deps, caller: &mut Caller) -> Result<Reply, ApiError> {
    let user = me::current(deps, caller).await?;
    Ok(Reply::json(views::user(&user)))
}

/// `PATCH /me` (seed 001).
pub async fn patch(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let input: MeBody = json(req)?;
    let user = me::update(deps, caller, input.into()).await?;
    Ok(Reply::json(views::user(&user)))
}

/// `POST /me/password`: the user, unchanged on the wire (the hash never leaves the server).
pub async fn change_password(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let input: PasswordChangeBody = json(req)?;
    let user = change_password::change(deps, caller, input.into()).await?;
    Ok(Reply::json(views::user(&user)))
}
