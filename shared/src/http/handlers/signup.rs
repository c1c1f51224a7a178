use crate::domain::Deps;
use crate::domain::{Caller, signup};
use crate::http::Request;
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;

/// `POST /auth/signup`.
pub async fn post(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let input: signup::SignupInput = json(req)?;
    signup::start(deps, caller, input).await?;
    Ok(Reply::session())
}
