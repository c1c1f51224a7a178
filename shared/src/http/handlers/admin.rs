//! `POST /admin/users` (seed 003's import). In AWS the route sits behind API Gateway's `AWS_IAM`
//! authorizer and the adapter marks requests it authorized; the dev server takes `X-Admin-Key`
//! equal to `ADMIN_KEY` instead, and without that setting the route does not exist.

use subtle::ConstantTimeEq;

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::error::AuthError;
use crate::domain::import;
use crate::http::bodies::ImportBody;
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;
use crate::http::{IamAuthorized, Request, views};

pub const ADMIN_KEY_HEADER: &str = "x-admin-key";

pub async fn import_user(
    deps: &Deps,
    req: &Request,
    _caller: &mut Caller,
) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    let input: ImportBody = json(req)?;
    let user = import::import_user(deps, input.into()).await?;
    Ok(Reply::created(views::user(&user)))
}

fn authorize(deps: &Deps, req: &Request) -> Result<(), ApiError> {
    if req.extensions().get::<IamAuthorized>().is_some() {
        return Ok(());
    }
    let Some(expected) = deps.config.admin_key.as_deref() else {
        return Err(ApiError::NotFound);
    };
    let given = req
        .headers()
        .get(ADMIN_KEY_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if bool::from(given.ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::Unauthenticated.into())
    }
}
