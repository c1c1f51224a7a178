//! One-off migrations for tables older than two indexes; `cargo run -- --backfill-user-index
//! --aws` runs both (see the README, Deploy, "Upgrading"). Each is idempotent and safe beside live
//! traffic, and once it has run, every write since keeps its index complete by itself.
//!
//! The user index (issue 11): signins granted before it existed have no entry under their
//! user's key, so "every signin of the user" (`GET /me/sessions`, a reset, revoke-others,
//! `DELETE /me`) misses them. `backfill_user_index` scans the table once and writes each missing
//! entry, each in one transaction that requires the entry to be missing, the signin to still
//! exist (an ended signin gets no entry back) and the user to exist, and adds one to the user's
//! `signins_version` like a grant does, so an end of all the user's signins that read the index
//! before the entry landed is cancelled and reads again: it cannot miss the signin.
//!
//! The admin listing (issue 15): users created before the sparse `users_by_created` index carry
//! no `list_pk`/`list_sk`, so `GET /admin/users` pages never show them. `backfill_user_listing`
//! scans the user items once and gives each that lacks them its place, from its own `created_at`
//! and id as a creation writes it, with one UpdateItem that requires the user to still exist (a
//! deleted user is not brought back) and to still lack the keys. It writes nothing else: every
//! other write to a user item is an UpdateItem of other attributes, so none can undo it or be
//! undone by it.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};

use crate::domain::admin_change::UserCursor;
use crate::domain::model::{Signin, User};
use crate::domain::ports::store::StoreError;

use super::DynamoStore;
use super::codec::{Item, from_item, n, s, to_item, unavailable};
use super::expr::Expr;
use super::keys::{
    LIST_PARTITION, LIST_PK, LIST_SK, SIGNIN_PREFIX, SIGNINS_VERSION, USER_SK, signin_key,
    user_key, user_signin_key,
};
use super::transaction::{Outcome, Transaction};

/// What a backfill did, signin by signin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backfill {
    /// Signins that got their index entry now.
    pub indexed: usize,
    /// Signins that had one already (a later run, or granted since the index existed).
    pub present: usize,
    /// Signins that ended meanwhile, or whose user is gone: no entry is written.
    pub skipped: usize,
}

/// What a listing backfill did, user by user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListingBackfill {
    /// Users that got their place in the listing now.
    pub listed: usize,
    /// Users that had one already (a later run, or created since the index existed).
    pub present: usize,
    /// Users deleted meanwhile (nothing is written), or listed by a run in parallel.
    pub skipped: usize,
}

impl DynamoStore {
    /// Writes the user-index entry of every signin that lacks one (see the module docs).
    pub async fn backfill_user_index(&self) -> Result<Backfill, StoreError> {
        let mut done = Backfill::default();
        let mut start: Option<Item> = None;
        loop {
            let filter = "begins_with(pk, :p) AND begins_with(sk, :s)";
            let (items, next) = self
                .scan_page(filter, s("SESSION#"), s(SIGNIN_PREFIX), start.take())
                .await?;
            for item in items {
                let signin: Signin = from_item(item)?;
                match self.index_one(&signin).await? {
                    Indexed::Now => done.indexed += 1,
                    Indexed::Already => done.present += 1,
                    Indexed::Skipped => done.skipped += 1,
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(done),
            }
        }
    }

    /// Gives every user item that lacks them its `list_pk`/`list_sk` (see the module docs).
    pub async fn backfill_user_listing(&self) -> Result<ListingBackfill, StoreError> {
        let mut done = ListingBackfill::default();
        let mut start: Option<Item> = None;
        loop {
            let filter = "begins_with(pk, :p) AND sk = :s";
            let (items, next) = self
                .scan_page(filter, s("USER#"), s(USER_SK), start.take())
                .await?;
            for item in items {
                if item.contains_key(LIST_PK) {
                    done.present += 1;
                    continue;
                }
                let user: User = from_item(item)?;
                let place = Expr::new("SET #lpk = :lpk, #lsk = :lsk")
                    .condition("attribute_exists(pk) AND attribute_not_exists(#lpk)")
                    .name("#lpk", LIST_PK)
                    .name("#lsk", LIST_SK)
                    .value(":lpk", s(LIST_PARTITION))
                    .value(":lsk", s(UserCursor::of(&user).sort_key()));
                match self.update_item(user_key(&user.id), place, false).await? {
                    Some(_) => done.listed += 1,
                    None => done.skipped += 1,
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(done),
            }
        }
    }

    /// One consistent page of the table's items that pass `filter` (over `:p` and `:s`), and
    /// where the next page starts (`None`: this was the last).
    async fn scan_page(
        &self,
        filter: &str,
        p: AttributeValue,
        sk: AttributeValue,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(filter)
            .expression_attribute_values(":p", p)
            .expression_attribute_values(":s", sk)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let next = page.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((page.items.unwrap_or_default(), next))
    }

    async fn index_one(&self, signin: &Signin) -> Result<Indexed, StoreError> {
        let mut tx = Transaction::new();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(
                signin,
                user_signin_key(&signin.user_id, &signin.id),
            )?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        let entry = tx.push(TransactWriteItem::builder().put(put).build());
        let exists = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(signin_key(&signin.session_id, &signin.id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table, key and condition are set");
        tx.push(TransactWriteItem::builder().condition_check(exists).build());
        // Counted like a grant, so an end of all the user's signins read before cannot miss it.
        let user = Expr::new("ADD #signins :one")
            .condition("attribute_exists(pk)")
            .name("#signins", SIGNINS_VERSION)
            .value(":one", n(1));
        tx.push(self.update(user_key(&signin.user_id), user));
        Ok(match self.run(tx).await? {
            Outcome::Done => Indexed::Now,
            Outcome::Cancelled(reasons) if reasons.failed(entry) => Indexed::Already,
            Outcome::Cancelled(_) => Indexed::Skipped,
        })
    }
}

enum Indexed {
    Now,
    Already,
    Skipped,
}
