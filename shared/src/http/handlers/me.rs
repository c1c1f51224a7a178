use crate::domain::Deps;
use crate::domain::model::Channel;
use crate::domain::{Caller, change_password, contacts, me};
use crate::http::Request;
use crate::http::bodies::{ContactBody, ContactCodeBody, MeBody, PasswordChangeBody};
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

/// `POST /me/email {email}` / `POST /me/phone_number {phone_number}`: the session, whose new
/// sign-in attempt (resendable through `POST /auth/prepare-verification`) waits for the code.
pub async fn change_contact(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
    channel: Channel,
) -> Result<Reply, ApiError> {
    let input: ContactBody = json(req)?;
    let (value, other, other_field) = match channel {
        Channel::Email => (input.email, input.phone_number, "phone_number"),
        Channel::Sms => (input.phone_number, input.email, "email"),
    };
    if other.is_some() {
        return Err(crate::domain::AuthError::invalid(other_field, "is not changed here").into());
    }
    contacts::start(deps, caller, channel, value).await?;
    Ok(Reply::session())
}

/// `POST /me/email/verify {code}` / `POST /me/phone_number/verify {code}`: the user with its
/// new contact, verified.
pub async fn verify_contact(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
    channel: Channel,
) -> Result<Reply, ApiError> {
    let input: ContactCodeBody = json(req)?;
    let user = contacts::verify(deps, caller, channel, input.code).await?;
    Ok(Reply::json(views::user(&user)))
}
