//! Publishing domain events (DESIGN section 14). [`relay`] is the `events` function's work: it
//! turns a batch of the table's stream records into events (`adapters::dynamo::stream`, then the
//! pure `domain::events::events_of`) and puts them on an [`EventBus`] in order, at most
//! [`MAX_BATCH`] per call, retrying the entries the bus refused. What still fails after
//! [`ATTEMPTS`] is reported as the first record not published, which Lambda's
//! `ReportBatchItemFailures` retries from (and after its retries hands to the dead-letter queue).
//! Records after it are not sent in this invocation, so a redelivery repeats nothing but the
//! rare entries of the failing call that had gone through; every event's `detail.event_id`
//! (the stream record's id and the event's place in it) lets a subscriber drop those.
//!
//! [`eventbridge::EventBridgeBus`] is the bus in AWS; [`log::EventLog`] keeps the embedded
//! store's events for `GET /dev/events`.

pub mod eventbridge;
pub mod log;

use std::time::Duration;

use async_trait::async_trait;
use serde_dynamo::Item;

use crate::adapters::dynamo::stream::change_of;
use crate::domain::events::{Published, events_of};
use crate::domain::model::Timestamp;

/// `PutEvents` takes at most ten entries.
pub const MAX_BATCH: usize = 10;
/// Calls per entry before its record is reported as failed (the first and three retries).
pub const ATTEMPTS: u32 = 4;

/// Where events go: EventBridge, or a fake in tests.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Puts at most [`MAX_BATCH`] events. `Ok` has one entry per event, in order: `None` if it
    /// was accepted, else the bus's error code. `Err` means the whole call failed.
    async fn put(&self, events: &[Published]) -> Result<Vec<Option<String>>, String>;
}

/// One record of the table's stream, as the `events` function receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRecord {
    /// The record's `eventID`, unique in the stream.
    pub event_id: String,
    /// `SequenceNumber`: what `ReportBatchItemFailures` names a record by.
    pub sequence_number: String,
    /// `ApproximateCreationDateTime`: when the change committed.
    pub at: Timestamp,
    pub keys: Item,
    pub old_image: Option<Item>,
    pub new_image: Option<Item>,
}

/// What [`relay`] did with a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Relayed {
    /// Events the bus accepted.
    pub published: usize,
    /// The sequence number of the first record whose events were not all accepted (or that
    /// could not be read): Lambda retries the batch from it. `None`: the whole batch is done.
    pub failed: Option<String>,
}

/// Publishes the events of `records` (in stream order) on `bus`; waits `backoff`, doubling, before
/// each retry of refused entries.
pub async fn relay(bus: &dyn EventBus, records: &[StreamRecord], backoff: Duration) -> Relayed {
    // Each event with the index of its record; reading stops at the first unreadable record.
    let mut events: Vec<(usize, Published)> = Vec::new();
    let mut unreadable = None;
    for (index, record) in records.iter().enumerate() {
        match change_of(
            &record.keys,
            record.old_image.clone(),
            record.new_image.clone(),
        ) {
            Ok(None) => {}
            Ok(Some(change)) => {
                for (n, event) in events_of(&change, record.at).into_iter().enumerate() {
                    let id = format!("{}-{n}", record.event_id);
                    events.push((index, Published::new(id, event, record.at)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, sequence_number = %record.sequence_number, "stream record not readable");
                unreadable = Some(index);
                break;
            }
        }
    }
    let mut published = 0;
    let mut failed_record = unreadable;
    for chunk in events.chunks(MAX_BATCH) {
        match put_with_retries(bus, chunk, backoff).await {
            Ok(()) => published += chunk.len(),
            Err((accepted, first_failed)) => {
                published += accepted;
                failed_record = Some(first_failed);
                break;
            }
        }
    }
    Relayed {
        published,
        failed: failed_record.map(|i| records[i].sequence_number.clone()),
    }
}

/// Puts `chunk`, then again only what was refused, up to [`ATTEMPTS`] calls. On failure: how
/// many were accepted, and the first record (index) with an event still refused.
async fn put_with_retries(
    bus: &dyn EventBus,
    chunk: &[(usize, Published)],
    backoff: Duration,
) -> Result<(), (usize, usize)> {
    let mut pending: Vec<&(usize, Published)> = chunk.iter().collect();
    let mut delay = backoff;
    for attempt in 1..=ATTEMPTS {
        let batch: Vec<Published> = pending.iter().map(|(_, e)| e.clone()).collect();
        pending = match bus.put(&batch).await {
            Ok(outcomes) if outcomes.len() == batch.len() => pending
                .into_iter()
                .zip(outcomes)
                .filter_map(|(entry, outcome)| {
                    let code = outcome?;
                    tracing::warn!(attempt, error_code = %code, event_id = %entry.1.id, "event refused");
                    Some(entry)
                })
                .collect(),
            Ok(outcomes) => {
                tracing::warn!(attempt, sent = batch.len(), answered = outcomes.len(), "PutEvents answered another number of entries");
                pending
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, "PutEvents failed");
                pending
            }
        };
        if pending.is_empty() {
            return Ok(());
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    let first = pending.iter().map(|(i, _)| *i).min().expect("not empty");
    Err((chunk.len() - pending.len(), first))
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
