use crate::App;
use crate::domain::{Caller, me};
use crate::http::Request;
use crate::http::error::ApiError;
use crate::http::request::json;
use crate::http::routes::Reply;
use crate::http::views;

/// `GET /me`.
pub async fn get(app: &App, caller: &mut Caller) -> Result<Reply, ApiError> {
    let user = me::current(app, caller).await?;
    Ok(Reply::json(views::user(&user)))
}

/// `PATCH /me` (seed 001).
pub async fn patch(app: &App, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let input: me::MeUpdate = json(req)?;
    let user = me::update(app, caller, input).await?;
    Ok(Reply::json(views::user(&user)))
}
