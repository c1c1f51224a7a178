//! Transactions whose cancellation is read per item. `push` returns the item's `Slot`, and a
//! cancelled transaction's `Reasons` are asked about slots, never positions, so items can be
//! added or reordered without the outcome decoding silently reading the wrong one.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use crate::domain::ports::store::StoreError;

use super::DynamoStore;
use super::codec::{Item, unavailable};
use super::expr::Expr;

/// The items of one TransactWriteItems call, in push order.
#[derive(Default)]
pub(super) struct Transaction {
    items: Vec<TransactWriteItem>,
}

/// Where an item went in its transaction: ask `Reasons::failed` about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot(usize);

impl Transaction {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many items it holds so far.
    pub fn items(&self) -> usize {
        self.items.len()
    }

    pub fn push(&mut self, item: TransactWriteItem) -> Slot {
        self.items.push(item);
        Slot(self.items.len() - 1)
    }
}

pub(super) enum Outcome {
    Done,
    /// Some condition failed and nothing was written.
    Cancelled(Reasons),
}

/// A cancelled transaction's reason codes, one per item (`"None"` where it was fine).
#[derive(Debug)]
pub(super) struct Reasons(Vec<String>);

impl Reasons {
    /// Whether the item in `slot` failed its condition. A slot the answer does not cover (from
    /// another transaction) did not fail.
    pub fn failed(&self, slot: Slot) -> bool {
        self.0
            .get(slot.0)
            .is_some_and(|r| r == "ConditionalCheckFailed")
    }

    /// The values whose slot failed, in the given order (e.g. the claims another user holds).
    pub fn failures<T: Clone>(&self, slots: &[(T, Slot)]) -> Vec<T> {
        slots
            .iter()
            .filter(|(_, slot)| self.failed(*slot))
            .map(|(value, _)| value.clone())
            .collect()
    }
}

/// What a cancellation's reason codes mean to the runner.
#[derive(Debug)]
enum Cancellation {
    /// Another transaction touched one of the items: worth another try.
    Conflict,
    /// Only conditions failed: the answer to return.
    Answer(Reasons),
    /// Throttling, validation or size errors, which are no answer about the data.
    Refused(Vec<String>),
}

fn classify(codes: Vec<String>) -> Cancellation {
    if codes.iter().any(|r| r == "TransactionConflict") {
        Cancellation::Conflict
    } else if codes
        .iter()
        .all(|r| r == "None" || r == "ConditionalCheckFailed")
    {
        Cancellation::Answer(Reasons(codes))
    } else {
        Cancellation::Refused(codes)
    }
}

impl DynamoStore {
    /// Runs a transaction; conflicts with other transactions are retried a few times, since
    /// DynamoDB cancels rather than queues concurrent transactions on one item.
    pub(super) async fn run(&self, tx: Transaction) -> Result<Outcome, StoreError> {
        let mut delay = Duration::from_millis(20);
        for _ in 0..4 {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(tx.items.clone()))
                .send()
                .await;
            let codes = match result {
                Ok(_) => return Ok(Outcome::Done),
                Err(SdkError::ServiceError(e)) => match e.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_string())
                        .collect::<Vec<_>>(),
                    _ => return Err(unavailable(SdkError::ServiceError(e))),
                },
                Err(e) => return Err(unavailable(e)),
            };
            match classify(codes) {
                Cancellation::Conflict => {}
                Cancellation::Answer(reasons) => return Ok(Outcome::Cancelled(reasons)),
                Cancellation::Refused(codes) => {
                    return Err(StoreError::Unavailable(format!(
                        "transaction cancelled: {codes:?}"
                    )));
                }
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        Err(StoreError::Unavailable(
            "transaction kept conflicting".into(),
        ))
    }

    /// A put of a new item, refused when one exists under its key.
    pub(super) fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    pub(super) fn update(&self, key: Item, e: Expr) -> TransactWriteItem {
        let (update, condition, names, values) = e.into_parts();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    pub(super) fn delete(&self, key: Item) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    fn item() -> TransactWriteItem {
        TransactWriteItem::builder().build()
    }

    fn answer(c: &[&str]) -> Reasons {
        match classify(codes(c)) {
            Cancellation::Answer(reasons) => reasons,
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    #[test]
    fn reasons_are_read_by_the_slot_push_returned() {
        let mut tx = Transaction::new();
        let (a, b, c) = (tx.push(item()), tx.push(item()), tx.push(item()));
        let reasons = answer(&["None", "ConditionalCheckFailed", "None"]);
        assert!(!reasons.failed(a));
        assert!(reasons.failed(b));
        assert!(!reasons.failed(c));
    }

    #[test]
    fn an_item_pushed_later_is_read_by_its_own_slot() {
        let mut tx = Transaction::new();
        let claims: Vec<(&str, Slot)> = ["email", "phone"]
            .into_iter()
            .map(|c| (c, tx.push(item())))
            .collect();
        let session = tx.push(item());
        let charge = tx.push(item());
        let reasons = answer(&[
            "None",
            "ConditionalCheckFailed",
            "None",
            "ConditionalCheckFailed",
        ]);
        assert_eq!(reasons.failures(&claims), vec!["phone"]);
        assert!(!reasons.failed(session));
        assert!(reasons.failed(charge));
    }

    #[test]
    fn a_slot_the_reasons_do_not_cover_did_not_fail() {
        let mut longer = Transaction::new();
        longer.push(item());
        let beyond = longer.push(item());
        let reasons = answer(&["ConditionalCheckFailed"]);
        assert!(!reasons.failed(beyond));
    }

    #[test]
    fn a_conflict_is_retried_even_beside_a_failed_condition() {
        assert!(matches!(
            classify(codes(&["ConditionalCheckFailed", "TransactionConflict"])),
            Cancellation::Conflict
        ));
    }

    #[test]
    fn only_failed_conditions_are_an_answer() {
        assert!(matches!(
            classify(codes(&["None", "ThrottlingError"])),
            Cancellation::Refused(_)
        ));
        assert!(matches!(
            classify(codes(&["ValidationError", "ConditionalCheckFailed"])),
            Cancellation::Refused(_)
        ));
        let reasons = answer(&["None", "None"]);
        assert!(!reasons.failed(Slot(0)) && !reasons.failed(Slot(1)));
    }
}
