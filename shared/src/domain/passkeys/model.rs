//! The stored shapes of passkeys and their pure transitions.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Duration;

/// Stored times (kept apart from `domain::model`, which holds `PasskeyChallenge`).
type Timestamp = time::OffsetDateTime;

/// How long a begun registration can be finished.
pub const REGISTRATION_TTL: Duration = Duration::minutes(5);
/// Passkeys one user may hold.
pub const PASSKEYS_PER_USER: usize = 10;
/// The longest name a passkey may be given.
pub const NAME_MAX_CHARS: usize = 64;

/// One passkey of a user, as stored. `credential` never leaves the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// `passkey_id(credential id)`: the same credential always has the same id.
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey` as JSON: the credential id, its public key, the signature counter
    /// and the backup flags, updated at every sign-in (`used`).
    pub credential: String,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::timestamp::option", default)]
    pub last_used_at: Option<Timestamp>,
}

impl StoredPasskey {
    /// A sign-in with it: the credential as `update_credential` left it (counter, backup flags),
    /// and when.
    pub fn used(&self, credential: String, at: Timestamp) -> StoredPasskey {
        StoredPasskey {
            credential,
            last_used_at: Some(at),
            ..self.clone()
        }
    }

    pub fn renamed(&self, name: &str) -> StoredPasskey {
        StoredPasskey {
            name: name.to_string(),
            ..self.clone()
        }
    }
}

/// The stored id of a credential: `pk_` and the first 128 bits of its SHA-256, in hex. Credential
/// ids are up to 1023 bytes of the authenticator's choosing; this keeps keys short and uniform.
pub fn passkey_id(credential_id: &[u8]) -> String {
    let digest = Sha256::digest(credential_id);
    format!("pk_{}", hex::encode(&digest[..16]))
}

/// A passkey sign-in's challenge, kept in its attempt (server-side only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    /// webauthn-rs's `DiscoverableAuthentication` (the challenge and its policy), as JSON.
    pub state: String,
    /// The request options the browser gets (`{"publicKey": ...}`), as JSON.
    pub options: String,
}

/// A registration begun by the signin `signin_id`: one at a time per signin (a new begin
/// replaces it), used once by the finish that adds the passkey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRegistration {
    pub signin_id: String,
    pub user_id: String,
    /// webauthn-rs's `PasskeyRegistration` (the challenge, the excluded credentials), as JSON.
    pub state: String,
    /// The account's email when the registration began, for the "passkey added" notice (so the
    /// finish needs no read of the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_to: Option<String>,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: Timestamp,
}

/// The WebAuthn user handle of a user: the 128 random bits of its id (`usr_<32 hex>`), so a
/// discoverable credential names its user without a lookup table.
pub fn user_handle(user_id: &str) -> Option<[u8; 16]> {
    let hex_part = user_id.strip_prefix("usr_")?;
    let bytes = hex::decode(hex_part).ok()?;
    bytes.try_into().ok()
}

/// The user id a user handle stands for (`user_handle`'s inverse).
pub fn user_of_handle(handle: &[u8]) -> Option<String> {
    (handle.len() == 16).then(|| format!("usr_{}", hex::encode(handle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_handle_turns_back_into_its_user_id() {
        let id = "usr_00112233445566778899aabbccddeeff";
        let handle = user_handle(id).expect("a generated id has a handle");
        assert_eq!(user_of_handle(&handle).as_deref(), Some(id));
        assert_eq!(user_handle("imported-42"), None);
        assert_eq!(user_of_handle(&[1, 2, 3]), None);
    }

    #[test]
    fn a_credential_has_one_stable_id() {
        assert_eq!(passkey_id(b"abc"), passkey_id(b"abc"));
        assert_ne!(passkey_id(b"abc"), passkey_id(b"abd"));
        assert_eq!(passkey_id(b"abc").len(), 3 + 32);
    }

    #[test]
    fn using_a_passkey_keeps_everything_but_the_credential_and_the_time() {
        let at = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let p = StoredPasskey {
            id: "pk_1".into(),
            user_id: "usr_1".into(),
            name: "laptop".into(),
            credential: "{}".into(),
            created_at: at,
            last_used_at: None,
        };
        let renamed = p.renamed("phone");
        assert_eq!((renamed.name.as_str(), &renamed.id), ("phone", &p.id));
        let used = p.used("{\"counter\":1}".into(), at + Duration::minutes(1));
        assert_eq!(used.credential, "{\"counter\":1}");
        assert_eq!(used.last_used_at, Some(at + Duration::minutes(1)));
        assert_eq!(
            (used.id, used.name, used.created_at),
            (p.id, p.name, p.created_at)
        );
    }
}
