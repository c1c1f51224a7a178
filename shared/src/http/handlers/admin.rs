//! `POST /admin/users` (seed 003's import) and `POST /admin/signing-keys/rotate`. In AWS the route sits behind API Gateway's `AWS_IAM`
//! authorizer and the adapter marks requests it authorized; the dev server takes `X-Admin-Key`
//! equal to `ADMIN_KEY` instead, and without that setting the route does not exist.

use subtle::ConstantTimeEq;

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::error::AuthError;
use crate::domain::import;
use crate::domain::keyring::Rotation;
use crate::domain::model::Timestamp;
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

#[derive(serde::Serialize)]
struct RotationView {
    kid: String,
    #[serde(with = "time::serde::rfc3339")]
    signs_from: Timestamp,
    /// False when an earlier rotation's key is still waiting to sign: that key is shown.
    staged: bool,
}

/// `POST /admin/signing-keys/rotate`: stages a new token-signing key (published at once, signing
/// after the lead time; see `domain::keyring`).
pub async fn rotate_signing_key(deps: &Deps, req: &Request) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    let view = match deps
        .keys
        .rotate(deps.clock.now())
        .await
        .map_err(AuthError::from)?
    {
        Rotation::Staged(ring) => {
            let newest = ring
                .keys
                .iter()
                .max_by_key(|k| k.signs_from)
                .ok_or_else(|| AuthError::internal("a staged keyring has no key"))?;
            RotationView {
                kid: newest.kid.clone(),
                signs_from: newest.signs_from,
                staged: true,
            }
        }
        Rotation::AlreadyPending { kid, signs_from } => RotationView {
            kid,
            signs_from,
            staged: false,
        },
    };
    tracing::info!(kid = %view.kid, staged = view.staged, "signing key rotation");
    Ok(Reply::json(view))
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
