//! `UserStore`: users, and the uniqueness claims (email, phone, username) that point at them.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, ReturnValue, TransactWriteItem,
};

use crate::domain::admin_change::{AdminChange, AdminOutcome, UserCursor, UserPage};
use crate::domain::model::{Claim, User};
use crate::domain::ports::store::{
    Completion, PasswordWrite, ProfileChanges, StoreError, UserStore, UsernameChange, Written,
};

use super::DynamoStore;
use super::codec::{Item, from_item, n, s, to_value, unavailable};
use super::expr::Expr;
use super::keys::{CLAIMS_VERSION, claim_key, user_claim_key, user_item, user_key};
use super::transaction::{Outcome, Slot, Transaction};

#[async_trait]
impl UserStore for DynamoStore {
    async fn taken_claims(&self, claims: &[Claim]) -> Result<Vec<Claim>, StoreError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let mut pending: Vec<Item> = claims.iter().map(claim_key).collect();
        let mut found: Vec<String> = Vec::new();
        for _ in 0..5 {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(pending.clone()))
                .projection_expression("pk")
                .consistent_read(true)
                .build()
                .expect("keys are set");
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                if let Some(pk) = item.get("pk").and_then(|v| v.as_s().ok()) {
                    found.push(pk.clone());
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(claims
                    .iter()
                    .filter(|c| found.contains(&c.key()))
                    .cloned()
                    .collect());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(StoreError::Unavailable(
            "claims read kept being throttled".into(),
        ))
    }

    async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(from_item).transpose()
    }

    async fn claim_owner(&self, claim: &Claim) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(claim_key(claim)))
            .projection_expression("user_id")
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .item
            .and_then(|item| item.get("user_id").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn import_user(&self, user: &User, claims: &[Claim]) -> Result<Completion, StoreError> {
        let mut tx = Transaction::new();
        let claims: Vec<(Claim, Slot)> = claims
            .iter()
            .map(|c| (c.clone(), self.push_claim(&mut tx, c, &user.id)))
            .collect();
        tx.push(self.put_new(user_item(user)?));
        Ok(match self.run(tx).await? {
            Outcome::Done => Completion::Done,
            Outcome::Cancelled(reasons) => {
                let taken = reasons.failures(&claims);
                if taken.is_empty() {
                    Completion::AttemptChanged
                } else {
                    Completion::Taken(taken)
                }
            }
        })
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        expected: &str,
        new_hash: &str,
    ) -> Result<Written, StoreError> {
        let e = Expr::new("SET #hash = :new")
            .condition("#hash = :expected")
            .name("#hash", "password_hash")
            .value(":new", s(new_hash))
            .value(":expected", s(expected));
        Ok(match self.update_item(user_key(user_id), e, false).await? {
            Some(_) => Written::Done,
            None => Written::Conflict,
        })
    }

    async fn change_password(&self, change: &PasswordWrite) -> Result<Written, StoreError> {
        self.write_password(change).await
    }

    async fn record_failed_login(&self, user_id: &str) -> Result<(), StoreError> {
        let e = Expr::new("ADD #attempts :one")
            .condition("attribute_exists(pk)")
            .name("#attempts", "login_attempts")
            .value(":one", n(1));
        self.update_item(user_key(user_id), e, false)
            .await
            .map(|_| ())
    }

    async fn update_profile(
        &self,
        user_id: &str,
        changes: &ProfileChanges,
    ) -> Result<Option<User>, StoreError> {
        let e = profile_expr(changes, None)?.condition("attribute_exists(pk)");
        let (update, condition, names, values) = e.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete_user(&self, user_id: &str) -> Result<Written, StoreError> {
        self.delete_everything(user_id).await
    }

    async fn change_username(
        &self,
        user_id: &str,
        from: Option<&str>,
        to: &str,
        changes: &ProfileChanges,
    ) -> Result<UsernameChange, StoreError> {
        let new_claim = Claim::Username(to.to_string());
        let old_claim = from.map(|f| Claim::Username(f.to_string()));
        let mut tx = Transaction::new();
        let claim = self.push_claim(&mut tx, &new_claim, user_id);

        let user_condition = match from {
            Some(_) => "attribute_exists(pk) AND #username = :from",
            None => {
                "attribute_exists(pk) AND (attribute_not_exists(#username) OR attribute_type(#username, :null))"
            }
        };
        let mut user = profile_expr(changes, Some(to))?.condition(user_condition);
        user = match from {
            Some(f) => user.value(":from", s(f)),
            None => user.value(":null", s("NULL")),
        };
        // Counted, so a deletion that read the user's claims before this move cannot miss it.
        let user = user
            .append(" ADD #claims :one")
            .name("#claims", CLAIMS_VERSION)
            .value(":one", n(1));
        tx.push(self.update(user_key(user_id), user));

        if let Some(old) = old_claim.filter(|old| old.key() != new_claim.key()) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(&old)))
                .condition_expression("#owner = :me")
                .expression_attribute_names("#owner", "user_id")
                .expression_attribute_values(":me", s(user_id))
                .build()
                .expect("table and key are set");
            tx.push(TransactWriteItem::builder().delete(delete).build());
            tx.push(self.delete(user_claim_key(user_id, &old.key())));
        }

        // Another user's claim on the new name outranks a stale user or old claim.
        Ok(match self.run(tx).await? {
            Outcome::Done => UsernameChange::Done,
            Outcome::Cancelled(reasons) if reasons.failed(claim) => UsernameChange::Taken,
            Outcome::Cancelled(_) => UsernameChange::Stale,
        })
    }

    async fn admin_update(&self, change: &AdminChange) -> Result<AdminOutcome, StoreError> {
        self.admin_updated(change).await
    }

    async fn list_users(
        &self,
        after: Option<&UserCursor>,
        limit: usize,
    ) -> Result<UserPage, StoreError> {
        self.listed_users(after, limit).await
    }
}

impl DynamoStore {
    /// Claims `claim` for `user_id` (see `claim_put`) and records it in the user's index, so
    /// deleting the user finds it. The returned slot is the claim's: its failure means another
    /// user holds it.
    pub(super) fn push_claim(&self, tx: &mut Transaction, claim: &Claim, user_id: &str) -> Slot {
        let slot = tx.push(self.claim_put(claim, user_id));
        let mut entry = user_claim_key(user_id, &claim.key());
        entry.insert("claim".into(), s(claim.key()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(entry))
            .build()
            .expect("table and item are set");
        tx.push(TransactWriteItem::builder().put(put).build());
        slot
    }

    /// A claim for `user_id`: new, or already theirs (so re-claiming one's own contact is fine).
    fn claim_put(&self, claim: &Claim, user_id: &str) -> TransactWriteItem {
        let mut item = claim_key(claim);
        item.insert("user_id".into(), s(user_id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #owner = :me")
            .expression_attribute_names("#owner", "user_id")
            .expression_attribute_values(":me", s(user_id))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }
}

/// `SET` for every profile change (and the username when given), with `updated_at`.
pub(super) fn profile_expr(
    changes: &ProfileChanges,
    username: Option<&str>,
) -> Result<Expr, StoreError> {
    let mut sets = vec!["#updated = :updated".to_string()];
    let mut e = Expr::new("")
        .name("#updated", "updated_at")
        .value(":updated", n(changes.updated_at.unix_timestamp()));
    let mut set = |field: &str, value: AttributeValue| {
        sets.push(format!("#{field} = :{field}"));
        e = std::mem::replace(&mut e, Expr::new(""))
            .name(&format!("#{field}"), field)
            .value(&format!(":{field}"), value);
    };
    if let Some(v) = &changes.first_name {
        set("first_name", to_value(v)?);
    }
    if let Some(v) = &changes.last_name {
        set("last_name", to_value(v)?);
    }
    if let Some(v) = &changes.image_url {
        set("image_url", to_value(v)?);
    }
    if let Some(v) = &changes.metadata {
        set("metadata", to_value(v)?);
    }
    if let Some(v) = &changes.profile {
        set("profile", to_value(v)?);
    }
    if let Some(u) = username {
        set("username", s(u));
    }
    Ok(e.replace_update(&format!("SET {}", sets.join(", "))))
}
