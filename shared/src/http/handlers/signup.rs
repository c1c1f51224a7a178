use crate::domain::Deps;
use crate::domain::{Caller, signup};
use crate::http::Request;
use crate::http::bodies::SignupBody;
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;

/// `POST /auth/signup`.
pub async fn post(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: SignupBody = json(req)?;
    signup::start(deps, caller, body.into()).await?;
    Ok(Reply::session())
}
