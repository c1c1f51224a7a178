use crate::domain::factors::SecondFactors;
use serde_json::{Map, Value, json};
use time::macros::datetime;

use super::*;
use crate::domain::model::ImportedIdentity;

const T0: Timestamp = datetime!(2026-01-01 12:00 UTC);
const T1: Timestamp = datetime!(2026-01-01 12:05 UTC);

const ARGON2: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$SECRET-ARGON2-HASH";
const BCRYPT: &str = "$2b$10$SECRET.BCRYPT.HASH.abcdefghijklmnopqrstuvwxyz01234567";

fn user() -> User {
    User {
        id: "user_1".into(),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        username: Some("ada".into()),
        email: Some("ada@example.com".into()),
        phone_number: None,
        image_url: None,
        two_factor_enabled: false,
        email_verified: true,
        phone_verified: false,
        metadata: Map::new(),
        profile: Map::new(),
        password_hash: Some(ARGON2.into()),
        blocked: false,
        login_attempts: 0,
        signup_agreements_accepted_at: None,
        identities: Vec::new(),
        second_factor: Default::default(),
        created_at: T0,
        updated_at: T0,
    }
}

fn signin() -> Signin {
    Signin {
        id: "sin_1".into(),
        session_id: "sess_1".into(),
        user_id: "user_1".into(),
        created_at: T0,
        expires_at: datetime!(2026-01-08 12:00 UTC),
        last_active_at: T0,
        verified_at: T0,
        user_agent: Some("Firefox".into()),
        ip: Some("192.0.2.1".into()),
    }
}

fn updated(before: &User, change: impl FnOnce(&mut User)) -> Change {
    let mut after = before.clone();
    change(&mut after);
    Change::User {
        before: Some(before.clone()),
        after: Some(after),
    }
}

fn kinds(change: &Change) -> Vec<&'static str> {
    events_of(change, T1)
        .into_iter()
        .map(|e| e.kind.detail_type())
        .collect()
}

#[test]
fn a_new_user_is_created_with_its_public_fields() {
    let events = events_of(
        &Change::User {
            before: None,
            after: Some(user()),
        },
        T1,
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::UserCreated);
    let detail = Value::Object(events[0].detail.clone());
    assert_eq!(detail["user_id"], "user_1");
    assert_eq!(detail["user"]["email"], "ada@example.com");
    assert_eq!(detail["user"]["email_verified"], true);
    assert_eq!(detail["user"]["created_at"], "2026-01-01T12:00:00Z");
    assert!(detail["user"].get("password_hash").is_none());
}

#[test]
fn an_email_change_is_one_email_changed_with_the_previous_address() {
    let change = updated(&user(), |u| {
        u.email = Some("ada@new.example".into());
        u.updated_at = T1;
    });
    let events = events_of(&change, T1);
    assert_eq!(kinds(&change), ["email.changed"]);
    assert_eq!(
        Value::Object(events[0].detail.clone()),
        json!({"user_id": "user_1", "email": "ada@new.example",
               "previous_email": "ada@example.com", "email_verified": true})
    );
}

#[test]
fn a_phone_change_carries_its_verified_flag_and_no_user_updated() {
    let change = updated(&user(), |u| {
        u.phone_number = Some("+15550000001".into());
        u.phone_verified = true;
        u.updated_at = T1;
    });
    assert_eq!(kinds(&change), ["phone_number.changed"]);
    let detail = &events_of(&change, T1)[0].detail;
    assert_eq!(detail["previous_phone_number"], Value::Null);
    assert_eq!(detail["phone_verified"], true);
}

#[test]
fn profile_fields_are_a_user_updated_naming_each_changed_field() {
    let change = updated(&user(), |u| {
        u.first_name = Some("Augusta".into());
        u.metadata.insert("plan".into(), json!("pro"));
        u.updated_at = T1;
    });
    let events = events_of(&change, T1);
    assert_eq!(kinds(&change), ["user.updated"]);
    assert_eq!(
        events[0].detail["changed"],
        json!(["first_name", "metadata"])
    );
    assert_eq!(events[0].detail["user"]["first_name"], "Augusta");
    assert_eq!(events[0].detail["user"]["metadata"], json!({"plan": "pro"}));
}

#[test]
fn a_verified_flag_alone_is_a_user_updated() {
    let mut before = user();
    before.email_verified = false;
    let change = updated(&before, |u| u.email_verified = true);
    assert_eq!(kinds(&change), ["user.updated"]);
    assert_eq!(
        events_of(&change, T1)[0].detail["changed"],
        json!(["email_verified"])
    );
}

#[test]
fn counters_and_timestamps_alone_publish_nothing() {
    let change = updated(&user(), |u| {
        u.login_attempts += 3;
        u.updated_at = T1;
    });
    assert!(events_of(&change, T1).is_empty());
}

#[test]
fn a_new_password_is_password_changed_but_a_hash_upgrade_is_nothing() {
    let change = updated(&user(), |u| {
        u.password_hash = Some(format!("{ARGON2}-new"));
        u.updated_at = T1;
    });
    assert_eq!(kinds(&change), ["password.changed"]);
    assert_eq!(
        Value::Object(events_of(&change, T1)[0].detail.clone()),
        json!({"user_id": "user_1"})
    );

    let mut imported = user();
    imported.password_hash = Some(BCRYPT.into());
    let upgrade = updated(&imported, |u| u.password_hash = Some(ARGON2.into()));
    assert!(events_of(&upgrade, T1).is_empty());

    // A legacy user who really changes the password moves `updated_at`.
    let real = updated(&imported, |u| {
        u.password_hash = Some(ARGON2.into());
        u.updated_at = T1;
    });
    assert_eq!(kinds(&real), ["password.changed"]);

    let first = updated(
        &User {
            password_hash: None,
            ..user()
        },
        |u| {
            u.password_hash = Some(ARGON2.into());
            u.updated_at = T1;
        },
    );
    assert_eq!(kinds(&first), ["password.changed"]);
}

#[test]
fn two_factor_enabled_is_two_factor_changed() {
    let change = updated(&user(), |u| u.two_factor_enabled = true);
    assert_eq!(kinds(&change), ["two_factor.changed"]);
    assert_eq!(events_of(&change, T1)[0].detail["two_factor_enabled"], true);
}

#[test]
fn several_changes_at_once_are_one_event_each_in_a_fixed_order() {
    let change = updated(&user(), |u| {
        u.email = Some("ada@new.example".into());
        u.two_factor_enabled = true;
        u.blocked = true;
        u.password_hash = None;
        u.updated_at = T1;
    });
    assert_eq!(
        kinds(&change),
        [
            "email.changed",
            "password.changed",
            "two_factor.changed",
            "user.updated"
        ]
    );
}

#[test]
fn a_deleted_user_is_user_deleted() {
    let change = Change::User {
        before: Some(user()),
        after: None,
    };
    let events = events_of(&change, T1);
    assert_eq!(kinds(&change), ["user.deleted"]);
    assert_eq!(
        Value::Object(events[0].detail.clone()),
        json!({"user_id": "user_1"})
    );
}

#[test]
fn signins_are_created_and_ended_and_activity_publishes_nothing() {
    let created = Change::Signin {
        before: None,
        after: Some(signin()),
    };
    let events = events_of(&created, T1);
    assert_eq!(kinds(&created), ["signin.created"]);
    assert_eq!(events[0].detail["signin_id"], "sin_1");
    assert_eq!(events[0].detail["user_id"], "user_1");
    assert_eq!(events[0].detail["user_agent"], "Firefox");

    let ended = Change::Signin {
        before: Some(signin()),
        after: None,
    };
    assert_eq!(kinds(&ended), ["signin.ended"]);
    assert_eq!(events_of(&ended, T1)[0].detail["reason"], "ended");
    // TTL removes it after it expired.
    let late = datetime!(2026-01-09 00:00 UTC);
    assert_eq!(events_of(&ended, late)[0].detail["reason"], "expired");

    let mut touched = signin();
    touched.last_active_at = T1;
    touched.verified_at = T1;
    let touch = Change::Signin {
        before: Some(signin()),
        after: Some(touched),
    };
    assert!(events_of(&touch, T1).is_empty());
}

#[test]
fn published_events_carry_their_id_source_and_detail_type() {
    let event = events_of(
        &Change::User {
            before: Some(user()),
            after: None,
        },
        T1,
    )
    .remove(0);
    let published = Published::new("evt_1".into(), event, T1);
    assert_eq!(
        serde_json::to_value(&published).unwrap(),
        json!({"id": "evt_1", "source": "sesame", "detail-type": "user.deleted",
               "time": "2026-01-01T12:05:00Z",
               "detail": {"event_id": "evt_1", "user_id": "user_1"}})
    );
}

/// A user whose every secret-bearing field holds a value marked `SECRET`.
fn user_full_of_secrets() -> User {
    let mut details = Map::new();
    details.insert("access_token".into(), json!("SECRET-ACCESS-TOKEN"));
    details.insert("refresh_token".into(), json!("SECRET-REFRESH-TOKEN"));
    User {
        password_hash: Some(BCRYPT.into()),
        identities: vec![ImportedIdentity {
            connection: "SECRET-CONNECTION".into(),
            provider: "auth0".into(),
            kind: "oauth".into(),
            id: "SECRET-IDENTITY-ID".into(),
            details,
        }],
        login_attempts: 4,
        second_factor: SecondFactors {
            totp_secret: Some("SECRET-SEALED-TOTP".into()),
            totp_pending_secret: Some("SECRET-SEALED-PENDING-TOTP".into()),
            totp_last_step: Some(1),
            backup_code_hashes: [("SECRET-BACKUP-CODE-HASH".to_string(), true)].into(),
            phone_second_factor: false,
            second_factor_version: 1,
            signouts_version: 0,
        },
        ..user()
    }
}

#[test]
fn no_event_of_any_change_carries_a_hash_token_or_secret() {
    let secretive = user_full_of_secrets();
    let mut changed = secretive.clone();
    changed.email = Some("ada@new.example".into());
    changed.phone_number = Some("+15550000001".into());
    changed.first_name = Some("Augusta".into());
    changed.password_hash = Some(format!("{ARGON2}-SECRET-NEW"));
    changed.two_factor_enabled = true;
    changed.second_factor.totp_secret = Some("SECRET-SEALED-TOTP-NEW".into());
    changed
        .second_factor
        .backup_code_hashes
        .insert("SECRET-BACKUP-CODE-HASH-NEW".into(), true);
    changed.blocked = true;
    changed.identities[0]
        .details
        .insert("id_token".into(), json!("SECRET-ID-TOKEN"));
    changed.updated_at = T1;
    let changes = [
        Change::User {
            before: None,
            after: Some(secretive.clone()),
        },
        Change::User {
            before: Some(secretive.clone()),
            after: Some(changed.clone()),
        },
        Change::User {
            before: Some(changed),
            after: None,
        },
        Change::Signin {
            before: None,
            after: Some(signin()),
        },
        Change::Signin {
            before: Some(signin()),
            after: None,
        },
    ];
    let mut kinds_seen = std::collections::BTreeSet::new();
    for change in &changes {
        for (i, event) in events_of(change, T1).into_iter().enumerate() {
            kinds_seen.insert(event.kind);
            let text =
                serde_json::to_string(&Published::new(format!("evt_{i}"), event, T1)).unwrap();
            for secret in ["SECRET", "argon2", "$2b$"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }
    // Every kind a user or signin publishes was checked, not only some.
    assert_eq!(kinds_seen.len(), EventKind::ALL.len(), "{kinds_seen:?}");
}
