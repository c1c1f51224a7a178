use crate::domain::Deps;
use crate::domain::{Caller, reset, signin};
use crate::http::Request;
use crate::http::bodies::{ResetPasswordBody, SigninBody};
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;

/// `POST /auth/signin`.
pub async fn post(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let input: SigninBody = json(req)?;
    signin::start(deps, caller, input.into()).await?;
    Ok(Reply::session())
}

/// `POST /auth/reset-password`: a reset attempt's new password; signs in like a completed sign-in.
pub async fn reset_password(
    deps: &Deps,
    req: &Request,
    caller: &mut Caller,
) -> Result<Reply, ApiError> {
    let input: ResetPasswordBody = json(req)?;
    reset::reset_password(deps, caller, input.into()).await?;
    Ok(Reply::session())
}
