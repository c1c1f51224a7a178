//! Changing the email or phone number (`POST /me/email` + `/verify`, `POST /me/phone_number` +
//! `/verify`, DESIGN section 11) on both backends: the code goes to the new contact, the right
//! one moves the claim in one transaction, the old email address is told and is free for
//! anyone; a taken contact is refused; parallel moves to one address: exactly one wins.

use std::sync::Arc;

use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame_e2e::{Backend, Server, both_backends, unique_email, unique_phone};
use time::{Duration, OffsetDateTime};

fn other_than(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

async fn an_email_change_moves_the_claim_and_tells_the_old_address(server: Server) {
    let (mut browser, old, user_id) = server.new_user("change").await;
    let new = unique_email("changed");
    let opened = browser.post("/me/email", json!({"email": new})).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&new).await;
    assert_eq!(
        server.messages_to(&old).await.len(),
        1,
        "the code goes to the new address only (the old one got its sign-up code alone)"
    );

    let wrong = browser
        .post("/me/email/verify", json!({"code": other_than(&code)}))
        .await;
    assert_eq!((wrong.status, wrong.error()), (400, "INVALID_CODE"));
    assert_eq!(browser.get("/me").await.body["data"]["email"], old.as_str());

    let done = browser
        .post("/me/email/verify", json!({"code": code}))
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.body["data"]["email"], new.as_str());
    assert_eq!(done.body["data"]["email_verified"], true);
    let me = browser.get("/me").await;
    assert_eq!(me.body["data"]["email"], new.as_str());
    assert_eq!(me.body["data"]["id"], user_id.as_str());

    let again = browser
        .post("/me/email/verify", json!({"code": code}))
        .await;
    assert_eq!(again.status, 404, "single use: {:#}", again.body);

    let notices = server.messages_to(&old).await;
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices[1].contains("email address of your account was just changed"),
        "{}",
        notices[1]
    );
    assert!(!notices[1].contains(&code), "the notice carries no code");

    // The new address signs in; the old one is free for someone else's sign-up.
    let mut again = server.browser();
    assert_eq!(again.sign_in(&new, "analytical engine").await.status, 200);
    let mut someone = server.browser();
    let signup = someone.sign_up(&old).await;
    assert_eq!(signup.status, 200, "{:#}", signup.body);
    let code = server.code_for(&old).await;
    let created = someone.verify(&signup.signup_attempt_id(), &code).await;
    assert_eq!(created.status, 200, "{:#}", created.body);
    assert_ne!(created.user_id(), Some(user_id.as_str()));
}
both_backends!(an_email_change_moves_the_claim_and_tells_the_old_address);

async fn a_taken_address_is_refused_up_front(server: Server) {
    let (mut browser, mine, _) = server.new_user("taken1").await;
    let (_, theirs, _) = server.new_user("taken2").await;
    let refused = browser.post("/me/email", json!({"email": theirs})).await;
    assert_eq!((refused.status, refused.error()), (409, "EMAIL_EXISTS"));
    assert_eq!(
        server.messages_to(&theirs).await.len(),
        1,
        "no code was sent"
    );
    assert_eq!(
        browser.get("/me").await.body["data"]["email"],
        mine.as_str()
    );
}
both_backends!(a_taken_address_is_refused_up_front);

async fn five_wrong_codes_kill_the_change(server: Server) {
    let (mut browser, old, _) = server.new_user("wrong").await;
    let new = unique_email("wrong-new");
    assert_eq!(
        browser
            .post("/me/email", json!({"email": new}))
            .await
            .status,
        200
    );
    let code = server.code_for(&new).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let a = browser
            .post("/me/email/verify", json!({"code": other_than(&code)}))
            .await;
        statuses.push(a.status);
    }
    assert_eq!(statuses, [400, 400, 400, 400, 429]);
    let late = browser
        .post("/me/email/verify", json!({"code": code}))
        .await;
    assert_eq!((late.status, late.error()), (429, "TOO_MANY_ATTEMPTS"));
    assert_eq!(browser.get("/me").await.body["data"]["email"], old.as_str());
}
both_backends!(five_wrong_codes_kill_the_change);

async fn parallel_changes_to_one_address_one_wins(server: Server) {
    let (mut a, a_old, _) = server.new_user("race-a").await;
    let (mut b, b_old, _) = server.new_user("race-b").await;
    let target = unique_email("race-target");
    assert_eq!(
        a.post("/me/email", json!({"email": target})).await.status,
        200
    );
    let a_code = server.code_for(&target).await;
    assert_eq!(
        b.post("/me/email", json!({"email": target})).await.status,
        200
    );
    let b_code = server.code_for(&target).await;

    let (ra, rb) = tokio::join!(
        a.post("/me/email/verify", json!({"code": a_code})),
        b.post("/me/email/verify", json!({"code": b_code}))
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{:#} {:#}", ra.body, rb.body);
    let (loser, loser_old) = if ra.status == 409 {
        (&ra, &a_old)
    } else {
        (&rb, &b_old)
    };
    assert_eq!(loser.error(), "EMAIL_EXISTS");
    let (me_a, me_b) = (a.get("/me").await, b.get("/me").await);
    let emails = [
        me_a.body["data"]["email"].as_str().unwrap().to_string(),
        me_b.body["data"]["email"].as_str().unwrap().to_string(),
    ];
    assert_eq!(
        emails.iter().filter(|e| **e == target).count(),
        1,
        "{emails:?}"
    );
    assert!(
        emails.contains(loser_old),
        "the loser keeps {loser_old}: {emails:?}"
    );
    // The loser's old address still signs in to it.
    let mut c = server.browser();
    assert_eq!(c.sign_in(loser_old, "analytical engine").await.status, 200);
}
both_backends!(parallel_changes_to_one_address_one_wins);

async fn a_phone_number_change_verifies_the_new_number(server: Server) {
    let (mut browser, _, _) = server.new_user("phone").await;
    let phone = unique_phone();
    let typed = format!("+1 ({}) {}-{}", &phone[2..5], &phone[5..8], &phone[8..]);
    let opened = browser
        .post("/me/phone_number", json!({"phone_number": typed}))
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&phone).await;
    let wrong = browser
        .post(
            "/me/phone_number/verify",
            json!({"code": other_than(&code)}),
        )
        .await;
    assert_eq!(wrong.error(), "INVALID_CODE");
    let done = browser
        .post("/me/phone_number/verify", json!({"code": code}))
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.body["data"]["phone_number"], phone.as_str());
    assert_eq!(done.body["data"]["phone_verified"], true);
    // The number is now the user's: another account cannot take it.
    let (mut other, _, _) = server.new_user("phone2").await;
    let refused = other
        .post("/me/phone_number", json!({"phone_number": phone}))
        .await;
    assert_eq!(
        (refused.status, refused.error()),
        (409, "PHONE_NUMBER_EXISTS")
    );
}
both_backends!(a_phone_number_change_verifies_the_new_number);

async fn a_stale_signin_must_reverify_first(backend: Backend) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some(server) = Server::start_with_clock(backend, &[], clock.clone()).await else {
        return;
    };
    let (mut browser, _, _) = server.new_user("stale").await;
    clock.advance(Duration::minutes(10));
    let new = unique_email("stale-new");
    let refused = browser.post("/me/email", json!({"email": new})).await;
    assert_eq!(
        (refused.status, refused.error()),
        (403, "REVERIFICATION_REQUIRED")
    );
    let refused = browser
        .post("/me/phone_number", json!({"phone_number": unique_phone()}))
        .await;
    assert_eq!(refused.status, 403);
    assert!(server.messages_to(&new).await.is_empty());
}

mod a_stale_signin_must_reverify_first {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        super::a_stale_signin_must_reverify_first(Backend::Embedded).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn moto() {
        super::a_stale_signin_must_reverify_first(Backend::Moto).await;
    }
}
