use crate::domain::Deps;
use crate::domain::{Caller, signin};
use crate::http::Request;
use crate::http::bodies::SigninBody;
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;

/// `POST /auth/signin`.
pub async fn post(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let input: SigninBody = json(req)?;
    signin::start(deps, caller, input.into()).await?;
    Ok(Reply::session())
}
