//! Domain events (DESIGN section 14): what a committed change to a user or a signin means to the
//! team's other systems. One pure mapping, [`events_of`], from an item's state before and after a
//! committed change to the events it publishes; the `events` function applies it to the table's
//! DynamoDB Stream (`adapters::dynamo::stream`, `adapters::events`) and the embedded store to
//! each change it commits (`adapters::memory`, kept at `GET /dev/events`), so both publish the
//! same events for the same change, and nothing for a write that did not commit.
//!
//! An event carries ids, the names of the changed fields and non-secret values: the fields the
//! user's own view shows (`GET /me`), never a hash, code, secret, cookie or token. The user's
//! values are copied field by field from an allow-list ([`public_user`]), so a field added to
//! `User` later (a second factor's secret, say) is published only once it is listed here.

use serde::Serialize;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use crate::domain::model::{Signin, Timestamp, User};
use crate::domain::password::legacy::needs_upgrade;

/// Every event's EventBridge `source`.
pub const SOURCE: &str = "sesame";

/// The `detail-type` of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    UserCreated,
    /// A change to the user's non-secret fields that no more specific event covers.
    UserUpdated,
    UserDeleted,
    SigninCreated,
    /// A signin signed out, revoked, replaced, ended with its user, or removed by TTL once expired.
    SigninEnded,
    PasswordChanged,
    EmailChanged,
    PhoneNumberChanged,
    /// `two_factor_enabled` changed (DESIGN section 12: true while any second factor is on).
    TwoFactorChanged,
}

impl EventKind {
    pub const ALL: [EventKind; 9] = [
        EventKind::UserCreated,
        EventKind::UserUpdated,
        EventKind::UserDeleted,
        EventKind::SigninCreated,
        EventKind::SigninEnded,
        EventKind::PasswordChanged,
        EventKind::EmailChanged,
        EventKind::PhoneNumberChanged,
        EventKind::TwoFactorChanged,
    ];

    pub fn detail_type(self) -> &'static str {
        match self {
            EventKind::UserCreated => "user.created",
            EventKind::UserUpdated => "user.updated",
            EventKind::UserDeleted => "user.deleted",
            EventKind::SigninCreated => "signin.created",
            EventKind::SigninEnded => "signin.ended",
            EventKind::PasswordChanged => "password.changed",
            EventKind::EmailChanged => "email.changed",
            EventKind::PhoneNumberChanged => "phone_number.changed",
            EventKind::TwoFactorChanged => "two_factor.changed",
        }
    }
}

/// One committed change to one item events are about: its state before (`None`: it was created)
/// and after (`None`: it was deleted).
#[derive(Clone, Debug, PartialEq)]
// Short-lived values built one at a time and consumed at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Change {
    User {
        before: Option<User>,
        after: Option<User>,
    },
    Signin {
        before: Option<Signin>,
        after: Option<Signin>,
    },
}

/// An event before publication: its kind and its `detail` (a JSON object).
#[derive(Clone, Debug, PartialEq)]
pub struct DomainEvent {
    pub kind: EventKind,
    pub detail: Map<String, Value>,
}

/// An event as published, in the shape EventBridge delivers it to a rule's target (`id`,
/// `source`, `detail-type`, `time`, `detail`). `detail.event_id` repeats `id`: EventBridge gives
/// each `PutEvents` entry its own id, so a subscriber deduplicates a redelivered change on this one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Published {
    pub id: String,
    pub source: &'static str,
    #[serde(rename = "detail-type")]
    pub detail_type: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub time: Timestamp,
    pub detail: Map<String, Value>,
}

impl Published {
    /// `event` under `id` (unique per change and event), committed at `time`.
    pub fn new(id: String, event: DomainEvent, time: Timestamp) -> Self {
        let mut detail = Map::new();
        detail.insert("event_id".into(), Value::String(id.clone()));
        detail.extend(event.detail);
        Self {
            id,
            source: SOURCE,
            detail_type: event.kind.detail_type(),
            time,
            detail,
        }
    }
}

/// The events one committed change publishes, in a fixed order; `at` is when it committed (a
/// signin removed at or after its `expires_at` ended by expiry).
pub fn events_of(change: &Change, at: Timestamp) -> Vec<DomainEvent> {
    match change {
        Change::User { before, after } => user_events(before.as_ref(), after.as_ref()),
        Change::Signin { before, after } => signin_events(before.as_ref(), after.as_ref(), at),
    }
}

fn event(kind: EventKind, detail: Value) -> DomainEvent {
    let Value::Object(detail) = detail else {
        unreachable!("every detail is built as an object")
    };
    DomainEvent { kind, detail }
}

fn signin_events(
    before: Option<&Signin>,
    after: Option<&Signin>,
    at: Timestamp,
) -> Vec<DomainEvent> {
    match (before, after) {
        (None, Some(s)) => vec![event(
            EventKind::SigninCreated,
            json!({
                "signin_id": s.id,
                "user_id": s.user_id,
                "created_at": rfc3339(s.created_at),
                "expires_at": rfc3339(s.expires_at),
                "user_agent": s.user_agent,
                "ip": s.ip,
            }),
        )],
        (Some(s), None) => vec![event(
            EventKind::SigninEnded,
            json!({
                "signin_id": s.id,
                "user_id": s.user_id,
                "reason": if at >= s.expires_at { "expired" } else { "ended" },
            }),
        )],
        // Activity, reverification: the signin lives on, nothing to tell.
        _ => Vec::new(),
    }
}

fn user_events(before: Option<&User>, after: Option<&User>) -> Vec<DomainEvent> {
    let (b, a) = match (before, after) {
        (None, Some(u)) => {
            return vec![event(
                EventKind::UserCreated,
                json!({"user_id": u.id, "user": public_user(u)}),
            )];
        }
        (Some(u), None) => return vec![event(EventKind::UserDeleted, json!({"user_id": u.id}))],
        (Some(b), Some(a)) => (b, a),
        (None, None) => return Vec::new(),
    };
    let mut out = Vec::new();
    if b.email != a.email {
        out.push(event(
            EventKind::EmailChanged,
            json!({
                "user_id": a.id,
                "email": a.email,
                "previous_email": b.email,
                "email_verified": a.email_verified,
            }),
        ));
    }
    if b.phone_number != a.phone_number {
        out.push(event(
            EventKind::PhoneNumberChanged,
            json!({
                "user_id": a.id,
                "phone_number": a.phone_number,
                "previous_phone_number": b.phone_number,
                "phone_verified": a.phone_verified,
            }),
        ));
    }
    if password_changed(b, a) {
        out.push(event(EventKind::PasswordChanged, json!({"user_id": a.id})));
    }
    if b.two_factor_enabled != a.two_factor_enabled {
        out.push(event(
            EventKind::TwoFactorChanged,
            json!({"user_id": a.id, "two_factor_enabled": a.two_factor_enabled}),
        ));
    }
    let changed = updated_fields(b, a);
    if !changed.is_empty() {
        out.push(event(
            EventKind::UserUpdated,
            json!({"user_id": a.id, "changed": changed, "user": public_user(a)}),
        ));
    }
    out
}

/// A new password, or one set or removed. Not the upgrade of a stored hash to the current
/// argon2id at a sign-in (`UserStore::replace_password_hash`: same password, and the only
/// password write that leaves `updated_at` alone).
fn password_changed(b: &User, a: &User) -> bool {
    if b.password_hash == a.password_hash {
        return false;
    }
    let upgrade = b.updated_at == a.updated_at
        && b.password_hash.as_deref().is_some_and(needs_upgrade)
        && a.password_hash
            .as_deref()
            .is_some_and(|h| !needs_upgrade(h));
    !upgrade
}

/// The public fields that changed and no more specific event covers, by their names in the
/// user's view. A contact's `*_verified` flag goes with its contact's event when both changed.
fn updated_fields(b: &User, a: &User) -> Vec<&'static str> {
    let checks = [
        ("first_name", b.first_name != a.first_name),
        ("last_name", b.last_name != a.last_name),
        ("username", b.username != a.username),
        ("image_url", b.image_url != a.image_url),
        (
            "email_verified",
            b.email == a.email && b.email_verified != a.email_verified,
        ),
        (
            "phone_verified",
            b.phone_number == a.phone_number && b.phone_verified != a.phone_verified,
        ),
        ("metadata", b.metadata != a.metadata),
        ("profile", b.profile != a.profile),
        ("blocked", b.blocked != a.blocked),
        (
            "signup_agreements_accepted_at",
            b.signup_agreements_accepted_at != a.signup_agreements_accepted_at,
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name)
        .collect()
}

/// The user's non-secret fields, named as in the user's own view (`GET /me`), plus `blocked`.
/// An allow-list: no hash, counter or imported identity (whose details may hold a provider's
/// tokens), and no field added later unless it is added here.
pub fn public_user(u: &User) -> Value {
    json!({
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "username": u.username,
        "email": u.email,
        "email_verified": u.email_verified,
        "phone_number": u.phone_number,
        "phone_verified": u.phone_verified,
        "image_url": u.image_url,
        "two_factor_enabled": u.two_factor_enabled,
        "blocked": u.blocked,
        "metadata": u.metadata,
        "profile": u.profile,
        "signup_agreements_accepted_at": u.signup_agreements_accepted_at.map(rfc3339),
        "created_at": rfc3339(u.created_at),
        "updated_at": rfc3339(u.updated_at),
    })
}

fn rfc3339(t: Timestamp) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
