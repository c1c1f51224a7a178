//! The `send-codes` function's sample event (`events/send-codes.json`) is an SQS event the
//! function's types read, and an item nobody sealed under the code key is reported for a retry
//! (after the last, the dead-letter queue), never dropped nor delivered.

use std::path::PathBuf;

use aws_lambda_events::event::sqs::SqsEvent;
use sesame::adapters::sqs::Sealer;
use sesame::config::Config;
use sesame::domain::model::Channel;
use sesame::domain::ports::{Message, Outgoing};
use sesame::send_codes::{Record, send_batch};

#[tokio::test]
async fn an_item_that_does_not_open_is_reported_and_a_sealed_one_is_delivered() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/send-codes.json");
    let event: SqsEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (app, outbox) = sesame::wiring::embedded(Config::for_tests(&[]));
    let sealer = Sealer::new(&[9; 32]);
    let mut records: Vec<Record> = event
        .records
        .into_iter()
        .map(|m| Record {
            message_id: m.message_id.unwrap(),
            body: m.body.unwrap(),
        })
        .collect();
    let message = Message {
        channel: Channel::Email,
        to: "ada@example.com".into(),
        subject: "Your verification code".into(),
        text: "Your verification code is 123456.".into(),
        html: String::new(),
    };
    let sealed = |message| {
        sealer
            .seal(&Outgoing {
                message,
                attempt: None,
            })
            .unwrap()
    };
    records.push(Record {
        message_id: "sealed".into(),
        body: sealed(Some(message)),
    });
    records.push(Record {
        message_id: "decoy".into(),
        body: sealed(None),
    });
    let failed = send_batch(&app, &sealer, records).await;
    assert_eq!(failed, ["059f36b4-87a3-44ab-83d2-661975830a7d"]);
    let sent = outbox.list();
    assert_eq!(sent.len(), 1, "the sealed message, not the decoy");
    assert_eq!(sent[0].to, "ada@example.com");
}
