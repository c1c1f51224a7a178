//! The table's DynamoDB Stream, read back into the domain's model: which stream records are
//! changes to a user or a signin (the table of `mod.rs` says where each lives), and their old and
//! new images as `User` and `Signin`, for `domain::events::events_of`.
//!
//! A signin is stored twice, in its session's collection and in its user's index (a copy under
//! `USER#<id>`); only the session's copy counts, so each signin change is one event. Every other
//! item (sessions, attempts, claims, counters, the keyring) publishes nothing.

use serde::de::DeserializeOwned;
use serde_dynamo::{AttributeValue, Item};

use crate::domain::events::Change;
use crate::domain::ports::store::StoreError;

use super::keys::{SIGNIN_PREFIX, USER_SK};

/// What an item is, from its keys.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    User,
    Signin,
    Other,
}

fn kind_of(keys: &Item) -> Kind {
    let key = |name: &str| match keys.get(name) {
        Some(AttributeValue::S(s)) => s.as_str(),
        _ => "",
    };
    let (pk, sk) = (key("pk"), key("sk"));
    if pk.starts_with("USER#") && sk == USER_SK {
        Kind::User
    } else if pk.starts_with("SESSION#") && sk.starts_with(SIGNIN_PREFIX) {
        Kind::Signin
    } else {
        Kind::Other
    }
}

/// The change a stream record describes, if it is one events are about. `keys` are the record's
/// `Keys`; an image is `None` (or empty) where the item did not exist (an insert's old image, a
/// removal's new one). A user or signin image that does not read as one is `Corrupt`.
pub fn change_of(
    keys: &Item,
    old_image: Option<Item>,
    new_image: Option<Item>,
) -> Result<Option<Change>, StoreError> {
    Ok(match kind_of(keys) {
        Kind::User => Some(Change::User {
            before: decode(keys, old_image)?,
            after: decode(keys, new_image)?,
        }),
        Kind::Signin => Some(Change::Signin {
            before: decode(keys, old_image)?,
            after: decode(keys, new_image)?,
        }),
        Kind::Other => None,
    })
}

fn decode<T: DeserializeOwned>(keys: &Item, image: Option<Item>) -> Result<Option<T>, StoreError> {
    let Some(image) = image.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    serde_dynamo::from_item(image)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            key: match keys.get("pk") {
                Some(AttributeValue::S(pk)) => pk.clone(),
                _ => String::new(),
            },
            // Only where it failed: serde's message may quote the stored value (a hash, a
            // sealed secret), and this reason is logged.
            reason: format!("the image does not decode ({})", error_kind(&e)),
        })
}

/// The shape of a decoding error, without any value it quotes.
fn error_kind(e: &serde_dynamo::Error) -> &'static str {
    let text = e.to_string();
    if text.starts_with("missing field") {
        "missing field"
    } else if text.starts_with("invalid type") {
        "invalid type"
    } else if text.starts_with("unknown variant") {
        "unknown variant"
    } else {
        "malformed"
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_string())
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        Item::from(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<HashMap<_, _>>(),
        )
    }

    fn signin_image(pk: &str, sk: &str) -> Item {
        item(&[
            ("pk", s(pk)),
            ("sk", s(sk)),
            ("id", s("sin_1")),
            ("session_id", s("sess_1")),
            ("user_id", s("user_1")),
            ("created_at", AttributeValue::N("1767268800".into())),
            ("expires_at", AttributeValue::N("1767873600".into())),
            ("last_active_at", AttributeValue::N("1767268800".into())),
        ])
    }

    #[test]
    fn the_session_copy_of_a_signin_is_a_change_and_the_user_index_copy_is_not() {
        let keys = item(&[("pk", s("SESSION#sess_1")), ("sk", s("SIGNIN#sin_1"))]);
        let change = change_of(
            &keys,
            None,
            Some(signin_image("SESSION#sess_1", "SIGNIN#sin_1")),
        )
        .unwrap();
        match change {
            Some(Change::Signin {
                before: None,
                after: Some(s),
            }) => assert_eq!((s.id.as_str(), s.user_id.as_str()), ("sin_1", "user_1")),
            other => panic!("{other:?}"),
        }
        let index = item(&[("pk", s("USER#user_1")), ("sk", s("SIGNIN#sin_1"))]);
        let copy = signin_image("USER#user_1", "SIGNIN#sin_1");
        assert_eq!(change_of(&index, None, Some(copy)).unwrap(), None);
    }

    #[test]
    fn sessions_attempts_and_claims_are_no_change() {
        for (pk, sk) in [
            ("SESSION#sess_1", "SESSION"),
            ("SESSION#sess_1", "SIGNUP_ATTEMPT#att_1"),
            ("EMAIL#ada@example.com", "CLAIM"),
            ("USER#user_1", "CLAIM#EMAIL#ada@example.com"),
            // A passkey (its public key, counter) and a begun registration: never an event.
            ("PASSKEY#pk_1", "CLAIM"),
            ("USER#user_1", "CLAIM#PASSKEY#pk_1"),
            ("PASSKEY_REGISTRATION#sin_1", "REGISTRATION"),
            ("KEYRING", "KEYRING"),
        ] {
            let keys = item(&[("pk", s(pk)), ("sk", s(sk))]);
            let image = item(&[("pk", s(pk)), ("sk", s(sk)), ("secret_hash", s("x"))]);
            assert_eq!(
                change_of(&keys, Some(image), None).unwrap(),
                None,
                "{pk} {sk}"
            );
        }
    }

    #[test]
    fn a_user_image_that_is_not_a_user_is_corrupt() {
        let keys = item(&[("pk", s("USER#user_1")), ("sk", s("USER"))]);
        let image = item(&[("pk", s("USER#user_1")), ("sk", s("USER")), ("id", s("u"))]);
        assert!(matches!(
            change_of(&keys, None, Some(image)),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
