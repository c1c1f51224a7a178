use crate::App;
use crate::domain::{Caller, session};
use crate::http::error::ApiError;
use crate::http::routes::Reply;

/// `GET /session`: the caller's session, or `data: null` when there is none.
pub async fn get(app: &App, caller: &mut Caller) -> Result<Reply, ApiError> {
    session::touch_if_stale(app, caller).await?;
    Ok(Reply::session())
}
