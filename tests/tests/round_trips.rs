//! DESIGN section 6's budget, counted against DynamoDB in moto: sequential round trips per
//! request (calls that overlap in time count once). Prints the figures; run with
//! `--nocapture` to see them.

use std::sync::Arc;

use serde_json::json;
use sesame::App;
use sesame::clock::ManualClock;
use sesame::store::dynamo::{CallLog, DynamoStore, sequential_round_trips};
use sesame_e2e::{Backend, Moto, Server, unique_email};
use time::{Duration, OffsetDateTime};

fn report(log: &CallLog, what: &str, budget: usize) -> usize {
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
    depth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_stay_within_their_dynamodb_round_trip_budget() {
    let Some(moto) = Moto::new(true).await else {
        return;
    };
    let log = CallLog::new();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let mut app = App::aws(moto.config(&[]), None).await;
    let sdk = sesame::app::sdk_config(&moto.config(&[])).await;
    app.store = Arc::new(DynamoStore::new(
        &sdk,
        moto.table.clone(),
        Some(log.clone()),
    ));
    app.clock = clock.clone();
    let server = Server::serve(app, None, Some(moto), log.clone(), Backend::Moto).await;
    let mut browser = server.browser();
    let email = unique_email("budget");

    log.take();
    let first = browser.post("/auth/signup", json!({"email": email, "password": "analytical engine", "username": format!("b{}", &email[7..15])})).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    report(&log, "POST /auth/signup (new session)", 4);

    let second = browser
        .post(
            "/auth/signup",
            json!({"email": unique_email("budget2"), "password": "analytical engine"}),
        )
        .await;
    assert_eq!(second.status, 200);
    report(&log, "POST /auth/signup (existing session)", 4);

    assert_eq!(browser.get("/session").await.status, 200);
    report(&log, "GET /session", 2);

    let id = first.signup_attempt_id();
    let code = server.code_for(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(browser.verify(&id, wrong).await.status, 400);
    report(&log, "POST /auth/attempt-verification (wrong code)", 2);

    clock.advance(Duration::seconds(31));
    let resent = browser
        .post(
            "/auth/prepare-verification",
            json!({"signup_attempt_id": id}),
        )
        .await;
    assert_eq!(resent.status, 200, "{:#}", resent.body);
    report(&log, "POST /auth/prepare-verification", 3);

    let code = server.code_for(&email).await;
    let done = browser.verify(&id, &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    report(
        &log,
        "POST /auth/attempt-verification (completes sign-up)",
        2,
    );

    clock.advance(Duration::hours(2));
    assert_eq!(browser.get("/session").await.status, 200);
    report(&log, "GET /session (idle deadline moved)", 2);
}
