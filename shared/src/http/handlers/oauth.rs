//! `GET /auth/oauth2/init` and `GET /auth/oauth2/callback`. Browsers get redirects; a client
//! that sends `Accept: application/json` gets the envelope instead.

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::oauth::{self, CallbackError};
use crate::http::Request;
use crate::http::bodies::{CallbackQuery, InitQuery};
use crate::http::error::ApiError;
use crate::http::request::{query, wants_json};
use crate::http::routes::Reply;
use crate::http::views::OauthUrlView;

/// Starts the sign-in: 302 to the provider, or `data: {oauth_url}`.
pub async fn init(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let query: InitQuery = query(req)?;
    let url = oauth::init(deps, caller, query.into()).await?;
    Ok(if wants_json(req) {
        Reply::json(OauthUrlView { oauth_url: url })
    } else {
        Reply::redirect(url)
    })
}

/// Finishes it: 302 to the app's `redirect_uri` (with `?error=CODE` on failure), or the envelope.
pub async fn callback(deps: &Deps, req: &Request, caller: &mut Caller) -> Result<Reply, ApiError> {
    let input: CallbackQuery = query(req)?;
    let json = wants_json(req);
    match oauth::callback(deps, caller, input.into()).await {
        Ok(_) if json => Ok(Reply::session()),
        Ok(redirect_uri) => Ok(Reply::redirect(redirect_uri)),
        Err(CallbackError {
            redirect_uri: Some(uri),
            error,
        }) if !json => {
            let error = ApiError::from(error);
            Ok(Reply::redirect(with_error(&uri, &error)))
        }
        Err(e) => Err(e.error.into()),
    }
}

/// `uri` with `error=<CODE>` added to its query. An internal error is logged here under the
/// correlation id that goes along with it, since it is not rendered as an envelope.
fn with_error(uri: &str, error: &ApiError) -> String {
    let correlation_id = crate::ids::new_id("err");
    if error.is_internal() {
        tracing::error!(correlation_id = %correlation_id, error = ?error, "internal error");
    } else {
        tracing::info!(error = ?error, "oauth callback failed");
    }
    let described = error.describe(&correlation_id);
    let code = described
        .errors
        .first()
        .and_then(|e| serde_json::to_value(e.code).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "INTERNAL".into());
    let mut url = url::Url::parse(uri).expect("redirect URIs are checked URLs");
    url.query_pairs_mut().append_pair("error", &code);
    if error.is_internal() {
        url.query_pairs_mut()
            .append_pair("error_id", &correlation_id);
    }
    url.to_string()
}
