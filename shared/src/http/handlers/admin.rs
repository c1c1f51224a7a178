//! `POST /admin/users` (seed 003's import) and `POST /admin/signing-keys/rotate`. In AWS the route sits behind API Gateway's `AWS_IAM`
//! authorizer and the adapter marks requests it authorized; the dev server takes `X-Admin-Key`
//! equal to `ADMIN_KEY` instead, and without that setting the route does not exist.

use subtle::ConstantTimeEq;

use crate::domain::Caller;
use crate::domain::Deps;
use crate::domain::error::AuthError;
use crate::domain::import;
use crate::domain::keyring::{Keyring, Rotation};
use crate::http::bodies::{ImportBody, RotateBody};
use crate::http::error::ApiError;
use crate::http::request::{json, json_or_default};
use crate::http::routes::Reply;
use crate::http::views::RotationView;
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

/// `POST /admin/signing-keys/rotate`, optional body `{"immediate": true}`: stages a new
/// token-signing key (published at once, signing after the lead time; see `domain::keyring`),
/// or in an emergency replaces every key at once.
pub async fn rotate_signing_key(deps: &Deps, req: &Request) -> Result<Reply, ApiError> {
    authorize(deps, req)?;
    let body: RotateBody = json_or_default(req)?;
    let now = deps.clock.now();
    let rotation = deps
        .keys
        .rotate(now, body.immediate)
        .await
        .map_err(AuthError::from)?;
    let newest = |ring: &Keyring| {
        ring.keys
            .iter()
            .max_by_key(|k| k.signs_from)
            .map(|k| (k.kid.clone(), k.signs_from))
            .ok_or_else(|| AuthError::internal("a rotated keyring has no key"))
    };
    let view = match rotation {
        Rotation::Staged(ring) => {
            let (kid, signs_from) = newest(&ring)?;
            RotationView {
                kid,
                signs_from,
                staged: true,
                revoked: Vec::new(),
            }
        }
        Rotation::Replaced { keyring, revoked } => {
            let (kid, signs_from) = newest(&keyring)?;
            RotationView {
                kid,
                signs_from,
                staged: true,
                revoked,
            }
        }
        Rotation::AlreadyPending { kid, signs_from } => RotationView {
            kid,
            signs_from,
            staged: false,
            revoked: Vec::new(),
        },
    };
    tracing::info!(kid = %view.kid, staged = view.staged, revoked = ?view.revoked, "signing key rotation");
    Ok(Reply::json(view))
}

pub(super) fn authorize(deps: &Deps, req: &Request) -> Result<(), ApiError> {
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
