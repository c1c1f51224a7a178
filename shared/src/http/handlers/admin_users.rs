//! The admin API on users (DESIGN section 14): `GET /admin/users` (exact lookup or a page),
//! `GET`, `PATCH` and `DELETE /admin/users/{user_id}`, `POST /admin/users/{user_id}/sign-out`.
//! Authorized like `POST /admin/users` (`admin::authorize`): API Gateway's `AWS_IAM` in AWS,
//! `X-Admin-Key` in the dev server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::admin::authorize;
use crate::domain::Deps;
use crate::domain::admin::{self, LookupBy, PAGE_DEFAULT, PAGE_MAX};
use crate::domain::admin_change::UserCursor;
use crate::domain::error::AuthError;
use crate::http::Request;
use crate::http::bodies::{AdminUserBody, AdminUsersQuery};
use crate::http::error::ApiError;
use crate::http::request::{json, query};
use crate::http::routes::{Reply, Route};
use crate::http::views::{self, AdminUsersView, SignedOutView};

/// `GET /admin/users?email=|phone_number=|username=` or `?limit=&cursor=`.
pub async fn list(deps: &Deps, req: &Request) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    let q: AdminUsersQuery = query(req)?;
    let lookups = [
        (LookupBy::Email, &q.email),
        (LookupBy::PhoneNumber, &q.phone_number),
        (LookupBy::Username, &q.username),
    ];
    let mut given = lookups
        .iter()
        .filter_map(|(by, v)| v.as_ref().map(|v| (*by, v)));
    let lookup = given.next();
    if given.next().is_some() || (lookup.is_some() && (q.limit.is_some() || q.cursor.is_some())) {
        return Err(AuthError::invalid(
            "query",
            "give one of email, phone_number or username, or limit and cursor",
        )
        .into());
    }
    if let Some((by, value)) = lookup {
        let claim = admin::lookup_claim(by, value)?;
        let found = admin::find(deps, &claim).await?;
        return Ok(Reply::json(AdminUsersView {
            users: found.iter().map(views::admin_user).collect(),
            next_cursor: None,
        }));
    }
    let limit = q.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(AuthError::invalid("limit", format!("must be 1 to {PAGE_MAX}")).into());
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = admin::list(deps, after.as_ref(), limit).await?;
    Ok(Reply::json(AdminUsersView {
        users: page.users.iter().map(views::admin_user).collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

/// `GET /admin/users/{user_id}`.
pub async fn get(deps: &Deps, req: &Request, route: Route) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    let user = admin::get(deps, user_id(req, route)?).await?;
    Ok(Reply::json(views::admin_user(&user)))
}

/// `PATCH /admin/users/{user_id}`.
pub async fn patch(deps: &Deps, req: &Request, route: Route) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    let body: AdminUserBody = json(req)?;
    let user = admin::update(deps, user_id(req, route)?, body.into()).await?;
    Ok(Reply::json(views::admin_user(&user)))
}

/// `DELETE /admin/users/{user_id}`: `data` is null.
pub async fn delete(deps: &Deps, req: &Request, route: Route) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    admin::delete(deps, user_id(req, route)?).await?;
    Ok(Reply::json(serde_json::Value::Null))
}

/// `POST /admin/users/{user_id}/sign-out`.
pub async fn sign_out(deps: &Deps, req: &Request, route: Route) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    let signins_ended = admin::sign_out(deps, user_id(req, route)?).await?;
    Ok(Reply::json(SignedOutView { signins_ended }))
}

fn user_id(req: &Request, route: Route) -> Result<&str, ApiError> {
    route
        .path_parameter(req.uri().path(), "user_id")
        .ok_or(ApiError::NotFound)
}

/// The cursor on the wire: opaque (base64url of the listing's sort key).
fn encode_cursor(cursor: &UserCursor) -> String {
    URL_SAFE_NO_PAD.encode(cursor.sort_key())
}

fn decode_cursor(raw: &str) -> Result<UserCursor, AuthError> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|key| UserCursor::from_sort_key(&key))
        .ok_or_else(|| AuthError::invalid("cursor", "is not a cursor this API gave"))
}
