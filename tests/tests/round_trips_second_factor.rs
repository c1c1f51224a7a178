//! Issue 13's round trips against DynamoDB Local, beside `round_trips.rs` (which counts the
//! second-factor step of a sign-in): `POST /auth/reverify` with a second factor. Prints the
//! figures; run with `--nocapture` to see them.

use std::sync::Arc;

use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame::adapters::dynamo::{CallLog, sequential_round_trips};
use sesame::domain::factors::SecondFactorWrite;
use sesame::domain::ports::Clock;
use sesame::domain::second_factor::{backup, sealing, totp};
use sesame_e2e::{Backend, Moto, Server};
use time::OffsetDateTime;

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

/// A reverification by TOTP or a backup code: the session; the user, the per-user failure limit
/// and the account's budget in parallel; one transaction spending the code and refreshing the
/// signin; the limits given back. 4 sequential round trips.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reverification_with_a_second_factor_stays_within_its_budget() {
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
    let (mut browser, _, user_id) = server.new_user("reverifybudget").await;

    // TOTP and one backup code on, written as enrollment writes them.
    let key = server.app.config.code_hash_key.bytes().unwrap().to_vec();
    let secret = totp::new_secret();
    let code = backup::generate().remove(0);
    let user = server.app.store.get_user(&user_id).await.unwrap().unwrap();
    let mut w = SecondFactorWrite::on(&user_id, &user.second_factor, clock.now());
    w.totp_secret = Some(Some(sealing::seal(&key, &user_id, &secret)));
    w.backup_code_hashes = Some(vec![backup::hash(
        &key,
        &user_id,
        &backup::normalize(&code).unwrap(),
    )]);
    w.two_factor_enabled = true;
    server.app.store.write_second_factor(&w).await.unwrap();

    for (strategy, submitted) in [
        ("totp", totp::code_at(&secret, clock.now().unix_timestamp())),
        ("backup_code", code),
    ] {
        log.take();
        let done = browser
            .post(
                "/auth/reverify",
                json!({"strategy": strategy, "code": submitted}),
            )
            .await;
        assert_eq!(done.status, 200, "{:#}", done.body);
        report(&log, &format!("POST /auth/reverify ({strategy})"), 4);
    }
}
