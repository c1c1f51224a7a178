//! The admin API on users (DESIGN section 14): exact lookup through the uniqueness claims, the
//! listing (newest first, a page per Query), reading, editing, blocking, deleting and signing
//! a user out everywhere. Who may call it is the HTTP layer's business (IAM in AWS,
//! `X-Admin-Key` in the dev server); these services trust their caller.

use super::admin_change::{AdminChange, AdminEdit, AdminOutcome, UserCursor, UserPage};
use super::devices;
use super::error::AuthError;
use super::identifier;
use super::me::{self, MeUpdate};
use super::model::{Claim, User};
use super::validation;
use crate::domain::Deps;
use crate::domain::ports::store::Written;

/// Users per page when the request names no `limit`.
pub const PAGE_DEFAULT: usize = 50;
/// The most users one page holds.
pub const PAGE_MAX: usize = 100;
/// Reads and tries before an edit gives up on a user whose claims keep changing.
const TRIES: usize = 3;

/// `PATCH /admin/users/{id}`: the fields a user may edit themselves (checked by the same rules,
/// `me::validate`), and the ones only an operator sets. `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AdminUpdate {
    pub fields: MeUpdate,
    pub email_verified: Option<bool>,
    pub phone_number_verified: Option<bool>,
    pub blocked: Option<bool>,
}

/// What an exact lookup searches by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupBy {
    Email,
    PhoneNumber,
    Username,
}

/// The claim a lookup value stands for, normalized as sign-up stores it.
pub fn lookup_claim(by: LookupBy, value: &str) -> Result<Claim, AuthError> {
    let invalid = |e| AuthError::Invalid(vec![e]);
    match by {
        LookupBy::Email => identifier::normalize_email(value)
            .map(Claim::Email)
            .map_err(invalid),
        LookupBy::PhoneNumber => validation::phone_number(value)
            .map(Claim::Phone)
            .map_err(invalid),
        LookupBy::Username => validation::username(value)
            .map(Claim::Username)
            .map_err(invalid),
    }
}

/// `GET /admin/users?email=...`: the user holding the claim, if any (two reads: the claim, then
/// the user). An unverified contact holds no claim, so it finds no one.
pub async fn find(deps: &Deps, claim: &Claim) -> Result<Option<User>, AuthError> {
    let Some(user_id) = deps.store.claim_owner(claim).await? else {
        return Ok(None);
    };
    Ok(deps.store.get_user(&user_id).await?)
}

/// `GET /admin/users?limit=&cursor=`: one page, newest first.
pub async fn list(
    deps: &Deps,
    after: Option<&UserCursor>,
    limit: usize,
) -> Result<UserPage, AuthError> {
    Ok(deps
        .store
        .list_users(after, limit.clamp(1, PAGE_MAX))
        .await?)
}

/// `GET /admin/users/{id}`.
pub async fn get(deps: &Deps, user_id: &str) -> Result<User, AuthError> {
    deps.store
        .get_user(user_id)
        .await?
        .ok_or(AuthError::UserNotFound)
}

/// `PATCH /admin/users/{id}`: one write (`UserStore::admin_update`). A new username or a
/// contact marked verified is claimed (`USERNAME_EXISTS`, `EMAIL_EXISTS`, ... when another user
/// holds it); one marked unverified is released. Blocking ends every signin of the user at
/// once: their next request is unauthenticated. Unblocking revives none.
pub async fn update(deps: &Deps, user_id: &str, input: AdminUpdate) -> Result<User, AuthError> {
    let now = deps.clock.now();
    let (profile, username) = me::validate(input.fields, now)?;
    for _ in 0..TRIES {
        let before = get(deps, user_id).await?;
        let mut errors = Vec::new();
        if input.email_verified == Some(true) && before.email.is_none() {
            errors.push(("email_verified", "the user has no email address"));
        }
        if input.phone_number_verified == Some(true) && before.phone_number.is_none() {
            errors.push(("phone_number_verified", "the user has no phone number"));
        }
        if !errors.is_empty() {
            return Err(AuthError::Invalid(
                errors
                    .into_iter()
                    .map(|(f, m)| super::error::FieldError::invalid(f, m))
                    .collect(),
            ));
        }
        let change = AdminChange {
            before,
            edit: AdminEdit {
                profile: profile.clone(),
                username: username.clone(),
                email_verified: input.email_verified,
                phone_verified: input.phone_number_verified,
                blocked: input.blocked,
            },
        };
        match deps.store.admin_update(&change).await? {
            AdminOutcome::Done(user) => {
                if change.ends_signins() {
                    tracing::info!(user_id = %user.id, "user blocked; every signin ended");
                }
                return Ok(*user);
            }
            AdminOutcome::Taken(claims) => return Err(AuthError::taken(&claims)),
            // Changed (or deleted) meanwhile: read it again.
            AdminOutcome::Stale => continue,
        }
    }
    Err(AuthError::internal(
        "the user kept changing underneath the admin update",
    ))
}

/// `DELETE /admin/users/{id}`: the same deletion as `DELETE /me` (`UserStore::delete_user`):
/// the user, its claims (its email, phone number and username are free again), its identities
/// and every signin of it.
pub async fn delete(deps: &Deps, user_id: &str) -> Result<(), AuthError> {
    match deps.store.delete_user(user_id).await? {
        Written::Done => Ok(()),
        Written::Conflict => Err(AuthError::UserNotFound),
    }
}

/// `POST /admin/users/{id}/sign-out`: ends every signin of the user everywhere (exact, as
/// `devices::end_other_signins`); returns how many ended.
pub async fn sign_out(deps: &Deps, user_id: &str) -> Result<usize, AuthError> {
    get(deps, user_id).await?;
    Ok(devices::end_other_signins(deps, user_id, None).await?.len())
}
