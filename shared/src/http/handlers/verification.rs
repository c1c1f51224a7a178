use serde::Deserialize;

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::error::{AuthError, FieldError};
use crate::domain::model::Channel;
use crate::domain::verification::{self, Target};
use crate::http::Request;
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrepareBody {
    signin_attempt_id: Option<String>,
    signup_attempt_id: Option<String>,
    strategy: Option<CodeStrategy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttemptBody {
    signin_attempt_id: Option<String>,
    signup_attempt_id: Option<String>,
    code: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CodeStrategy {
    EmailOtp,
    PhoneOtp,
}

/// `POST /auth/prepare-verification`.
pub async fn prepare(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: PrepareBody = json(req)?;
    let target = target(body.signin_attempt_id, body.signup_attempt_id)?;
    let channel = body.strategy.map(|s| match s {
        CodeStrategy::EmailOtp => Channel::Email,
        CodeStrategy::PhoneOtp => Channel::Sms,
    });
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
    verification::attempt(deps, caller, &target, &code).await?;
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
