//! The user's index: under `USER#<id>`, beside the user item, one entry per signin of the user
//! (a copy of the signin, sort key `SIGNIN#<id>`) and one per claim it holds (`CLAIM#<key>`).
//! Grants, sign-outs and claim moves write the entries in the same transactions as the items
//! they point at, so one Query of the user's partition finds everything of the user: its
//! signins across sessions (`GET /me/sessions`, ending them all) and its claims (deletion).
//!
//! Ending all of a user's signins is exact under concurrency through the user item's
//! `signins_version`, which every grant adds one to: the ending transaction requires the version
//! it read alongside the entries, so a grant that lands in between cancels it, and it reads again.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use crate::domain::model::{Claim, Identity, Signin, Timestamp, User};
use crate::domain::ports::store::{SigninsRead, StoreError, UserStore, Written};

use super::DynamoStore;
use super::codec::{Item, from_item, n, s, unavailable};
use super::expr::Expr;
use super::keys::{
    CLAIMS_VERSION, SIGNIN_PREFIX, SIGNINS_VERSION, SIGNOUTS_VERSION, USER_CLAIM_PREFIX,
    claim_key_of, signin_key, user_claim_key, user_key, user_pk, user_signin_key,
};
use super::transaction::{Outcome, Transaction};

/// At most this many items in one TransactWriteItems call.
pub(super) const TRANSACTION_ITEMS: usize = 100;
/// Reads and tries before an end of all signins gives up on a user whose signins keep changing.
pub(super) const TRIES: usize = 8;

/// A user's partition as read: the user item's version (`None` without one, or without a user),
/// the user, its signins and its claim keys.
pub(super) struct Partition {
    pub version: Option<String>,
    /// The user item's claims version (`None` without one).
    pub claims_version: Option<String>,
    pub user: Option<User>,
    pub signins: Vec<Signin>,
    pub claims: Vec<String>,
}

impl DynamoStore {
    pub(super) async fn indexed_signins(&self, user_id: &str) -> Result<Vec<Signin>, StoreError> {
        let items = self.query_user(user_id, Some(SIGNIN_PREFIX)).await?;
        items.into_iter().map(from_item).collect()
    }

    pub(super) async fn revoke(&self, signin: &Signin) -> Result<Written, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(signin_key(&signin.session_id, &signin.id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table and key are set");
        let entry = user_signin_key(&signin.user_id, &signin.id);
        let mut tx = Transaction::new();
        tx.push(TransactWriteItem::builder().delete(delete).build());
        tx.push(self.delete(entry.clone()));
        match self.run(tx).await? {
            Outcome::Done => Ok(Written::Done),
            Outcome::Cancelled(_) => {
                // The signin ended already (sign-out, or TTL): its entry, if left, goes too.
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(entry))
                    .send()
                    .await
                    .map_err(unavailable)?;
                Ok(Written::Conflict)
            }
        }
    }

    pub(super) async fn end_all(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError> {
        self.end_all_from(user_id, None, except).await
    }

    /// The user's signins and the grants version they were read at, in one Query.
    pub(super) async fn read_signins(&self, user_id: &str) -> Result<SigninsRead, StoreError> {
        let read = self.read_partition(user_id).await?;
        Ok(SigninsRead {
            signins: read.signins,
            version: read.version,
        })
    }

    /// `end_all`, acting first on `first` (an earlier read) when given.
    pub(super) async fn end_all_from(
        &self,
        user_id: &str,
        mut first: Option<SigninsRead>,
        except: Option<&str>,
    ) -> Result<Vec<Signin>, StoreError> {
        let mut ended = Vec::new();
        for _ in 0..TRIES {
            let read = match first.take() {
                Some(read) => read,
                None => self.read_signins(user_id).await?,
            };
            let to_end: Vec<&Signin> = read
                .signins
                .iter()
                .filter(|s| Some(s.id.as_str()) != except)
                .collect();
            if to_end.is_empty() {
                // Nothing to end, but a sign-in waiting at its second factor still ends: counted
                // only while no grant landed since the read (else that signin is read and ended).
                if ended.is_empty()
                    && !self.bump_signouts(user_id, read.version.as_deref()).await?
                    && self.get_user(user_id).await?.is_some()
                {
                    continue;
                }
                return Ok(ended);
            }
            // Two items per signin, and the user's version checked.
            let batch: Vec<&Signin> = to_end
                .iter()
                .take((TRANSACTION_ITEMS - 1) / 2)
                .copied()
                .collect();
            let mut tx = Transaction::new();
            tx.push(self.version_check(user_id, read.version.as_deref()));
            for signin in &batch {
                self.push_end(&mut tx, signin);
            }
            if let Outcome::Done = self.run(tx).await? {
                ended.extend(batch.iter().map(|s| (*s).clone()));
                if batch.len() == to_end.len() {
                    return Ok(ended);
                }
            }
            // A grant landed in between, or more signins than one write holds: read again.
        }
        Err(StoreError::Unavailable(
            "the user's signins kept changing while ending them".into(),
        ))
    }

    pub(super) async fn verified(
        &self,
        signin: &Signin,
        at: Timestamp,
    ) -> Result<Written, StoreError> {
        let e = || {
            Expr::new("SET #verified = :at")
                .condition("attribute_exists(pk)")
                .name("#verified", "verified_at")
                .value(":at", n(at.unix_timestamp()))
        };
        let mut tx = Transaction::new();
        tx.push(self.update(signin_key(&signin.session_id, &signin.id), e()));
        tx.push(self.update(user_signin_key(&signin.user_id, &signin.id), e()));
        Ok(match self.run(tx).await? {
            Outcome::Done => Written::Done,
            Outcome::Cancelled(_) => Written::Conflict,
        })
    }

    /// `UserStore::delete_user`: the user, its claims and entries, its signins and entries.
    pub(super) async fn delete_everything(&self, user_id: &str) -> Result<Written, StoreError> {
        for _ in 0..TRIES {
            let read = self.read_partition(user_id).await?;
            let Some(user) = &read.user else {
                return Ok(Written::Conflict);
            };
            let claims = claims_of(user, &read.claims);
            let items = 1 + 2 * claims.len() + 2 * read.signins.len();
            if items > TRANSACTION_ITEMS {
                // Too much for one write: the signins go first (the user can no longer use them
                // either way), then the user and its claims in one transaction.
                self.end_all(user_id, None).await?;
                continue;
            }
            let mut tx = Transaction::new();
            // Neither a grant nor a claim move since the read: both would outlive the user.
            let mut condition = "attribute_exists(pk)".to_string();
            let mut delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(user_key(user_id)));
            for (name, attribute, read) in [
                ("#version", SIGNINS_VERSION, &read.version),
                ("#claims", CLAIMS_VERSION, &read.claims_version),
            ] {
                delete = delete.expression_attribute_names(name, attribute);
                match read {
                    Some(v) => {
                        let value = format!(":{}", &name[1..]);
                        condition.push_str(&format!(" AND {name} = {value}"));
                        delete = delete.expression_attribute_values(value, n(v));
                    }
                    None => condition.push_str(&format!(" AND attribute_not_exists({name})")),
                }
            }
            let delete = delete
                .condition_expression(condition)
                .build()
                .expect("table and key are set");
            tx.push(TransactWriteItem::builder().delete(delete).build());
            for claim in &claims {
                // Only a claim that is still this user's is released.
                let release = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(claim_key_of(claim)))
                    .condition_expression("attribute_not_exists(pk) OR #owner = :me")
                    .expression_attribute_names("#owner", "user_id")
                    .expression_attribute_values(":me", s(user_id))
                    .build()
                    .expect("table and key are set");
                tx.push(TransactWriteItem::builder().delete(release).build());
                tx.push(self.delete(user_claim_key(user_id, claim)));
            }
            for signin in &read.signins {
                self.push_end(&mut tx, signin);
            }
            if let Outcome::Done = self.run(tx).await? {
                return Ok(Written::Done);
            }
            // A grant or a claim move landed in between: read again.
        }
        Err(StoreError::Unavailable(
            "the user kept changing while deleting it".into(),
        ))
    }

    /// Deletes a signin and its index entry (unconditionally: either may have gone already).
    pub(super) fn push_end(&self, tx: &mut Transaction, signin: &Signin) {
        tx.push(self.delete(signin_key(&signin.session_id, &signin.id)));
        tx.push(self.delete(user_signin_key(&signin.user_id, &signin.id)));
    }

    /// Requires the user's signins version to be what was read (no grant since), and adds one
    /// to its `signouts_version` (a sign-in waiting at its second factor ends with the signins).
    fn version_check(&self, user_id: &str, version: Option<&str>) -> TransactWriteItem {
        let e = Expr::new("ADD #signouts :one")
            .name("#signouts", SIGNOUTS_VERSION)
            .name("#version", SIGNINS_VERSION)
            .value(":one", n(1));
        let e = match version {
            Some(v) => e
                .condition("attribute_exists(pk) AND #version = :version")
                .value(":version", n(v)),
            None => e.condition("attribute_exists(pk) AND attribute_not_exists(#version)"),
        };
        self.update(user_key(user_id), e)
    }

    /// Adds one to the user's `signouts_version` alone (an end of all signins with none left),
    /// provided its signins are still at `version` (no grant since they were read): whether it
    /// did (not: a grant landed, or the user is gone).
    async fn bump_signouts(
        &self,
        user_id: &str,
        version: Option<&str>,
    ) -> Result<bool, StoreError> {
        let e = Expr::new("ADD #signouts :one")
            .name("#signouts", SIGNOUTS_VERSION)
            .name("#version", SIGNINS_VERSION)
            .value(":one", n(1));
        let e = match version {
            Some(v) => e
                .condition("attribute_exists(pk) AND #version = :version")
                .value(":version", n(v)),
            None => e.condition("attribute_exists(pk) AND attribute_not_exists(#version)"),
        };
        Ok(self
            .update_item(user_key(user_id), e, false)
            .await?
            .is_some())
    }

    pub(super) async fn read_partition(&self, user_id: &str) -> Result<Partition, StoreError> {
        let mut read = Partition {
            version: None,
            claims_version: None,
            user: None,
            signins: Vec::new(),
            claims: Vec::new(),
        };
        for item in self.query_user(user_id, None).await? {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk.starts_with(SIGNIN_PREFIX) {
                read.signins.push(from_item(item)?);
            } else if let Some(claim) = sk.strip_prefix(USER_CLAIM_PREFIX) {
                read.claims.push(claim.to_string());
            } else {
                let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).cloned();
                read.version = number(SIGNINS_VERSION);
                read.claims_version = number(CLAIMS_VERSION);
                read.user = Some(from_item(item)?);
            }
        }
        Ok(read)
    }

    /// The items of the user's partition (those whose sort key starts with `prefix`, if given),
    /// across pages, strongly consistent.
    pub(super) async fn query_user(
        &self,
        user_id: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(user_pk(user_id)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            query = match prefix {
                Some(p) => query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(p)),
                None => query.key_condition_expression("pk = :pk"),
            };
            let out = query.send().await.map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}

/// Every claim key the user holds: its index entries, and what the user item itself names
/// (verified contacts, username, imported identities), for a user older than the index.
fn claims_of(user: &User, indexed: &[String]) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = indexed.iter().cloned().collect();
    keys.extend(Claim::for_user(user).iter().map(Claim::key));
    keys.extend(user.identities.iter().map(|i| {
        Claim::Identity(Identity {
            provider: i.provider.clone(),
            subject: i.id.clone(),
        })
        .key()
    }));
    keys
}
