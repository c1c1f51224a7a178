//! The domain events' test harness: a race for one email that exactly one sign-up wins (the
//! other's transaction is cancelled), and, in moto, a subscriber to Sesame's events (a bus of
//! its own, an EventBridge rule on `source: sesame` and the SQS queue it targets).

use serde_json::{Value, json};
use sesame::ids::new_id;

use crate::{Browser, Server, code_in, test_config, unique_email};

/// Two browsers sign up with one new email, each with its own code, then complete one after the
/// other: the first creates the user, the second loses (`409 EMAIL_EXISTS`). The email, and the
/// winner's user id.
pub async fn race_for_one_email(server: &Server) -> (String, String) {
    let email = unique_email("race");
    let mut opened: Vec<(Browser, String)> = Vec::new();
    for _ in 0..2 {
        let mut b = server.browser();
        let answer = b.sign_up(&email).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        opened.push((b, answer.signup_attempt_id()));
    }
    let codes: Vec<String> = server
        .messages_to(&email)
        .await
        .iter()
        .map(|m| code_in(m))
        .collect();
    assert_eq!(codes.len(), 2, "one code per sign-up");
    let mut answers = Vec::new();
    for ((mut b, attempt), code) in opened.into_iter().zip(codes) {
        answers.push(b.verify(&attempt, &code).await);
    }
    assert_eq!(answers[0].status, 200, "{:#}", answers[0].body);
    assert_eq!(
        (answers[1].status, answers[1].error()),
        (409, "EMAIL_EXISTS")
    );
    let winner = answers[0].user_id().expect("signed in").to_string();
    (email, winner)
}

/// Changes the browser's user's email through `POST /me/email` and `/verify`; the new address.
pub async fn change_email(server: &Server, browser: &mut Browser) -> String {
    let new = unique_email("moved");
    let opened = browser.post("/me/email", json!({"email": new})).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&new).await;
    let done = browser
        .post("/me/email/verify", json!({"code": code}))
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    new
}

/// `DELETE /me`.
pub async fn delete_me(browser: &mut Browser) {
    let req = browser.client.delete(format!("{}/me", browser.base));
    let deleted = browser.send(req).await;
    assert_eq!(deleted.status, 200, "{:#}", deleted.body);
}

/// A subscriber in moto: its own bus (`bus`), with a rule on `source: sesame` targeting a queue.
pub struct Subscriber {
    pub bus: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Subscriber {
    pub async fn new(moto: &str) -> Self {
        let sdk = sesame::wiring::sdk_config(&test_config(&[])).await;
        let eventbridge = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(&sdk)
                .endpoint_url(moto)
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&sdk)
                .endpoint_url(moto)
                .build(),
        );
        let bus = new_id("sesame-bus");
        eventbridge
            .create_event_bus()
            .name(&bus)
            .send()
            .await
            .expect("create a bus in moto");
        let queue_url = sqs
            .create_queue()
            .queue_name(new_id("sesame-events"))
            .send()
            .await
            .expect("create a queue in moto")
            .queue_url
            .expect("queue url");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("queue arn");
        // The example's rule (examples/events-subscriber): every event of source sesame.
        eventbridge
            .put_rule()
            .name("sesame-events")
            .event_bus_name(&bus)
            .event_pattern(json!({"source": ["sesame"]}).to_string())
            .send()
            .await
            .expect("put a rule in moto");
        eventbridge
            .put_targets()
            .rule("sesame-events")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("id and arn are set"),
            )
            .send()
            .await
            .expect("put the queue as the rule's target");
        Self {
            bus,
            sqs,
            queue_url,
        }
    }

    /// Every event delivered to the queue so far (each received once), as EventBridge sent it.
    pub async fn received(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive from moto")
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return out;
            }
            for m in batch {
                let body = m.body.expect("a body");
                out.push(serde_json::from_str(&body).expect("an event is JSON"));
            }
        }
    }
}
