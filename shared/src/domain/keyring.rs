//! The token-signing keyring and its schedule, as pure functions of time: which key signs, which
//! keys the JWKS publishes, and what a rotation writes. Both key adapters (in-process and
//! table + KMS) apply these same functions, so rotation behaves the same everywhere.
//!
//! Rotation never fails a verification:
//! - a new key is published [`PUBLISH_LEAD`] before it signs, longer than a container keeps its
//!   copy of the keyring ([`REFRESH`]) plus a verifier's JWKS cache ([`JWKS_MAX_AGE`]), so every
//!   verifier knows it before any token carries it and every container switches at the same time;
//! - the key it replaces stays published for [`RETAIN`] after that, longer than the longest
//!   token it can have signed lives.

use serde::{Deserialize, Serialize};
use time::Duration;

use super::model::Timestamp;

/// A container re-reads the keyring when its copy is this old (one read; no decryption unless a
/// key it has not seen is about to sign).
pub const REFRESH: Duration = Duration::minutes(5);
/// `Cache-Control: max-age` of the JWKS.
pub const JWKS_MAX_AGE: Duration = Duration::minutes(5);
/// How long a rotated-in key is published before it signs.
pub const PUBLISH_LEAD: Duration = Duration::minutes(15);
/// The longest `TOKEN_TTL_SECONDS` allows.
pub const MAX_TOKEN_TTL: Duration = Duration::hours(1);
/// How long a replaced key stays published after its successor starts signing: its last tokens'
/// lifetime, plus a container's refresh interval for clocks and stale copies.
pub const RETAIN: Duration = Duration::minutes(65);

/// The public half of a key, as a JWK's RSA members (base64url, no padding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    pub n: String,
    pub e: String,
}

/// The private half, sealed by the adapter (KMS ciphertext in AWS). Never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedKey(pub String);

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedKey(..)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// The key's RFC 7638 thumbprint: the JWT header's `kid`.
    pub kid: String,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: Timestamp,
    /// From when this key signs (until a later key's `signs_from`).
    #[serde(with = "time::serde::timestamp")]
    pub signs_from: Timestamp,
    pub public: PublicKey,
    pub sealed: SealedKey,
}

/// Every key a deployment publishes. `version` makes each write conditional on the one read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    pub version: u64,
    pub keys: Vec<KeyEntry>,
}

/// A container whose keyring reads keep failing stops signing and publishing after this: a key
/// revoked meanwhile must not live on in it.
pub const MAX_STALE: Duration = Duration::minutes(15);

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// A new key, published now, signing from its `signs_from`.
    Staged(Keyring),
    /// An emergency: a new key signing now, and every other key unpublished (their tokens fail).
    Replaced {
        keyring: Keyring,
        revoked: Vec<String>,
    },
    /// A rotation is already under way: this key is published and not yet signing.
    AlreadyPending { kid: String, signs_from: Timestamp },
}

impl Keyring {
    /// A deployment's first key, signing at once (no token exists that anyone could verify).
    pub fn first(mut key: KeyEntry, now: Timestamp) -> Self {
        key.signs_from = now;
        Self {
            version: 1,
            keys: vec![key],
        }
    }

    /// The key that signs at `now`: the latest whose `signs_from` has come (or, should the clock
    /// lag the keyring's writer, the earliest).
    pub fn signing_key(&self, now: Timestamp) -> Option<&KeyEntry> {
        self.keys
            .iter()
            .filter(|k| k.signs_from <= now)
            .max_by_key(|k| k.signs_from)
            .or_else(|| self.keys.iter().min_by_key(|k| k.signs_from))
    }

    /// The keys verifiers must accept at `now`: every key except those replaced more than
    /// [`RETAIN`] ago.
    pub fn published(&self, now: Timestamp) -> Vec<&KeyEntry> {
        self.keys.iter().filter(|k| !self.retired(k, now)).collect()
    }

    fn retired(&self, key: &KeyEntry, now: Timestamp) -> bool {
        self.keys
            .iter()
            .filter(|k| k.signs_from > key.signs_from)
            .map(|k| k.signs_from)
            .min()
            .is_some_and(|replaced_at| now >= replaced_at + RETAIN)
    }

    /// The emergency rotation, for a key believed stolen: `key` signs from `now` and is the only
    /// key published, so tokens signed by any other fail as soon as verifiers refetch the JWKS.
    pub fn replace(&self, mut key: KeyEntry, now: Timestamp) -> Rotation {
        key.signs_from = now;
        Rotation::Replaced {
            revoked: self.keys.iter().map(|k| k.kid.clone()).collect(),
            keyring: Self {
                version: self.version + 1,
                keys: vec![key],
            },
        }
    }

    /// A rotated-in key that has not started signing yet.
    pub fn pending(&self, now: Timestamp) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.signs_from > now)
    }

    /// Adds `key` to sign from `now + PUBLISH_LEAD` and drops retired keys; refused while an
    /// earlier rotation's key has not started signing.
    pub fn rotate(&self, mut key: KeyEntry, now: Timestamp) -> Rotation {
        if let Some(pending) = self.pending(now) {
            return Rotation::AlreadyPending {
                kid: pending.kid.clone(),
                signs_from: pending.signs_from,
            };
        }
        key.signs_from = now + PUBLISH_LEAD;
        let mut keys: Vec<KeyEntry> = self.published(now).into_iter().cloned().collect();
        keys.push(key);
        Rotation::Staged(Self {
            version: self.version + 1,
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: Timestamp = datetime!(2026-01-01 00:00 UTC);

    fn key(kid: &str) -> KeyEntry {
        KeyEntry {
            kid: kid.into(),
            created_at: T0,
            signs_from: T0,
            public: PublicKey {
                n: format!("n-{kid}"),
                e: "AQAB".into(),
            },
            sealed: SealedKey(format!("sealed-{kid}")),
        }
    }

    fn staged(rotation: Rotation) -> Keyring {
        match rotation {
            Rotation::Staged(k) => k,
            other => panic!("expected a staged key, got {other:?}"),
        }
    }

    fn kids(keys: Vec<&KeyEntry>) -> Vec<&str> {
        keys.into_iter().map(|k| k.kid.as_str()).collect()
    }

    #[test]
    fn a_first_key_signs_at_once_and_is_published() {
        let ring = Keyring::first(key("a"), T0);
        assert_eq!(ring.signing_key(T0).unwrap().kid, "a");
        assert_eq!(kids(ring.published(T0)), ["a"]);
    }

    #[test]
    fn a_rotated_in_key_is_published_at_once_but_signs_only_after_the_lead() {
        let rotated_at = T0 + Duration::days(30);
        let ring = staged(Keyring::first(key("a"), T0).rotate(key("b"), rotated_at));
        assert_eq!(ring.version, 2);
        assert_eq!(kids(ring.published(rotated_at)), ["a", "b"]);
        let just_before = rotated_at + PUBLISH_LEAD - Duration::SECOND;
        assert_eq!(ring.signing_key(just_before).unwrap().kid, "a");
        assert_eq!(
            ring.signing_key(rotated_at + PUBLISH_LEAD).unwrap().kid,
            "b"
        );
    }

    #[test]
    fn the_lead_outlasts_a_stale_keyring_copy_and_a_cached_jwks() {
        assert!(PUBLISH_LEAD > REFRESH + JWKS_MAX_AGE);
        assert!(RETAIN >= MAX_TOKEN_TTL + REFRESH);
    }

    #[test]
    fn a_replaced_key_stays_published_until_its_last_token_has_expired() {
        let rotated_at = T0 + Duration::days(30);
        let ring = staged(Keyring::first(key("a"), T0).rotate(key("b"), rotated_at));
        let switch = rotated_at + PUBLISH_LEAD;
        // A token signed by "a" at the last moment it signed lives at most MAX_TOKEN_TTL.
        let last_token_expires = switch + MAX_TOKEN_TTL;
        assert_eq!(kids(ring.published(last_token_expires)), ["a", "b"]);
        assert_eq!(kids(ring.published(switch + RETAIN)), ["b"]);
    }

    #[test]
    fn a_second_rotation_while_one_is_pending_is_refused_and_names_the_pending_key() {
        let ring = staged(Keyring::first(key("a"), T0).rotate(key("b"), T0));
        assert_eq!(
            ring.rotate(key("c"), T0 + Duration::minutes(1)),
            Rotation::AlreadyPending {
                kid: "b".into(),
                signs_from: T0 + PUBLISH_LEAD,
            }
        );
    }

    #[test]
    fn a_rotation_drops_keys_that_are_no_longer_published() {
        let ring = staged(Keyring::first(key("a"), T0).rotate(key("b"), T0));
        let later = T0 + PUBLISH_LEAD + RETAIN;
        let ring = staged(ring.rotate(key("c"), later));
        assert_eq!(ring.version, 3);
        let all: Vec<&str> = ring.keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(all, ["b", "c"]);
    }

    #[test]
    fn an_emergency_replacement_signs_at_once_and_unpublishes_every_other_key() {
        let ring = staged(Keyring::first(key("a"), T0).rotate(key("b"), T0));
        let later = T0 + Duration::minutes(1);
        let Rotation::Replaced { keyring, revoked } = ring.replace(key("c"), later) else {
            panic!("expected a replacement");
        };
        assert_eq!(revoked, ["a", "b"]);
        assert_eq!(keyring.version, 3);
        assert_eq!(keyring.signing_key(later).unwrap().kid, "c");
        assert_eq!(kids(keyring.published(later)), ["c"]);
    }

    #[test]
    fn the_sealed_private_key_never_appears_in_debug_output() {
        let printed = format!("{:?}", Keyring::first(key("a"), T0));
        assert!(!printed.contains("sealed-a"), "{printed}");
    }
}
