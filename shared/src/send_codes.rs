//! The `send-codes` function's work, apart from Lambda's types so tests can drive it: each SQS
//! record is opened (`adapters::sqs::Sealer`) and delivered (`domain::delivery::deliver`); the
//! ids of the records that failed are returned as the batch's item failures, so SQS retries only
//! those and moves them to the dead-letter queue after the last try. Nothing of a message (code,
//! address) is logged: only record and attempt ids and the error.

use futures_util::future::join_all;

use crate::Deps;
use crate::adapters::sqs::Sealer;
use crate::domain::delivery;

/// One SQS record: its message id and body.
pub struct Record {
    pub message_id: String,
    pub body: String,
}

/// Delivers a batch (in parallel); the message ids to retry.
pub async fn send_batch(deps: &Deps, sealer: &Sealer, records: Vec<Record>) -> Vec<String> {
    let outcomes = join_all(records.into_iter().map(|record| async move {
        let item = match sealer.open(&record.body) {
            Ok(item) => item,
            // A body no retry can open (another key, not ours): retrying cannot help, so it
            // is reported, and goes to the dead-letter queue after the last try for a human.
            Err(reason) => {
                tracing::error!(message_id = %record.message_id, %reason, "queue item not opened");
                return Some(record.message_id);
            }
        };
        match delivery::deliver(deps, &item).await {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(message_id = %record.message_id, error = %e, "delivery failed; SQS retries it");
                Some(record.message_id)
            }
        }
    }))
    .await;
    outcomes.into_iter().flatten().collect()
}
