use std::collections::HashMap;
use std::sync::Mutex;

use serde_dynamo::AttributeValue;
use time::macros::datetime;

use super::*;

type Refuse = Box<dyn Fn(usize, &Published) -> Option<&'static str> + Send + Sync>;

/// A bus that refuses what `refuse` says (by call number from 1 and event id) and records
/// every call and every accepted event.
struct FakeBus {
    refuse: Refuse,
    fail_call: Box<dyn Fn(usize) -> bool + Send + Sync>,
    calls: Mutex<Vec<usize>>,
    accepted: Mutex<Vec<String>>,
}

impl FakeBus {
    fn new() -> Self {
        Self {
            refuse: Box::new(|_, _| None),
            fail_call: Box::new(|_| false),
            calls: Mutex::new(Vec::new()),
            accepted: Mutex::new(Vec::new()),
        }
    }
    fn calls(&self) -> Vec<usize> {
        self.calls.lock().unwrap().clone()
    }
    fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }
}

#[async_trait]
impl EventBus for FakeBus {
    async fn put(&self, events: &[Published]) -> Result<Vec<Option<String>>, String> {
        assert!(events.len() <= MAX_BATCH);
        let call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(events.len());
            calls.len()
        };
        if (self.fail_call)(call) {
            return Err("ThrottlingException".into());
        }
        Ok(events
            .iter()
            .map(|e| {
                let refused = (self.refuse)(call, e).map(str::to_string);
                if refused.is_none() {
                    self.accepted.lock().unwrap().push(e.id.clone());
                }
                refused
            })
            .collect())
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn item(pairs: Vec<(&str, AttributeValue)>) -> Item {
    Item::from(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<HashMap<_, _>>(),
    )
}

/// The stream record of signin `i`'s creation (one event each).
fn signin_created(i: usize) -> StreamRecord {
    let (pk, sk) = ("SESSION#sess_1".to_string(), format!("SIGNIN#sin_{i}"));
    StreamRecord {
        event_id: format!("rec{i}"),
        sequence_number: format!("{:05}", i + 1),
        at: datetime!(2026-01-01 12:00 UTC),
        keys: item(vec![("pk", s(&pk)), ("sk", s(&sk))]),
        old_image: None,
        new_image: Some(item(vec![
            ("pk", s(&pk)),
            ("sk", s(&sk)),
            ("id", s(&format!("sin_{i}"))),
            ("session_id", s("sess_1")),
            ("user_id", s("user_1")),
            ("created_at", n(1_767_268_800)),
            ("expires_at", n(1_767_873_600)),
            ("last_active_at", n(1_767_268_800)),
        ])),
    }
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("rec{i}-0")).collect()
}

#[tokio::test]
async fn a_batch_goes_out_in_order_ten_entries_per_call() {
    let bus = FakeBus::new();
    let records: Vec<StreamRecord> = (0..25).map(signin_created).collect();
    let relayed = relay(&bus, &records, Duration::ZERO).await;
    assert_eq!(
        relayed,
        Relayed {
            published: 25,
            failed: None
        }
    );
    assert_eq!(bus.calls(), [10, 10, 5]);
    assert_eq!(bus.accepted(), ids(0..25));
}

#[tokio::test]
async fn a_failed_call_is_retried_and_each_event_goes_out_once() {
    let bus = FakeBus {
        fail_call: Box::new(|call| call == 1),
        ..FakeBus::new()
    };
    let records: Vec<StreamRecord> = (0..3).map(signin_created).collect();
    let relayed = relay(&bus, &records, Duration::ZERO).await;
    assert_eq!(relayed.failed, None);
    assert_eq!(bus.calls(), [3, 3]);
    assert_eq!(bus.accepted(), ids(0..3));
}

#[tokio::test]
async fn only_the_refused_entries_are_sent_again() {
    let bus = FakeBus {
        refuse: Box::new(|call, e| {
            (call == 1 && e.id == "rec1-0").then_some("ThrottlingException")
        }),
        ..FakeBus::new()
    };
    let records: Vec<StreamRecord> = (0..3).map(signin_created).collect();
    let relayed = relay(&bus, &records, Duration::ZERO).await;
    assert_eq!(
        relayed,
        Relayed {
            published: 3,
            failed: None
        }
    );
    assert_eq!(bus.calls(), [3, 1]);
    let mut accepted = bus.accepted();
    accepted.sort();
    assert_eq!(accepted, ids(0..3));
}

#[tokio::test]
async fn an_entry_refused_every_time_reports_its_record_and_stops_the_batch() {
    let bus = FakeBus {
        refuse: Box::new(|_, e| (e.id == "rec12-0").then_some("InternalFailure")),
        ..FakeBus::new()
    };
    let records: Vec<StreamRecord> = (0..25).map(signin_created).collect();
    let relayed = relay(&bus, &records, Duration::ZERO).await;
    // Records 10..20 share a call: 12 failed, the rest of that call went through; 20.. never sent.
    assert_eq!(relayed.failed.as_deref(), Some("00013"));
    assert_eq!(relayed.published, 19);
    assert_eq!(bus.calls(), [10, 10, 1, 1, 1]);
    assert!(!bus.accepted().contains(&"rec12-0".to_string()));
    assert!(!bus.accepted().contains(&"rec20-0".to_string()));
}

#[tokio::test]
async fn an_unreadable_record_is_reported_after_the_records_before_it_are_published() {
    let bus = FakeBus::new();
    let mut records: Vec<StreamRecord> = (0..4).map(signin_created).collect();
    records[2].new_image = Some(item(vec![("pk", s("SESSION#sess_1")), ("id", n(7))]));
    let relayed = relay(&bus, &records, Duration::ZERO).await;
    assert_eq!(relayed.failed.as_deref(), Some("00003"));
    assert_eq!(bus.accepted(), ids(0..2));
}

#[tokio::test]
async fn records_of_other_items_publish_nothing() {
    let bus = FakeBus::new();
    let mut record = signin_created(0);
    record.keys = item(vec![("pk", s("SESSION#sess_1")), ("sk", s("SESSION"))]);
    let relayed = relay(&bus, &[record], Duration::ZERO).await;
    assert_eq!(relayed, Relayed::default());
    assert!(bus.calls().is_empty());
}
