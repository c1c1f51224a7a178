//! `GET /me` and `PATCH /me` (seed 001): the active signin's user.

use serde_json::{Map, Value};

use super::caller::Caller;
use super::error::{AuthError, ErrorCode, FieldError};
use super::model::{Claim, Timestamp, User};
use super::session;
use super::validation::{self, Profile};
use crate::domain::Deps;
use crate::domain::ports::store::{ProfileChanges, UsernameChange};

/// The fields a user may change about themselves: `Some(None)` clears a name or the image;
/// `metadata` and `profile` replace the whole object.
#[derive(Debug, Default)]
pub struct MeUpdate {
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub username: Option<Option<String>>,
    pub image_url: Option<Option<String>>,
    pub metadata: Option<Map<String, Value>>,
    pub profile: Option<Profile>,
}

fn signed_in_user_id(caller: &Caller) -> Result<String, AuthError> {
    caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .map(|s| s.user_id.clone())
        .ok_or(AuthError::Unauthenticated)
}

pub async fn current(deps: &Deps, caller: &mut Caller) -> Result<User, AuthError> {
    let user_id = signed_in_user_id(caller)?;
    let (user, touched) = tokio::join!(
        deps.store.get_user(&user_id),
        session::touch_if_stale(deps, caller)
    );
    touched?;
    user?.ok_or(AuthError::Unauthenticated)
}

pub async fn update(deps: &Deps, caller: &mut Caller, input: MeUpdate) -> Result<User, AuthError> {
    let user_id = signed_in_user_id(caller)?;
    let now = deps.clock.now();
    let (changes, username) = validate(input, now)?;

    let Some(username) = username else {
        return deps
            .store
            .update_profile(&user_id, &changes)
            .await?
            .ok_or(AuthError::Unauthenticated);
    };
    // Moving the username claim needs the old name; read it, and read again if another request
    // changed it in between.
    for _ in 0..3 {
        let mut user = deps
            .store
            .get_user(&user_id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let from = user.username.clone();
        match deps
            .store
            .change_username(&user_id, from.as_deref(), &username, &changes)
            .await?
        {
            UsernameChange::Done => {
                changes.apply(&mut user);
                user.username = Some(username);
                return Ok(user);
            }
            UsernameChange::Taken => {
                return Err(AuthError::taken(&[Claim::Username(username)]));
            }
            UsernameChange::Stale => continue,
        }
    }
    Err(AuthError::internal(
        "username kept changing underneath the update",
    ))
}

pub(crate) fn validate(
    input: MeUpdate,
    now: Timestamp,
) -> Result<(ProfileChanges, Option<String>), AuthError> {
    let mut errors = Vec::new();
    let blank_is_none = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    // Absent: unchanged. Null or blank: cleared. Otherwise checked (an error is collected).
    let mut optional = |value: Option<Option<String>>,
                        check: &dyn Fn(&str) -> Result<String, FieldError>| {
        value.map(|v| blank_is_none(v).and_then(|v| check(&v).map_err(|e| errors.push(e)).ok()))
    };
    let first_name = optional(input.first_name, &|v| validation::name("first_name", v));
    let last_name = optional(input.last_name, &|v| validation::name("last_name", v));
    let image_url = optional(input.image_url, &|v| validation::url("image_url", v));
    let username = match input.username {
        None => None,
        Some(v) => match blank_is_none(v) {
            None => {
                errors.push(FieldError::new(
                    ErrorCode::InvalidField,
                    "username",
                    "cannot be removed",
                ));
                None
            }
            Some(v) => validation::username(&v).map_err(|e| errors.push(e)).ok(),
        },
    };
    if let Some(m) = &input.metadata
        && let Err(e) = validation::metadata(m)
    {
        errors.push(e);
    }
    let profile = match input.profile.as_ref().map(validation::profile).transpose() {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let changes = ProfileChanges {
        first_name,
        last_name,
        image_url,
        metadata: input.metadata,
        profile,
        updated_at: now,
    };
    Ok((changes, username))
}
