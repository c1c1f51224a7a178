//! The `events` function (DESIGN section 14) fed with real stream records: sign-ups, a lost
//! sign-up race, an email change and a deletion go through the API to DynamoDB Local; its streams
//! API (GetShardIterator, GetRecords) gives the records, converted to the Lambda event's shape;
//! the handler puts the events on a bus in moto's EventBridge, whose rule feeds an SQS queue the
//! test reads back. One event per committed change, none for the write that lost, none lost or
//! repeated when `PutEvents` fails (a seam in front of the bus fails calls, once or throughout).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::{Value, json};
use sesame::adapters::events::EventBus;
use sesame::adapters::events::eventbridge::EventBridgeBus;
use sesame::domain::events::Published;
use sesame_e2e::events::{Subscriber, change_email, delete_me, race_for_one_email};
use sesame_e2e::{Backend, Moto, Server, test_config};

/// The bus in moto behind a seam: calls numbered from 1 fail (the whole call) while `fails` says.
struct Seam<'a> {
    bus: &'a EventBridgeBus,
    fails: fn(usize) -> bool,
    calls: AtomicUsize,
}

impl<'a> Seam<'a> {
    fn new(bus: &'a EventBridgeBus, fails: fn(usize) -> bool) -> Self {
        Self {
            bus,
            fails,
            calls: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl EventBus for Seam<'_> {
    async fn put(&self, events: &[Published]) -> Result<Vec<Option<String>>, String> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if (self.fails)(call) {
            return Err("ThrottlingException: injected by the test".into());
        }
        self.bus.put(events).await
    }
}

/// Turns on the test table's stream, as template.yaml declares it for the table in AWS.
async fn enable_stream(moto: &Moto) {
    moto.store(None)
        .await
        .client()
        .update_table()
        .table_name(&moto.table)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("enabled is set"),
        )
        .send()
        .await
        .expect("enable the table's stream");
}

/// Every record of the table's stream, oldest first, in the Lambda event's JSON shape.
async fn stream_records(moto: &Moto) -> Vec<Value> {
    let store = moto.store(None).await;
    let table = store
        .client()
        .describe_table()
        .table_name(&moto.table)
        .send()
        .await
        .expect("describe the table")
        .table
        .expect("a table");
    let arn = table.latest_stream_arn.expect("the table has a stream");
    let sdk = sesame::wiring::sdk_config(&test_config(&[])).await;
    let http = aws_smithy_http_client::Builder::new().build_http();
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::config::Builder::from(&sdk)
            .endpoint_url(&moto.dynamodb)
            .http_client(RepairingClient(http))
            .build(),
    );
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("describe the stream")
        .stream_description
        .and_then(|d| d.shards)
        .unwrap_or_default();
    let mut out = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id.expect("a shard id"))
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("a shard iterator")
            .shard_iterator;
        while let Some(it) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .expect("get records");
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            out.extend(records.iter().map(|r| lambda_record(r, &arn)));
            iterator = page.next_shard_iterator;
        }
    }
    out
}

/// DynamoDB Local (3.3.1) writes an empty map attribute in a stream record's images as `{}`
/// instead of `{"M": {}}` (DynamoDB itself, and its own GetItem, write the latter), which the SDK
/// refuses. This HTTP client repairs those answers before the SDK reads them; nothing else changes.
#[derive(Debug)]
struct RepairingClient(SharedHttpClient);

impl HttpClient for RepairingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RepairingConnector(
            self.0.http_connector(settings, components),
        ))
    }
}

#[derive(Debug)]
struct RepairingConnector(SharedHttpConnector);

impl HttpConnector for RepairingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.0.clone();
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            let body = ByteStream::new(response.take_body())
                .collect()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?
                .into_bytes();
            let repaired = match serde_json::from_slice::<Value>(&body) {
                Ok(mut json) => {
                    for record in json["Records"].as_array_mut().into_iter().flatten() {
                        for image in ["Keys", "NewImage", "OldImage"] {
                            if let Some(item) = record["dynamodb"][image].as_object_mut() {
                                item.values_mut().for_each(repair_attribute);
                            }
                        }
                    }
                    serde_json::to_vec(&json).expect("JSON")
                }
                Err(_) => body.to_vec(),
            };
            response.headers_mut().remove("content-length");
            response.headers_mut().remove("x-amz-crc32");
            *response.body_mut() = SdkBody::from(repaired);
            Ok(response)
        })
    }
}

fn repair_attribute(value: &mut Value) {
    match value {
        Value::Object(m) if m.is_empty() => *value = json!({"M": {}}),
        Value::Object(m) => {
            if let Some(Value::Object(inner)) = m.get_mut("M") {
                inner.values_mut().for_each(repair_attribute);
            }
            if let Some(Value::Array(items)) = m.get_mut("L") {
                items.iter_mut().for_each(repair_attribute);
            }
        }
        _ => {}
    }
}

/// A record as Lambda hands it to the function (`Records[]` of a DynamoDB event).
fn lambda_record(record: &Record, stream_arn: &str) -> Value {
    let change = record.dynamodb.as_ref().expect("a change");
    let image = |item: &Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        item.as_ref()
            .map(|i| serde_json::to_value(serde_dynamo::Item::from(i.clone())).expect("JSON"))
    };
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change.approximate_creation_date_time.map(|t| t.secs()),
        "Keys": image(&change.keys),
        "SequenceNumber": change.sequence_number,
        "SizeBytes": change.size_bytes,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    for (name, item) in [
        ("NewImage", &change.new_image),
        ("OldImage", &change.old_image),
    ] {
        if let Some(image) = image(item) {
            dynamodb[name] = image;
        }
    }
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name.as_ref().map(|n| n.as_str()),
        "eventVersion": record.event_version,
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}

fn event(records: &[Value]) -> Event {
    serde_json::from_value(json!({"Records": records})).expect("a DynamoDB event")
}

fn sequence_number(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .expect("a sequence number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn committed_changes_reach_a_subscriber_once_each_even_when_put_events_fails() {
    let Some(server) = Server::start(Backend::Moto, &[]).await else {
        return;
    };
    let moto = server.moto.as_ref().expect("moto backend");
    enable_stream(moto).await;
    let subscriber = Subscriber::new(&moto.endpoint).await;
    let sdk = sesame::wiring::sdk_config(&test_config(&[])).await;
    let bus = EventBridgeBus::new(&sdk, Some(&moto.endpoint), subscriber.bus.clone());

    let (mut browser, email, user_id) = server.new_user("events").await;
    let (raced, winner) = race_for_one_email(&server).await;
    let new_email = change_email(&server, &mut browser).await;
    let cookie = browser.cookie.clone().expect("signed in");
    delete_me(&mut browser).await;

    let records = stream_records(moto).await;
    // Two Lambda batches, split before the email change's record.
    let split = records
        .iter()
        .position(|r| r["dynamodb"]["NewImage"]["email"]["S"] == new_email.as_str())
        .expect("the email change is in the stream");
    let (first, second) = records.split_at(split);

    // The first batch's first PutEvents fails: the handler retries it, nothing is reported.
    let flaky = Seam::new(&bus, |call| call == 1);
    let done = sesame_functions::events::handle(&flaky, event(first), Duration::ZERO).await;
    assert!(done.batch_item_failures.is_empty(), "{done:?}");
    assert!(
        flaky.calls.load(Ordering::SeqCst) >= 2,
        "the failed call was retried"
    );

    // The second batch meets a bus failing throughout: its first record is reported, so Lambda
    // redelivers the batch from it; the redelivery goes through.
    let down = Seam::new(&bus, |_| true);
    let failed = sesame_functions::events::handle(&down, event(second), Duration::ZERO).await;
    let reported: Vec<Option<&str>> = failed
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_deref())
        .collect();
    assert_eq!(reported, [Some(sequence_number(&second[0]))]);
    let from = second
        .iter()
        .position(|r| Some(sequence_number(r)) == reported[0])
        .expect("the reported record is in the batch");
    let healthy = Seam::new(&bus, |_| false);
    let redelivered =
        sesame_functions::events::handle(&healthy, event(&second[from..]), Duration::ZERO).await;
    assert!(
        redelivered.batch_item_failures.is_empty(),
        "{redelivered:?}"
    );

    let received = subscriber.received().await;
    let mut got: Vec<(String, String)> = received
        .iter()
        .map(|e| {
            assert_eq!(e["source"], "sesame");
            (
                e["detail-type"].as_str().unwrap_or("?").to_string(),
                e["detail"]["user_id"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = [
        ("user.created", &user_id),
        ("signin.created", &user_id),
        ("email.changed", &user_id),
        ("user.deleted", &user_id),
        ("signin.ended", &user_id),
        // The race: the winner's user and signin; the loser's cancelled transaction, nothing.
        ("user.created", &winner),
        ("signin.created", &winner),
    ]
    .iter()
    .map(|(t, u)| (t.to_string(), u.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want, "{received:#?}");

    let mut ids: Vec<&str> = received
        .iter()
        .map(|e| e["detail"]["event_id"].as_str().unwrap_or(""))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), received.len(), "every change once");

    let find = |kind: &str| {
        received
            .iter()
            .find(|e| e["detail-type"] == kind && e["detail"]["user_id"] == user_id.as_str())
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    let created = find("user.created");
    assert_eq!(created["detail"]["user"]["email"], email.as_str());
    let moved = &find("email.changed")["detail"];
    assert_eq!(
        (&moved["previous_email"], &moved["email"]),
        (&json!(email), &json!(new_email))
    );
    assert_eq!(find("signin.ended")["detail"]["reason"], "ended");

    // No hash, code or cookie in any event.
    let text = serde_json::to_string(&received).unwrap();
    let secret = cookie.split_once('=').map_or(cookie.as_str(), |(_, v)| v);
    assert!(!text.contains(secret), "the session cookie leaked");
    assert!(!text.contains("argon2"), "a password hash leaked");
    for to in [&email, &new_email, &raced] {
        for message in server.messages_to(to).await {
            for code in six_digit_runs(&message) {
                assert!(!text.contains(&code), "the code sent to {to} leaked");
            }
        }
    }
}

/// The codes a message may carry: its runs of exactly six digits.
fn six_digit_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 6)
        .map(str::to_string)
        .collect()
}
