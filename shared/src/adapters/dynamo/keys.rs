//! The key schema (see the table in the module docs): sort keys, key prefixes and key builders.

use crate::domain::admin_change::UserCursor;
use crate::domain::model::{AttemptKind, Claim, Timestamp, User};
use crate::domain::ports::store::AttemptKey;
use crate::domain::ports::store::StoreError;

use super::codec::{Item, s, to_item};

pub(super) const SESSION_SK: &str = "SESSION";
pub(super) const SIGNIN_PREFIX: &str = "SIGNIN#";
pub(super) const SIGNUP_ATTEMPT_PREFIX: &str = "SIGNUP_ATTEMPT#";
pub(super) const SIGNIN_ATTEMPT_PREFIX: &str = "SIGNIN_ATTEMPT#";
pub(super) const USER_SK: &str = "USER";
const CLAIM_SK: &str = "CLAIM";
const LIMIT_SK: &str = "LIMIT";

/// An item's key attributes.
fn key(pk: String, sk: impl Into<String>) -> Item {
    Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

pub(super) fn session_pk(id: &str) -> String {
    format!("SESSION#{id}")
}

pub(super) fn session_key(session_id: &str) -> Item {
    key(session_pk(session_id), SESSION_SK)
}

pub(super) fn signin_key(session_id: &str, signin_id: &str) -> Item {
    key(
        session_pk(session_id),
        format!("{SIGNIN_PREFIX}{signin_id}"),
    )
}

pub(super) fn signup_attempt_key(session_id: &str, attempt_id: &str) -> Item {
    attempt_key(AttemptKey {
        session_id,
        attempt_id,
        kind: AttemptKind::Signup,
    })
}

pub(super) fn signin_attempt_key(session_id: &str, attempt_id: &str) -> Item {
    attempt_key(AttemptKey {
        session_id,
        attempt_id,
        kind: AttemptKind::Signin,
    })
}

pub(super) fn attempt_key(k: AttemptKey<'_>) -> Item {
    let prefix = match k.kind {
        AttemptKind::Signup => SIGNUP_ATTEMPT_PREFIX,
        AttemptKind::Signin => SIGNIN_ATTEMPT_PREFIX,
    };
    key(
        session_pk(k.session_id),
        format!("{prefix}{}", k.attempt_id),
    )
}

pub(super) fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub(super) fn user_key(user_id: &str) -> Item {
    key(user_pk(user_id), USER_SK)
}

/// A signin's entry in its user's index: a copy of the signin under the user's key, so one
/// Query lists a user's signins across sessions (`SIGNIN_PREFIX` sort keys).
pub(super) fn user_signin_key(user_id: &str, signin_id: &str) -> Item {
    key(user_pk(user_id), format!("{SIGNIN_PREFIX}{signin_id}"))
}

/// A claim's entry in its owner's index (`USER_CLAIM_PREFIX` + the claim's key), so deleting the
/// user finds every claim it holds, provider identities included.
pub(super) fn user_claim_key(user_id: &str, claim_key: &str) -> Item {
    key(user_pk(user_id), format!("{USER_CLAIM_PREFIX}{claim_key}"))
}

pub(super) const USER_CLAIM_PREFIX: &str = "CLAIM#";
/// The user item's counter of granted signins: every grant adds one, so a write that ends all of
/// a user's signins can require that none was granted since it read them.
pub(super) const SIGNINS_VERSION: &str = "signins_version";
/// The user item's counter of ends of all its signins (`SecondFactors::signouts_version`): a
/// sign-in waiting at its second factor requires it unchanged since its attempt was opened.
pub(super) const SIGNOUTS_VERSION: &str = "signouts_version";
/// The user item's counter of claim moves (username, email, phone changes): every move adds one,
/// so deleting the user can require that no claim moved since it read the user's claims (else a
/// claim taken in between would outlive the user).
pub(super) const CLAIMS_VERSION: &str = "claims_version";

/// A uniqueness claim's key: `claim.key()` is its partition, so one user holds it at most.
pub(super) fn claim_key(claim: &Claim) -> Item {
    claim_key_of(&claim.key())
}

/// The claim item under a claim's key string (`EMAIL#...`), as the user's index records it.
pub(super) fn claim_key_of(claim_key: &str) -> Item {
    key(claim_key.to_string(), CLAIM_SK)
}

/// The counter of one fixed window: a new window is a new item, and TTL removes the old ones.
pub(super) fn counter_key(limit_key: &str, window_ends: Timestamp) -> Item {
    key(
        format!("LIMIT#{limit_key}#{}", window_ends.unix_timestamp()),
        LIMIT_SK,
    )
}

/// The sparse global secondary index of users, newest first (`template.yaml`, `ensure_table`).
pub const USERS_INDEX: &str = "users_by_created";
pub const LIST_PK: &str = "list_pk";
pub const LIST_SK: &str = "list_sk";
/// The one partition of the index.
pub(super) const LIST_PARTITION: &str = "USERS";
/// The user item's attributes the index copies besides the keys: the admin view's fields.
pub const LISTED_FIELDS: [&str; 15] = [
    "id",
    "first_name",
    "last_name",
    "username",
    "email",
    "phone_number",
    "image_url",
    "two_factor_enabled",
    "email_verified",
    "phone_verified",
    "metadata",
    "profile",
    "blocked",
    "created_at",
    "updated_at",
];

/// A new user's item: the user under its key, with its place in the listing.
pub(super) fn user_item(user: &User) -> Result<Item, StoreError> {
    let mut item = to_item(user, user_key(&user.id))?;
    item.insert(LIST_PK.into(), s(LIST_PARTITION));
    item.insert(LIST_SK.into(), s(UserCursor::of(user).sort_key()));
    Ok(item)
}
