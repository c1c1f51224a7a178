//! An operator's edit of a user (`PATCH /admin/users/{id}`) as a pure transition, and the page
//! shape of the user listing. Both store adapters apply an `AdminChange` the same way: the user
//! becomes `after()`, the claims `claims_to_take()` are claimed (another user's is a conflict),
//! the ones `claims_to_release()` are freed, and when it `ends_signins()` every signin of the
//! user ends in the same write, all provided the user still is `before` in its claim fields.

use super::model::{Claim, Timestamp, User};
use super::profile_changes::ProfileChanges;

/// The validated fields of an operator's edit: `None` leaves a field as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminEdit {
    pub profile: ProfileChanges,
    pub username: Option<String>,
    pub email_verified: Option<bool>,
    pub phone_verified: Option<bool>,
    pub blocked: Option<bool>,
}

impl AdminEdit {
    /// Sets the edited fields on `user` (the stored user, which may differ from the one read in
    /// fields the edit does not touch).
    pub fn apply(&self, user: &mut User) {
        self.profile.apply(user);
        if let Some(u) = &self.username {
            user.username = Some(u.clone());
        }
        if let Some(v) = self.email_verified {
            user.email_verified = v;
        }
        if let Some(v) = self.phone_verified {
            user.phone_verified = v;
        }
        if let Some(v) = self.blocked {
            user.blocked = v;
        }
    }
}

/// An edit applied to the user as read (`before`).
#[derive(Clone, Debug, PartialEq)]
pub struct AdminChange {
    pub before: User,
    pub edit: AdminEdit,
}

impl AdminChange {
    pub fn user_id(&self) -> &str {
        &self.before.id
    }

    /// The user after the edit.
    pub fn after(&self) -> User {
        let mut user = self.before.clone();
        self.apply(&mut user);
        user
    }

    /// The change's effect on the stored user: the edit, and, when it ends every signin (a
    /// block), a sign-out everywhere (`User::signed_out_everywhere`), so a sign-in waiting at its
    /// second factor ends with them.
    pub fn apply(&self, user: &mut User) {
        self.edit.apply(user);
        if self.ends_signins() {
            user.signed_out_everywhere();
        }
    }

    /// Claims the user holds after and not before (a new username, a contact now verified).
    pub fn claims_to_take(&self) -> Vec<Claim> {
        let before = keys(&self.before);
        Claim::for_user(&self.after())
            .into_iter()
            .filter(|c| !before.contains(&c.key()))
            .collect()
    }

    /// Claims the user held before and not after (the old username, a contact now unverified):
    /// free for anyone once the change is written.
    pub fn claims_to_release(&self) -> Vec<Claim> {
        let after = keys(&self.after());
        Claim::for_user(&self.before)
            .into_iter()
            .filter(|c| !after.contains(&c.key()))
            .collect()
    }

    /// Blocking ends every signin of the user in the same write (unblocking revives none).
    pub fn ends_signins(&self) -> bool {
        self.edit.blocked == Some(true)
    }

    pub fn at(&self) -> Timestamp {
        self.edit.profile.updated_at
    }
}

fn keys(user: &User) -> Vec<String> {
    Claim::for_user(user).iter().map(Claim::key).collect()
}

/// What an `AdminChange` came to.
#[derive(Debug, PartialEq)]
pub enum AdminOutcome {
    /// Written; the user as it now stands.
    Done(Box<User>),
    /// Another user holds these claims; nothing was written.
    Taken(Vec<Claim>),
    /// The user's claim fields are no longer `before`'s, or the user is gone; nothing was written.
    Stale,
}

/// Where a page of the user listing starts: after the user created at `created_at` (seconds)
/// with the id `user_id`, in the listing's order (newest first, then by id, descending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCursor {
    pub created_at: i64,
    pub user_id: String,
}

impl UserCursor {
    pub fn of(user: &User) -> Self {
        Self {
            created_at: user.created_at.unix_timestamp(),
            user_id: user.id.clone(),
        }
    }

    /// The listing's order key: later is smaller (the listing reads it descending).
    pub fn sort_key(&self) -> String {
        format!("{:012}#{}", self.created_at, self.user_id)
    }

    /// The cursor a `sort_key` was made from.
    pub fn from_sort_key(key: &str) -> Option<Self> {
        let (secs, id) = key.split_once('#')?;
        let valid_id = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if secs.len() != 12 || !secs.bytes().all(|b| b.is_ascii_digit()) || !valid_id {
            return None;
        }
        Some(Self {
            created_at: secs.parse().ok()?,
            user_id: id.to_string(),
        })
    }
}

/// A user as the listing holds it: the admin view's fields only, never the password hash (the
/// DynamoDB index copies no more; the embedded store strips the same).
pub fn listed(user: &User) -> User {
    User {
        password_hash: None,
        login_attempts: 0,
        signup_agreements_accepted_at: None,
        identities: Vec::new(),
        ..user.clone()
    }
}

/// One page of users, newest first; `next` is where the following page starts (`None`: this
/// was the last one).
#[derive(Debug, PartialEq)]
pub struct UserPage {
    pub users: Vec<User>,
    pub next: Option<UserCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn user() -> User {
        let at = datetime!(2026-11-26 07:00 UTC);
        User {
            id: "usr_1".into(),
            first_name: None,
            last_name: None,
            username: Some("ada".into()),
            email: Some("ada@example.com".into()),
            phone_number: Some("+14155550123".into()),
            image_url: None,
            two_factor_enabled: false,
            email_verified: true,
            phone_verified: false,
            metadata: Default::default(),
            profile: Default::default(),
            password_hash: None,
            blocked: false,
            login_attempts: 0,
            signup_agreements_accepted_at: None,
            identities: Vec::new(),
            second_factor: Default::default(),
            created_at: at,
            updated_at: at,
        }
    }

    fn edit() -> AdminEdit {
        AdminEdit {
            profile: ProfileChanges {
                first_name: Some(Some("Ada".into())),
                last_name: None,
                image_url: None,
                metadata: None,
                profile: None,
                updated_at: datetime!(2026-11-26 08:00 UTC),
            },
            username: Some("lovelace".into()),
            email_verified: Some(false),
            phone_verified: Some(true),
            blocked: Some(true),
        }
    }

    #[test]
    fn an_edit_moves_exactly_the_claims_whose_fields_change() {
        let change = AdminChange {
            before: user(),
            edit: edit(),
        };
        let after = change.after();
        assert_eq!(after.first_name.as_deref(), Some("Ada"));
        assert!(after.blocked && after.phone_verified && !after.email_verified);
        assert_eq!(after.updated_at, datetime!(2026-11-26 08:00 UTC));
        assert_eq!(
            change.claims_to_take(),
            [
                Claim::Phone("+14155550123".into()),
                Claim::Username("lovelace".into())
            ]
        );
        assert_eq!(
            change.claims_to_release(),
            [
                Claim::Email("ada@example.com".into()),
                Claim::Username("ada".into())
            ]
        );
        assert!(change.ends_signins());

        let unblock = AdminChange {
            before: after,
            edit: AdminEdit {
                username: Some("LoveLace".into()),
                email_verified: None,
                phone_verified: None,
                blocked: Some(false),
                ..edit()
            },
        };
        assert!(!unblock.ends_signins() && !unblock.after().blocked);
        // A change of case keeps the same claim: nothing to take or release.
        assert!(unblock.claims_to_take().is_empty() && unblock.claims_to_release().is_empty());
    }

    #[test]
    fn a_cursor_survives_its_sort_key_and_a_forged_one_is_refused() {
        let cursor = UserCursor::of(&user());
        assert_eq!(cursor.sort_key(), "001795676400#usr_1");
        assert_eq!(UserCursor::from_sort_key(&cursor.sort_key()), Some(cursor));
        for bad in [
            "",
            "1#usr_1",
            "001795676400#",
            "00179567640x#u",
            "001795676400#a b",
        ] {
            assert_eq!(UserCursor::from_sort_key(bad), None, "{bad}");
        }
    }
}
