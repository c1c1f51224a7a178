//! The WebAuthn ceremonies, on `webauthn-rs` (configured by `WEBAUTHN_RP_ID` and
//! `WEBAUTHN_ORIGINS`, `config::webauthn`). Everything that crosses requests is JSON text: the
//! options for the browser, the ceremony states kept server-side, the credential stored.

use serde_json::Value;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn,
};

use super::model::{PasskeyChallenge, StoredPasskey, passkey_id, user_handle, user_of_handle};
use crate::domain::Deps;
use crate::domain::error::AuthError;
use crate::domain::model::User;

/// The deployment's relying party, or a clear refusal where passkeys are not configured.
pub fn relying_party(deps: &Deps) -> Result<&Webauthn, AuthError> {
    deps.config.webauthn.as_ref().ok_or_else(|| {
        AuthError::invalid(
            "strategy",
            "passkeys are not configured on this deployment (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS)",
        )
    })
}

fn internal(what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::internal(format!("{what}: {e}"))
}

/// Creation options for a new passkey of `user` (its existing ones excluded), and the state to
/// keep until the finish. The credential must be discoverable (a resident key): sign-in names
/// no user.
pub fn start_registration(
    rp: &Webauthn,
    user: &User,
    existing: &[StoredPasskey],
) -> Result<(Value, String), AuthError> {
    let handle = user_handle(&user.id)
        .ok_or_else(|| AuthError::invalid("user", "this account cannot hold passkeys"))?;
    let exclude: Vec<CredentialID> = existing
        .iter()
        .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
        .map(|p| p.cred_id().clone())
        .collect();
    let label = user
        .username
        .clone()
        .or_else(|| user.email.clone())
        .or_else(|| user.phone_number.clone())
        .unwrap_or_else(|| user.id.clone());
    let display = match (&user.first_name, &user.last_name) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => label.clone(),
    };
    let (options, state) = rp
        .start_passkey_registration(
            Uuid::from_bytes(handle),
            &label,
            &display,
            (!exclude.is_empty()).then_some(exclude),
        )
        .map_err(|e| internal("starting a passkey registration", e))?;
    let mut options = serde_json::to_value(&options).map_err(|e| internal("options", e))?;
    // webauthn-rs asks for no resident key; sign-in here names no user, so require one.
    if let Some(selection) = options["publicKey"]["authenticatorSelection"].as_object_mut() {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
    }
    let state = serde_json::to_string(&state).map_err(|e| internal("registration state", e))?;
    Ok((options, state))
}

/// Checks the browser's answer against the registration's state: the new credential's id and
/// the passkey to store (JSON), or `400` naming `credential`.
pub fn finish_registration(
    rp: &Webauthn,
    credential: Value,
    state: &str,
) -> Result<(String, String), AuthError> {
    let credential: RegisterPublicKeyCredential = serde_json::from_value(credential)
        .map_err(|_| AuthError::invalid("credential", "is not a WebAuthn attestation response"))?;
    let state: PasskeyRegistration =
        serde_json::from_str(state).map_err(|e| internal("registration state", e))?;
    let passkey = rp
        .finish_passkey_registration(&credential, &state)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            AuthError::invalid("credential", format!("the passkey was refused: {e}"))
        })?;
    let id = passkey_id(passkey.cred_id().as_ref());
    let json = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    Ok((id, json))
}

/// A discoverable sign-in's challenge: the options for `navigator.credentials.get` and the state.
pub fn start_signin(rp: &Webauthn) -> Result<PasskeyChallenge, AuthError> {
    let (mut options, state) = rp
        .start_discoverable_authentication()
        .map_err(|e| internal("starting a passkey sign-in", e))?;
    // A modal prompt by default; a page that wants the autofill prompt passes
    // `mediation: "conditional"` itself.
    options.mediation = None;
    Ok(PasskeyChallenge {
        state: serde_json::to_string(&state).map_err(|e| internal("sign-in state", e))?,
        options: serde_json::to_string(&options).map_err(|e| internal("options", e))?,
    })
}

/// Who an assertion claims to be: its user (from the user handle) and passkey id. Nothing is
/// verified yet.
pub fn identify(credential: Value) -> Result<(PublicKeyCredential, String, String), AuthError> {
    let refused = || AuthError::InvalidCredentials;
    let credential: PublicKeyCredential = serde_json::from_value(credential)
        .map_err(|_| AuthError::invalid("credential", "is not a WebAuthn assertion response"))?;
    let handle = credential.get_user_unique_id().ok_or_else(refused)?;
    let user_id = user_of_handle(handle).ok_or_else(refused)?;
    let id = passkey_id(credential.get_credential_id());
    Ok((credential, user_id, id))
}

/// Verifies the assertion against the attempt's challenge and the stored passkey (origin, RP id,
/// user verification, signature, counter). The passkey as `update_credential` leaves it, as JSON
/// (unchanged when nothing moved), or `401 INVALID_CREDENTIALS`.
pub fn finish_signin(
    rp: &Webauthn,
    credential: &PublicKeyCredential,
    challenge: &PasskeyChallenge,
    stored: &StoredPasskey,
) -> Result<String, AuthError> {
    let state: DiscoverableAuthentication =
        serde_json::from_str(&challenge.state).map_err(|e| internal("sign-in state", e))?;
    let mut passkey: Passkey =
        serde_json::from_str(&stored.credential).map_err(|e| internal("stored passkey", e))?;
    let key = DiscoverableKey::from(&passkey);
    let result = rp
        .finish_discoverable_authentication(credential, state, &[key])
        .map_err(|e| {
            tracing::info!(error = %e, passkey_id = %stored.id, "passkey assertion refused");
            AuthError::InvalidCredentials
        })?;
    if !result.user_verified() {
        return Err(AuthError::InvalidCredentials);
    }
    if passkey.update_credential(&result) == Some(true) {
        return serde_json::to_string(&passkey).map_err(|e| internal("passkey", e));
    }
    Ok(stored.credential.clone())
}

/// What a stored credential says of its backup: `(backup_eligible, backed_up)`.
pub fn backup_flags(stored: &StoredPasskey) -> (bool, bool) {
    let v: Value = serde_json::from_str(&stored.credential).unwrap_or(Value::Null);
    let flag = |name: &str| v["cred"][name].as_bool().unwrap_or(false);
    (flag("backup_eligible"), flag("backup_state"))
}
