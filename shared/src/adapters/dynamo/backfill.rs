//! A one-off migration: signins granted before the user index existed have no entry under their
//! user's key, so "every signin of the user" (`GET /me/sessions`, a reset, revoke-others,
//! `DELETE /me`) misses them. `backfill_user_index` scans the table once and writes each missing
//! entry; run it once after deploying the index (`cargo run -- --backfill-user-index --aws`,
//! see the README). Every grant since writes its entry itself, so once it has run the index is
//! complete.
//!
//! Idempotent and safe beside live traffic: each entry goes in one transaction that requires the
//! entry to be missing, the signin to still exist (an ended signin gets no entry back) and the
//! user to exist, and adds one to the user's `signins_version` like a grant does, so an end of
//! all the user's signins that read the index before the entry landed is cancelled and reads
//! again: it cannot miss the signin.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};

use crate::domain::model::Signin;
use crate::domain::ports::store::StoreError;

use super::DynamoStore;
use super::codec::{Item, from_item, n, s, to_item, unavailable};
use super::expr::Expr;
use super::keys::{SIGNIN_PREFIX, SIGNINS_VERSION, signin_key, user_key, user_signin_key};
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

impl DynamoStore {
    /// Writes the user-index entry of every signin that lacks one (see the module docs).
    pub async fn backfill_user_index(&self) -> Result<Backfill, StoreError> {
        let mut done = Backfill::default();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :session) AND begins_with(sk, :signin)")
                .expression_attribute_values(":session", s("SESSION#"))
                .expression_attribute_values(":signin", s(SIGNIN_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                let signin: Signin = from_item(item)?;
                match self.index_one(&signin).await? {
                    Indexed::Now => done.indexed += 1,
                    Indexed::Already => done.present += 1,
                    Indexed::Skipped => done.skipped += 1,
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(done),
            }
        }
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
