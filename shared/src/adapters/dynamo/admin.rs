//! The admin API's store operations: the user listing on the sparse `users_by_created` index
//! (one Query per page), and an operator's edit (`AdminChange`) as one transaction.
//!
//! Every user item carries `list_pk` (always `USERS`) and `list_sk` (`<created_at, 12 digits>#
//! <id>`), written with the user and never changed; no other item has them, so the index holds
//! users only. It projects the fields the admin view shows (never `password_hash`), so a
//! sign-in's write to the user item (`signins_version`, `login_attempts`) does not touch it.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

use crate::domain::admin_change::{AdminChange, AdminOutcome, UserCursor, UserPage};
use crate::domain::model::{Claim, User};
use crate::domain::ports::store::{SigninsRead, StoreError};

use super::DynamoStore;
use super::codec::{Item, from_item, n, s, unavailable};
use super::keys::{
    LIST_PARTITION, LIST_PK, LIST_SK, SIGNINS_VERSION, SIGNOUTS_VERSION, USERS_INDEX, claim_key,
    user_claim_key, user_key,
};
use super::transaction::{Outcome, Slot, Transaction};
use super::users::profile_expr;

/// At most this many items in one TransactWriteItems call.
const TRANSACTION_ITEMS: usize = 100;

/// The index key of the item a cursor names (the table's key included, as DynamoDB asks).
fn start_key(after: &UserCursor) -> Item {
    let mut key = user_key(&after.user_id);
    key.insert(LIST_PK.into(), s(LIST_PARTITION));
    key.insert(LIST_SK.into(), s(after.sort_key()));
    key
}

impl DynamoStore {
    /// `UserStore::list_users`: one Query of the index, descending, for one more user than the
    /// page holds (so the last page says it is the last).
    pub(super) async fn listed_users(
        &self,
        after: Option<&UserCursor>,
        limit: usize,
    ) -> Result<UserPage, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(USERS_INDEX)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", LIST_PK)
            .expression_attribute_values(":pk", s(LIST_PARTITION))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(start_key))
            .send()
            .await
            .map_err(unavailable)?;
        let mut users: Vec<User> = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<_, _>>()?;
        let more = users.len() > limit;
        users.truncate(limit);
        let next = if more {
            users.last().map(UserCursor::of)
        } else {
            None
        };
        Ok(UserPage { users, next })
    }

    /// `UserStore::admin_update`: claims taken and released, the user's fields set (provided its
    /// claim fields are still as read) and, when it blocks, every signin ended (provided no
    /// grant landed since they were read) in one transaction. With more signins than one
    /// transaction holds, the user is blocked first (no grant succeeds after) and the signins
    /// then end as `end_signins_of_user` ends them.
    pub(super) async fn admin_updated(&self, c: &AdminChange) -> Result<AdminOutcome, StoreError> {
        let user_id = c.user_id();
        let take = c.claims_to_take();
        let release = c.claims_to_release();
        let signins = match c.ends_signins() {
            true => Some(self.read_signins(user_id).await?),
            false => None,
        };
        let items = 1 + 2 * take.len() + 2 * release.len();
        let signins = signins.filter(|r| items + 2 * r.signins.len() <= TRANSACTION_ITEMS);

        let mut tx = Transaction::new();
        let slots: Vec<(Claim, Slot)> = take
            .iter()
            .map(|claim| (claim.clone(), self.push_claim(&mut tx, claim, user_id)))
            .collect();
        tx.push(self.update(user_key(user_id), user_update(c, signins.as_ref())?));
        for old in &release {
            // Only a claim that is still this user's is released.
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(old)))
                .condition_expression("attribute_not_exists(pk) OR #owner = :me")
                .expression_attribute_names("#owner", "user_id")
                .expression_attribute_values(":me", s(user_id))
                .build()
                .expect("table and key are set");
            tx.push(TransactWriteItem::builder().delete(delete).build());
            tx.push(self.delete(user_claim_key(user_id, &old.key())));
        }
        if let Some(read) = &signins {
            for signin in &read.signins {
                self.push_end(&mut tx, signin);
            }
        }
        // Another user's claim outranks a stale user.
        match self.run(tx).await? {
            Outcome::Done => {}
            Outcome::Cancelled(reasons) => {
                let taken = reasons.failures(&slots);
                return Ok(if taken.is_empty() {
                    AdminOutcome::Stale
                } else {
                    AdminOutcome::Taken(taken)
                });
            }
        }
        if c.ends_signins() && signins.is_none() {
            self.end_all(user_id, None).await?;
        }
        Ok(AdminOutcome::Done(Box::new(c.after())))
    }
}

/// The user item's update: the edited fields, on the condition that the user exists with the
/// claim fields it was read with (and, when `signins` are ended with it, the grants version
/// they were read at).
fn user_update(
    c: &AdminChange,
    signins: Option<&SigninsRead>,
) -> Result<super::expr::Expr, StoreError> {
    let edit = &c.edit;
    let before = &c.before;
    let mut e = profile_expr(&edit.profile, edit.username.as_deref())?;
    for (attribute, value) in [
        ("email_verified", edit.email_verified),
        ("phone_verified", edit.phone_verified),
        ("blocked", edit.blocked),
    ] {
        if let Some(v) = value {
            e = e
                .append(&format!(", #{attribute} = :{attribute}"))
                .name(&format!("#{attribute}"), attribute)
                .value(&format!(":{attribute}"), AttributeValue::Bool(v));
        }
    }
    let mut conditions = vec!["attribute_exists(pk)".to_string()];
    for (attribute, value) in [
        ("username", &before.username),
        ("email", &before.email),
        ("phone_number", &before.phone_number),
    ] {
        let (name, placeholder) = (format!("#was_{attribute}"), format!(":was_{attribute}"));
        e = e.name(&name, attribute);
        match value {
            Some(v) => {
                conditions.push(format!("{name} = {placeholder}"));
                e = e.value(&placeholder, s(v));
            }
            None => {
                conditions.push(format!(
                    "(attribute_not_exists({name}) OR attribute_type({name}, :null))"
                ));
                e = e.value(":null", s("NULL"));
            }
        }
    }
    for (attribute, value) in [
        ("email_verified", before.email_verified),
        ("phone_verified", before.phone_verified),
    ] {
        let (name, placeholder) = (format!("#was_{attribute}"), format!(":was_{attribute}"));
        conditions.push(format!("{name} = {placeholder}"));
        e = e
            .name(&name, attribute)
            .value(&placeholder, AttributeValue::Bool(value));
    }
    // A block ends every signin: counted as a sign-out everywhere (`User::signed_out_everywhere`),
    // so a sign-in waiting at its second factor ends with them.
    if c.ends_signins() {
        e = e
            .append(" ADD #signouts :signouts_one")
            .name("#signouts", SIGNOUTS_VERSION)
            .value(":signouts_one", n(1));
    }
    if let Some(read) = signins {
        e = e.name("#version", SIGNINS_VERSION);
        match &read.version {
            Some(v) => {
                conditions.push("#version = :version".into());
                e = e.value(":version", n(v));
            }
            None => conditions.push("attribute_not_exists(#version)".into()),
        }
    }
    Ok(e.condition(&conditions.join(" AND ")))
}
