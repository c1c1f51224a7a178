use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::verification::{self, Target};
use crate::http::Request;
use crate::http::bodies::{AttemptBody, PrepareBody};
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;

/// `POST /auth/prepare-verification`.
pub async fn prepare(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: PrepareBody = json(req)?;
    let channel = body.channel();
    let target = target(body.signin_attempt_id, body.signup_attempt_id)?;
    verification::prepare(deps, caller, &target, channel).await?;
    Ok(Reply::session())
}

/// `POST /auth/attempt-verification` (seed 004).
pub async fn attempt(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: AttemptBody = json(req)?;
    let target = target(body.signin_attempt_id, body.signup_attempt_id)?;
    let code = body
        .code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AuthError::Invalid(vec![FieldError::required("code")]))?;
    verification::attempt_with(deps, caller, &target, &code, body.strategy).await?;
    Ok(Reply::session())
}

/// Exactly one of the two ids.
fn target(signin: Option<String>, signup: Option<String>) -> Result<Target, AuthError> {
    match (signin, signup) {
        (Some(id), None) => Ok(Target::Signin(id)),
        (None, Some(id)) => Ok(Target::Signup(id)),
        (None, None) => Err(AuthError::Invalid(vec![FieldError::required(
            "signup_attempt_id",
        )])),
        (Some(_), Some(_)) => Err(AuthError::invalid(
            "signin_attempt_id",
            "give signin_attempt_id or signup_attempt_id, not both",
        )),
    }
}
