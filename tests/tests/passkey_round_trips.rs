//! Issue 16's budget, counted against DynamoDB Local: a passkey sign-in's completion
//! (`POST /auth/attempt-verification` with a credential) at most 2 sequential round trips (the
//! session and the passkey read at once, then one transaction). Prints the figures; run with
//! `--nocapture` to see them.

use std::sync::Arc;

use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame::adapters::dynamo::{CallLog, sequential_round_trips};
use sesame_e2e::passkey::{ORIGIN, SoftKey};
use sesame_e2e::{Backend, Moto, Server};
use time::OffsetDateTime;

fn report(log: &CallLog, what: &str, budget: usize) {
    let calls = log.take();
    let depth = sequential_round_trips(&calls);
    let ops: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    println!(
        "ROUND TRIPS {what}: {depth} sequential (budget {budget}), {} calls {ops:?}",
        calls.len()
    );
    assert!(
        depth <= budget,
        "{what}: {depth} sequential round trips, budget {budget}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_passkey_signin_completes_within_two_round_trips() {
    let Some(moto) = Moto::new(true).await else {
        return;
    };
    let log = CallLog::new();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let mut app = sesame::wiring::aws(moto.config(&[]), None)
        .await
        .expect("wired");
    app.store = Arc::new(moto.store(Some(log.clone())).await);
    app.clock = clock.clone();
    let server = Server::serve(app, None, Some(moto), log.clone(), Backend::Moto).await;
    let (mut owner, _, user_id) = server.new_user("passkeybudget").await;
    let mut key = SoftKey::new(ORIGIN);

    log.take();
    let begun = owner.post("/me/passkeys/register/begin", json!({})).await;
    assert_eq!(begun.status, 200, "{:#}", begun.body);
    report(&log, "POST /me/passkeys/register/begin", 3);
    let credential = key.register(&begun.body["data"], None);
    let done = owner
        .post(
            "/me/passkeys/register/finish",
            json!({"credential": credential, "name": "laptop"}),
        )
        .await;
    assert_eq!(done.status, 201, "{:#}", done.body);
    report(&log, "POST /me/passkeys/register/finish", 3);

    // Once in a new browser (a session is created), once in one that has a session.
    for (what, mut browser) in [
        ("new session", server.browser()),
        ("existing session", owner),
    ] {
        let opened = browser
            .post("/auth/signin", json!({"strategy": "passkey"}))
            .await;
        assert_eq!(opened.status, 200, "{:#}", opened.body);
        report(&log, &format!("POST /auth/signin (passkey, {what})"), 4);
        let attempt = opened.body["data"]["signin_attempts"]
            .as_array()
            .and_then(|all| all.last())
            .unwrap()
            .clone();
        let assertion = key.assert(&attempt["passkey_options"], 0, None);
        let done = browser
            .post(
                "/auth/attempt-verification",
                json!({"signin_attempt_id": attempt["id"], "credential": assertion}),
            )
            .await;
        assert_eq!(done.status, 200, "{:#}", done.body);
        assert_eq!(
            done.body["data"]["active_signin"]["user_id"],
            user_id.as_str()
        );
        report(
            &log,
            &format!("POST /auth/attempt-verification (passkey, {what})"),
            2,
        );
    }
}
