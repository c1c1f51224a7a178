use crate::domain::Deps;
use crate::domain::{Caller, complete_profile};
use crate::http::Request;
use crate::http::bodies::CompleteProfileBody;
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;

/// `POST /auth/complete-profile` (seed 000).
pub async fn post(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let body: CompleteProfileBody = json(req)?;
    complete_profile::complete(deps, caller, body.into()).await?;
    Ok(Reply::session())
}
