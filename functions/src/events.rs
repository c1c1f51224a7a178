//! The `events` function: on the table's DynamoDB Stream (`NEW_AND_OLD_IMAGES`), not an HTTP
//! route. Each invocation gets a batch of stream records, publishes their domain events on
//! EventBridge (`sesame::adapters::events::relay`), and answers `batchItemFailures` naming the
//! first record not published (template.yaml sets `FunctionResponseTypes:
//! [ReportBatchItemFailures]`), so Lambda retries from there, and after its retries sends the
//! batch's description to the dead-letter queue.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use sesame::adapters::events::{EventBus, StreamRecord, relay};
use sesame::config::Config;
use time::OffsetDateTime;

use crate::Error;

/// The function's name: its binary (`src/bin/events.rs`) and template.yaml's `Binary`.
pub const FUNCTION: &str = "events";

/// The first retry of a refused entry waits this long, each next one twice as long.
pub const BACKOFF: Duration = Duration::from_millis(100);

pub async fn run() -> Result<(), Error> {
    sesame::telemetry::init();
    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let bus = Arc::new(sesame::wiring::event_bus(&config).await);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        let bus = bus.clone();
        async move { Ok::<_, Error>(handle(bus.as_ref(), event.payload, BACKOFF).await) }
    }))
    .await
}

/// One invocation: the stream records in, the records to retry out.
pub async fn handle(bus: &dyn EventBus, event: Event, backoff: Duration) -> DynamoDbEventResponse {
    let records: Vec<StreamRecord> = event.records.into_iter().map(stream_record).collect();
    let relayed = relay(bus, &records, backoff).await;
    tracing::info!(
        records = records.len(),
        published = relayed.published,
        failed = ?relayed.failed,
        "stream batch relayed"
    );
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = relayed.failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    response
}

/// A Lambda stream record as the relay reads it.
pub fn stream_record(record: EventRecord) -> StreamRecord {
    let change = record.change;
    let image = |item: serde_dynamo::Item| (!item.is_empty()).then_some(item);
    let at = OffsetDateTime::from_unix_timestamp(change.approximate_creation_date_time.timestamp())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    StreamRecord {
        event_id: record.event_id,
        sequence_number: change.sequence_number.unwrap_or_default(),
        at,
        keys: change.keys,
        old_image: image(change.old_image),
        new_image: image(change.new_image),
    }
}
