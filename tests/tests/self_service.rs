//! DESIGN section 11, self-service: `POST /me/password`, on both backends.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame_e2e::{Backend, Browser, Server, both_backends, unique_email};
use time::{Duration, OffsetDateTime};

const OLD: &str = "analytical engine";
const NEW: &str = "a brand new difference engine";

async fn change(browser: &mut Browser, body: serde_json::Value) -> sesame_e2e::Answer {
    browser.post("/me/password", body).await
}

async fn a_password_change_needs_the_current_one_and_can_end_the_other_devices(server: Server) {
    let (mut browser, email, user_id) = server.new_user("change").await;
    let mut other_device = server.browser();
    assert_eq!(other_device.sign_in(&email, OLD).await.status, 200);

    let missing = change(&mut browser, json!({"new_password": NEW})).await;
    assert_eq!(missing.status, 400, "{:#}", missing.body);
    assert_eq!(missing.error(), "REQUIRED_FIELD");
    let weak = change(
        &mut browser,
        json!({"current_password": OLD, "new_password": "password"}),
    )
    .await;
    assert_eq!(weak.status, 400, "{:#}", weak.body);
    assert_eq!(weak.error(), "WEAK_PASSWORD");
    assert_eq!(weak.body["errors"][0]["field"], "new_password");

    let done = change(
        &mut browser,
        json!({"current_password": OLD, "new_password": NEW, "sign_out_others": true}),
    )
    .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.body["data"]["id"], user_id.as_str());
    assert!(
        done.body["data"].get("password_hash").is_none(),
        "nothing secret on the wire"
    );
    assert_eq!(browser.get("/me").await.status, 200, "the caller stays in");
    assert_eq!(
        other_device.get("/me").await.status,
        401,
        "sign_out_others ended the other device"
    );
    assert_eq!(server.browser().sign_in(&email, OLD).await.status, 401);
    assert_eq!(server.browser().sign_in(&email, NEW).await.status, 200);
    let notice = server.messages_to(&email).await.pop().expect("a notice");
    assert!(notice.contains("was just changed"), "{notice}");
}
both_backends!(a_password_change_needs_the_current_one_and_can_end_the_other_devices);

async fn without_sign_out_others_the_other_devices_stay(server: Server) {
    let (mut browser, email, _) = server.new_user("stay").await;
    let mut other_device = server.browser();
    assert_eq!(other_device.sign_in(&email, OLD).await.status, 200);
    let done = change(
        &mut browser,
        json!({"current_password": OLD, "new_password": NEW}),
    )
    .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(other_device.get("/me").await.status, 200);
}
both_backends!(without_sign_out_others_the_other_devices_stay);

async fn wrong_current_passwords_count_toward_the_sign_in_limit(server: Server) {
    let (browser, email, _) = server.new_user("limit").await;
    // Ten wrong tries at once: each counted, none more than sequential ones would be.
    let answers = join_all((0..12).map(|i| {
        let mut b = browser.clone();
        async move {
            let body = json!({"current_password": format!("not it {i}"), "new_password": NEW});
            change(&mut b, body).await
        }
    }))
    .await;
    let wrong = answers.iter().filter(|a| a.status == 400).count();
    let limited = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!((wrong, limited), (10, 2), "{answers:#?}");
    for a in answers.iter().filter(|a| a.status == 400) {
        assert_eq!(a.body["errors"][0]["field"], "current_password");
    }
    // The same limiter as sign-in: the right password is refused there too, and here.
    assert_eq!(server.browser().sign_in(&email, OLD).await.status, 429);
    let mut b = browser.clone();
    let right = change(
        &mut b,
        json!({"current_password": OLD, "new_password": NEW}),
    )
    .await;
    assert_eq!(right.status, 429, "{:#}", right.body);
}
both_backends!(wrong_current_passwords_count_toward_the_sign_in_limit);

/// A user without a password (a code sign-up) sets one with a recent verification instead.
async fn without_a_password_a_recent_verification_stands_in(backend: Backend) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let settings = [("REQUIRED_FIELDS", "none"), ("REVERIFY_MINUTES", "1")];
    let Some(server) = Server::start_with_clock(backend, &settings, clock.clone()).await else {
        return;
    };
    let email = unique_email("nopw");
    let mut browser = server.browser();
    let opened = browser
        .post(
            "/auth/signup",
            json!({"email": email, "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);

    clock.advance(Duration::minutes(2));
    let stale = change(&mut browser, json!({"new_password": NEW})).await;
    assert_eq!(stale.status, 403, "{:#}", stale.body);
    assert_eq!(stale.error(), "REVERIFICATION_REQUIRED");

    // A fresh sign-in by code proves a factor now.
    let mut fresh = server.browser();
    let signin = fresh
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "email_otp"}),
        )
        .await;
    let code = server.code_for(&email).await;
    let verified = fresh
        .verify_signin(&signin.signin_attempt_id(), &code)
        .await;
    assert_eq!(verified.status, 200, "{:#}", verified.body);
    let set = change(&mut fresh, json!({"new_password": NEW})).await;
    assert_eq!(set.status, 200, "{:#}", set.body);
    assert_eq!(server.browser().sign_in(&email, NEW).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_password_a_recent_verification_stands_in_embedded() {
    without_a_password_a_recent_verification_stands_in(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_password_a_recent_verification_stands_in_moto() {
    without_a_password_a_recent_verification_stands_in(Backend::Moto).await;
}
