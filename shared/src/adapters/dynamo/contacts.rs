//! Moving an email or phone claim (`AttemptStore::move_contact`): one transaction completes the
//! attempt, claims the new contact, releases the old one and its user-index entry, and sets the
//! user's contact (as `User::move_contact` does to a user), or writes nothing.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use crate::domain::model::{AttemptKind, Channel, Claim};
use crate::domain::ports::store::{Completion, ContactMove, StoreError};

use super::DynamoStore;
use super::codec::{n, s};
use super::expr::Expr;
use super::keys::{CLAIMS_VERSION, claim_key, user_claim_key, user_key};
use super::transaction::{Outcome, Transaction};

impl DynamoStore {
    pub(super) async fn moved_contact(&self, c: &ContactMove) -> Result<Completion, StoreError> {
        let new_claim = Claim::for_contact(c.channel, &c.to);
        let mut tx = Transaction::new();
        let attempt =
            tx.push(self.completion_update(&c.session_id, AttemptKind::Signin, &c.check, None));
        let claim = self.push_claim(&mut tx, &new_claim, &c.user_id);

        let (field, verified) = match c.channel {
            Channel::Email => ("email", "email_verified"),
            Channel::Sms => ("phone_number", "phone_verified"),
        };
        let condition = match &c.from {
            Some(_) => "attribute_exists(pk) AND #contact = :from",
            None => {
                "attribute_exists(pk) AND (attribute_not_exists(#contact) OR attribute_type(#contact, :null))"
            }
        };
        let mut user = Expr::new("SET #contact = :to, #verified = :true, #updated = :at")
            .condition(condition)
            .name("#contact", field)
            .name("#verified", verified)
            .name("#updated", "updated_at")
            .value(":to", s(&c.to))
            .value(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .value(":at", n(c.at.unix_timestamp()));
        user = match &c.from {
            Some(from) => user.value(":from", s(from)),
            None => user.value(":null", s("NULL")),
        };
        // Counted, so a deletion that read the user's claims before this move cannot miss it.
        let user = user
            .append(" ADD #claims :one")
            .name("#claims", CLAIMS_VERSION)
            .value(":one", n(1));
        tx.push(self.update(user_key(&c.user_id), user));

        let old = c.from.as_deref().map(|f| Claim::for_contact(c.channel, f));
        if let Some(old) = old.filter(|old| old.key() != new_claim.key()) {
            // Only a claim that is this user's is released (an unverified old contact has none).
            let release = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(claim_key(&old)))
                .condition_expression("attribute_not_exists(pk) OR #owner = :me")
                .expression_attribute_names("#owner", "user_id")
                .expression_attribute_values(":me", s(&c.user_id))
                .build()
                .expect("table and key are set");
            tx.push(TransactWriteItem::builder().delete(release).build());
            tx.push(self.delete(user_claim_key(&c.user_id, &old.key())));
        }

        // Another user's claim on the new contact outranks a used attempt or a stale user.
        Ok(match self.run(tx).await? {
            Outcome::Done => Completion::Done,
            Outcome::Cancelled(reasons) if reasons.failed(claim) => {
                Completion::Taken(vec![new_claim])
            }
            Outcome::Cancelled(reasons) if reasons.failed(attempt) => Completion::AttemptChanged,
            Outcome::Cancelled(_) => Completion::UserBlocked,
        })
    }
}
