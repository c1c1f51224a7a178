//! A profile edit (`PATCH /me`, and the profile part of an operator's edit): the fields to set,
//! and the pure transition that sets them on a user. The store port re-exports it.

use serde_json::{Map, Value};

use super::model::{Timestamp, User};

/// Profile fields to set; `Some(None)` clears a field. Usernames change through
/// `change_username`, which also moves the uniqueness claim.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileChanges {
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub image_url: Option<Option<String>>,
    pub metadata: Option<Map<String, Value>>,
    pub profile: Option<Map<String, Value>>,
    pub updated_at: Timestamp,
}

impl ProfileChanges {
    pub fn apply(&self, user: &mut User) {
        if let Some(v) = &self.first_name {
            user.first_name = v.clone();
        }
        if let Some(v) = &self.last_name {
            user.last_name = v.clone();
        }
        if let Some(v) = &self.image_url {
            user.image_url = v.clone();
        }
        if let Some(v) = &self.metadata {
            user.metadata = v.clone();
        }
        if let Some(v) = &self.profile {
            user.profile = v.clone();
        }
        user.updated_at = self.updated_at;
    }
}
