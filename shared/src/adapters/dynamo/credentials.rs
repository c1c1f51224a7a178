//! Password writes that end signins in the same transaction (a reset's completion, a password
//! change with `sign_out_others`), and what a failed one means.
//!
//! The ends are those of an earlier read of the user's index, required still to hold through the
//! user item's `signins_version` (which every grant adds one to): a grant in between cancels the
//! transaction, and it goes again on a fresh read. A user with more signins than one transaction
//! holds beside the password write has the surplus ended first, in transactions of its own (the
//! old signins end either way; the password write then carries the few left).

use crate::domain::model::{Signin, User};
use crate::domain::ports::store::{PasswordWrite, SigninsRead, StoreError, Written};

use super::DynamoStore;
use super::codec::{n, s};
use super::expr::Expr;
use super::keys::{SIGNINS_VERSION, SIGNOUTS_VERSION, user_key};
use super::transaction::{Outcome, Transaction};
use super::user_index::{TRANSACTION_ITEMS, TRIES};

/// Whether the ends went into the transaction.
pub(super) enum Ends {
    Pushed,
    /// Too many to fit beside the other items: nothing was pushed.
    TooMany,
}

/// Requires the user item's signins version to be `version` (no grant since the read): a clause
/// for `Expr::and_condition`, with its placeholders.
pub(super) fn version_clause(e: Expr, version: Option<&str>) -> Expr {
    let e = e.name("#signins", SIGNINS_VERSION);
    match version {
        Some(v) => e
            .and_condition("#signins = :signins_read")
            .value(":signins_read", n(v)),
        None => e.and_condition("attribute_not_exists(#signins)"),
    }
}

impl DynamoStore {
    /// Pushes the ends of `read`'s signins, but `except` and those in `skip` (the grant deletes
    /// them itself, and one transaction cannot touch an item twice).
    pub(super) fn push_read_ends(
        &self,
        tx: &mut Transaction,
        read: &SigninsRead,
        except: Option<&str>,
        skip: &[Signin],
    ) -> Ends {
        let to_end: Vec<&Signin> = read
            .signins
            .iter()
            .filter(|s| Some(s.id.as_str()) != except && !skip.iter().any(|k| k.id == s.id))
            .collect();
        if tx.items() + 2 * to_end.len() > TRANSACTION_ITEMS {
            return Ends::TooMany;
        }
        for signin in to_end {
            self.push_end(tx, signin);
        }
        Ends::Pushed
    }

    /// The user and its signins as they are now, in one Query: what a cancelled password write
    /// reads to learn why.
    pub(super) async fn user_now(
        &self,
        user_id: &str,
    ) -> Result<(Option<User>, SigninsRead), StoreError> {
        let read = self.read_partition(user_id).await?;
        let signins = SigninsRead {
            signins: read.signins,
            version: read.version,
        };
        Ok((read.user, signins))
    }

    /// `UserStore::change_password`.
    pub(super) async fn write_password(&self, c: &PasswordWrite) -> Result<Written, StoreError> {
        let mut ends = c.end_signins.clone();
        for _ in 0..TRIES {
            let mut user = Expr::new("SET #hash = :new, #updated = :now")
                .name("#hash", "password_hash")
                .name("#updated", "updated_at")
                .value(":new", s(&c.new_hash))
                .value(":now", n(c.now.unix_timestamp()));
            // No password is stored as an absent or a null attribute.
            user = match &c.expected {
                Some(old) => user
                    .condition("attribute_exists(pk) AND #hash = :expected")
                    .value(":expected", s(old)),
                None => user
                    .condition(
                        "attribute_exists(pk) AND (attribute_not_exists(#hash) OR attribute_type(#hash, :null))",
                    )
                    .value(":null", s("NULL")),
            };
            let mut tx = Transaction::new();
            if let Some((read, _)) = &ends {
                // Every signin ends, and a sign-in waiting at its second factor with them.
                user = version_clause(user, read.version.as_deref())
                    .append(" ADD #signouts :one")
                    .name("#signouts", SIGNOUTS_VERSION)
                    .value(":one", n(1));
            }
            tx.push(self.update(user_key(&c.user_id), user));
            if let Some((read, keep)) = &ends
                && let Ends::TooMany = self.push_read_ends(&mut tx, read, keep.as_deref(), &[])
            {
                self.end_all_from(&c.user_id, Some(read.clone()), keep.as_deref())
                    .await?;
                let (_, fresh) = self.user_now(&c.user_id).await?;
                ends = Some((fresh, keep.clone()));
                continue;
            }
            if let Outcome::Done = self.run(tx).await? {
                return Ok(Written::Done);
            }
            // The user item's condition failed: the hash changed (or the user is gone), or a
            // grant landed since the signins were read (then again, on this fresh read).
            let (now, fresh) = self.user_now(&c.user_id).await?;
            match (now, &mut ends) {
                (Some(u), Some((read, _))) if u.password_hash == c.expected => *read = fresh,
                _ => return Ok(Written::Conflict),
            }
        }
        Err(StoreError::Unavailable(
            "the user's signins kept changing while changing the password".into(),
        ))
    }
}
