//! `/me/passkeys`: begin and finish a registration, list, rename, delete (the last after a
//! recent proof, `reverify::require_recent`, as beginning a registration is: a passkey is a
//! complete sign-in on its own).

use serde_json::Value;

use super::ceremony;
use super::model::StoredPasskey;
use super::model::{NAME_MAX_CHARS, PASSKEYS_PER_USER, PendingRegistration, REGISTRATION_TTL};
use crate::domain::Deps;
use crate::domain::caller::Caller;
use crate::domain::error::{AuthError, ErrorCode, FieldError};
use crate::domain::model::Signin;
use crate::domain::notices::{self, Notice};
use crate::domain::ports::passkeys::{PasskeyAdd, PasskeyAdded};
use crate::domain::ports::store::Written;
use crate::domain::reverify;

fn active_signin(caller: &Caller) -> Result<&Signin, AuthError> {
    caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .ok_or(AuthError::Unauthenticated)
}

/// A name as given: trimmed, 1 to `NAME_MAX_CHARS` characters, no control characters.
pub fn valid_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AuthError::Invalid(vec![FieldError::required("name")]));
    }
    if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(AuthError::invalid(
            "name",
            format!("must be at most {NAME_MAX_CHARS} characters, without control characters"),
        ));
    }
    Ok(name.to_string())
}

/// `POST /me/passkeys/register/begin`: the creation options; the state waits in the store for
/// `REGISTRATION_TTL`, one per signin.
pub async fn begin(deps: &Deps, caller: &Caller) -> Result<Value, AuthError> {
    let rp = ceremony::relying_party(deps)?;
    let signin = reverify::require_recent(deps, caller)?;
    let store = deps.store.as_ref();
    let (user, existing) = tokio::join!(
        store.get_user(&signin.user_id),
        store.passkeys_of_user(&signin.user_id)
    );
    let user = user?.ok_or(AuthError::Unauthenticated)?;
    let existing = existing?;
    if existing.len() >= PASSKEYS_PER_USER {
        return Err(AuthError::invalid(
            "passkeys",
            format!("at most {PASSKEYS_PER_USER} passkeys per account: delete one first"),
        ));
    }
    let (options, state) = ceremony::start_registration(rp, &user, &existing)?;
    let pending = PendingRegistration {
        signin_id: signin.id.clone(),
        user_id: user.id.clone(),
        state,
        notify_to: user.email.clone(),
        expires_at: deps.clock.now() + REGISTRATION_TTL,
    };
    store.put_passkey_registration(&pending).await?;
    Ok(options)
}

/// `POST /me/passkeys/register/finish {credential, name}`: the new passkey.
pub async fn finish(
    deps: &Deps,
    caller: &Caller,
    credential: Value,
    name: &str,
) -> Result<StoredPasskey, AuthError> {
    let rp = ceremony::relying_party(deps)?;
    let name = valid_name(name)?;
    let signin = active_signin(caller)?;
    let now = deps.clock.now();
    let gone = || {
        AuthError::invalid(
            "credential",
            "no passkey registration is waiting (none begun, already used, or expired): begin again",
        )
    };
    let registration = deps
        .store
        .passkey_registration(&signin.id)
        .await?
        .filter(|r| r.user_id == signin.user_id && now < r.expires_at)
        .ok_or_else(gone)?;
    let (id, credential) = ceremony::finish_registration(rp, credential, &registration.state)?;
    let passkey = StoredPasskey {
        id,
        user_id: signin.user_id.clone(),
        name,
        credential,
        created_at: now,
        last_used_at: None,
    };
    let add = PasskeyAdd {
        registration,
        passkey,
    };
    match deps.store.add_passkey(&add).await? {
        PasskeyAdded::Done => {
            let to = add.registration.notify_to.as_deref();
            notices::send(deps, Notice::PasskeyAdded, to, &signin.user_id).await;
            Ok(add.passkey)
        }
        PasskeyAdded::Taken => Err(AuthError::Taken(vec![FieldError::new(
            ErrorCode::PasskeyExists,
            "credential",
            "this passkey is already registered",
        )])),
        PasskeyAdded::RegistrationGone => Err(gone()),
        PasskeyAdded::UserGone => Err(AuthError::Unauthenticated),
    }
}

/// `GET /me/passkeys`.
pub async fn list(deps: &Deps, caller: &Caller) -> Result<Vec<StoredPasskey>, AuthError> {
    let signin = active_signin(caller)?;
    Ok(deps.store.passkeys_of_user(&signin.user_id).await?)
}

/// `PATCH /me/passkeys/{id} {name}`: the renamed passkey.
pub async fn rename(
    deps: &Deps,
    caller: &Caller,
    passkey_id: &str,
    name: &str,
) -> Result<StoredPasskey, AuthError> {
    let signin = active_signin(caller)?;
    let name = valid_name(name)?;
    let store = deps.store.as_ref();
    match store
        .rename_passkey(&signin.user_id, passkey_id, &name)
        .await?
    {
        Written::Done => store
            .passkey(&signin.user_id, passkey_id)
            .await?
            .ok_or(AuthError::PasskeyNotFound),
        Written::Conflict => Err(AuthError::PasskeyNotFound),
    }
}

/// `DELETE /me/passkeys/{id}`: after a recent proof; it no longer signs in.
pub async fn delete(deps: &Deps, caller: &Caller, passkey_id: &str) -> Result<(), AuthError> {
    let signin = reverify::require_recent(deps, caller)?;
    match deps
        .store
        .delete_passkey(&signin.user_id, passkey_id)
        .await?
    {
        Written::Done => {
            tell(deps, Notice::PasskeyRemoved, &signin.user_id).await;
            Ok(())
        }
        Written::Conflict => Err(AuthError::PasskeyNotFound),
    }
}

/// The security notice of a removed passkey, to the account's email (one read of the user, after
/// the change committed; best effort, like every notice). An added one's is sent to the address
/// its registration kept, unseen otherwise: a passkey signs in past every other factor.
async fn tell(deps: &Deps, notice: Notice, user_id: &str) {
    match deps.store.get_user(user_id).await {
        Ok(Some(user)) => notices::send(deps, notice, user.email.as_deref(), user_id).await,
        Ok(None) => {}
        Err(e) => tracing::warn!(user_id, ?notice, error = %e, "security notice not sent"),
    }
}
