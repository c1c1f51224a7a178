//! DESIGN section 11, password reset: `POST /auth/signin` with a `reset_password_*_code`
//! strategy, the code, then `POST /auth/reset-password`, on both backends.

use serde_json::json;
use sesame_e2e::{Answer, Browser, Server, both_backends, unique_phone};

const NEW_PASSWORD: &str = "a brand new difference engine";

/// Opens a reset for `identifier` in `browser` and passes its code: the attempt waits at
/// `reset_password`. Returns the attempt id.
async fn reset_until_password(
    server: &Server,
    browser: &mut Browser,
    identifier: &str,
    strategy: &str,
) -> String {
    let opened = browser
        .post(
            "/auth/signin",
            json!({"identifier": identifier, "strategy": strategy}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = &opened.body["data"]["signin_attempts"][0];
    assert_eq!(attempt["method"], strategy);
    let code_step = if strategy.contains("email") {
        "verify_email_otp"
    } else {
        "verify_phone_otp"
    };
    assert_eq!(
        attempt["remaining_steps"],
        json!([code_step, "reset_password"])
    );
    let id = opened.signin_attempt_id();
    let code = server.code_for(identifier).await;
    let verified = browser.verify_signin(&id, &code).await;
    assert_eq!(verified.status, 200, "{:#}", verified.body);
    assert_eq!(verified.user_id(), None, "the code alone signs nobody in");
    let waiting = &verified.body["data"]["signin_attempts"][0];
    assert_eq!(waiting["current_step"], "reset_password");
    assert_eq!(waiting["completed"], false);
    id
}

async fn reset(browser: &mut Browser, attempt_id: &str, password: &str) -> Answer {
    browser
        .post(
            "/auth/reset-password",
            json!({"signin_attempt_id": attempt_id, "password": password}),
        )
        .await
}

async fn a_reset_by_email_code_sets_the_password_and_signs_in(server: Server) {
    let (mut first_device, email, user_id) = server.new_user("reset").await;
    let mut second_device = server.browser();
    let signed_in = second_device.sign_in(&email, "analytical engine").await;
    assert_eq!(signed_in.status, 200, "{:#}", signed_in.body);
    let mut browser = server.browser();
    let id = reset_until_password(&server, &mut browser, &email, "reset_password_email_code").await;

    // A weak password is refused and the attempt still waits for one.
    let weak = reset(&mut browser, &id, "password").await;
    assert_eq!(weak.status, 400, "{:#}", weak.body);
    assert_eq!(weak.error(), "WEAK_PASSWORD");

    let done = reset(&mut browser, &id, NEW_PASSWORD).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.user_id(), Some(user_id.as_str()));
    assert_eq!(done.body["data"]["signin_attempts"][0]["completed"], true);
    assert!(done.set_cookie().is_some(), "the session secret rotated");

    // Every other signin of the user ended, on every device; the resetting browser stays in.
    for device in [&mut first_device, &mut second_device] {
        let me = device.get("/me").await;
        assert_eq!(me.status, 401, "{:#}", me.body);
    }
    assert_eq!(browser.get("/me").await.status, 200);

    // Used once: the attempt is done.
    let again = reset(&mut browser, &id, "yet another new password").await;
    assert_eq!(again.status, 409, "{:#}", again.body);
    assert_eq!(again.error(), "ATTEMPT_COMPLETED");

    let old = server.browser().sign_in(&email, "analytical engine").await;
    assert_eq!(old.status, 401, "the old password no longer works");
    let new = server.browser().sign_in(&email, NEW_PASSWORD).await;
    assert_eq!(new.status, 200, "{:#}", new.body);

    let last = server.messages_to(&email).await.pop().expect("a notice");
    assert!(last.contains("was just reset"), "{last}");
}
both_backends!(a_reset_by_email_code_sets_the_password_and_signs_in);

async fn a_reset_by_phone_code_goes_to_the_verified_phone(server: Server) {
    let phone = unique_phone();
    let mut starter = server.browser();
    let opened = starter
        .post(
            "/auth/signup",
            json!({"phone_number": phone, "password": "analytical engine", "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&phone).await;
    let done = starter.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);

    let mut browser = server.browser();
    let id = reset_until_password(&server, &mut browser, &phone, "reset_password_phone_code").await;
    let reset = reset(&mut browser, &id, NEW_PASSWORD).await;
    assert_eq!(reset.status, 200, "{:#}", reset.body);
    let new = server.browser().sign_in(&phone, NEW_PASSWORD).await;
    assert_eq!(new.status, 200, "{:#}", new.body);
}
both_backends!(a_reset_by_phone_code_goes_to_the_verified_phone);

async fn a_reset_needs_its_code_first_and_dies_after_five_wrong_codes(server: Server) {
    let (_, email, _) = server.new_user("early").await;
    let mut browser = server.browser();
    let opened = browser
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "reset_password_email_code"}),
        )
        .await;
    let id = opened.signin_attempt_id();
    let early = reset(&mut browser, &id, NEW_PASSWORD).await;
    assert_eq!(early.status, 400, "{:#}", early.body);
    assert_eq!(early.error(), "INVALID_FIELD");

    let code = server.code_for(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        assert_eq!(browser.verify_signin(&id, wrong).await.status, 400);
    }
    assert_eq!(browser.verify_signin(&id, wrong).await.status, 429);
    let right = browser.verify_signin(&id, &code).await;
    assert_eq!(
        right.status, 429,
        "the right code fails once the attempt is dead"
    );
    let after = reset(&mut browser, &id, NEW_PASSWORD).await;
    assert_eq!(after.status, 400, "{:#}", after.body);
    let old = server.browser().sign_in(&email, "analytical engine").await;
    assert_eq!(old.status, 200, "nothing changed");
}
both_backends!(a_reset_needs_its_code_first_and_dies_after_five_wrong_codes);

async fn parallel_resets_of_one_attempt_succeed_once(server: Server) {
    let (_, email, _) = server.new_user("race").await;
    let mut browser = server.browser();
    let id = reset_until_password(&server, &mut browser, &email, "reset_password_email_code").await;
    let passwords: Vec<String> = (0..8)
        .map(|i| format!("{NEW_PASSWORD} number {i}"))
        .collect();
    let answers = futures_util::future::join_all(passwords.iter().map(|pw| {
        let mut b = browser.clone();
        let id = id.clone();
        async move { reset(&mut b, &id, pw).await }
    }))
    .await;
    let won: Vec<usize> = (0..answers.len())
        .filter(|&i| answers[i].status == 200)
        .collect();
    assert_eq!(won.len(), 1, "{answers:#?}");
    for a in answers.iter().filter(|a| a.status != 200) {
        // The losers found the attempt done, or the secret they proved already rotated.
        assert!(
            ["ATTEMPT_COMPLETED", "UNAUTHENTICATED"].contains(&a.error()),
            "{:#}",
            a.body
        );
    }
    // The winner's password is the one that works.
    let winner = &passwords[won[0]];
    for pw in &passwords {
        let status = server.browser().sign_in(&email, pw).await.status;
        assert_eq!(status == 200, pw == winner, "{pw}");
    }
}
both_backends!(parallel_resets_of_one_attempt_succeed_once);

/// Rounds of each race: enough that the two requests overlap in several of them.
const ROUNDS: usize = 10;

/// A password sign-in that verified the old hash while a reset committed: its grant requires
/// the hash it verified, so it either landed before the reset (which ends it) or is refused
/// like a wrong password. Never a survivor.
async fn a_password_signin_racing_a_reset_never_survives_it(server: Server) {
    for round in 0..ROUNDS {
        let (_, email, _) = server.new_user("race").await;
        let mut resetter = server.browser();
        let id =
            reset_until_password(&server, &mut resetter, &email, "reset_password_email_code").await;
        let mut racer = server.browser();
        let (signed_in, done) = tokio::join!(
            racer.sign_in(&email, "analytical engine"),
            reset(&mut resetter, &id, NEW_PASSWORD)
        );
        assert_eq!(done.status, 200, "round {round}: {:#}", done.body);
        assert!(
            signed_in.status == 200
                || (signed_in.status, signed_in.error()) == (401, "INVALID_CREDENTIALS"),
            "round {round}: {:#}",
            signed_in.body
        );
        let me = racer.get("/me").await;
        assert_eq!(
            me.status, 401,
            "round {round}: the old password's signin (sign-in answered {}) survived the reset",
            signed_in.status
        );
        assert_eq!(resetter.get("/me").await.status, 200);
    }
}
both_backends!(a_password_signin_racing_a_reset_never_survives_it);

/// The reset's write fails (injected into the DynamoDB client): either nothing changed (the old
/// password works, the other device is in) or everything did, never the new password with the
/// other device still in; and the same request again completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_reset_write_leaves_nothing_half_done() {
    let Some(server) = Server::start(sesame_e2e::Backend::Moto, &[]).await else {
        return;
    };
    // Fail the reset's first transaction, then its second (if it has one).
    for skip in [0, 1] {
        let (mut device, email, _) = server.new_user("fault").await;
        let mut browser = server.browser();
        let id =
            reset_until_password(&server, &mut browser, &email, "reset_password_email_code").await;
        server.call_log.fail_after("TransactWriteItems", skip);
        let answer = reset(&mut browser, &id, NEW_PASSWORD).await;
        let unused = server.call_log.disarm();
        if skip == 0 {
            assert_eq!(
                unused, 0,
                "every such request writes: the failure was injected"
            );
        }
        let device_in = device.get("/me").await.status == 200;
        let old_works = server
            .browser()
            .sign_in(&email, "analytical engine")
            .await
            .status
            == 200;
        assert_eq!(
            device_in, old_works,
            "skip {skip}: answered {}, the other device in: {device_in}, the old password works: \
             {old_works}",
            answer.status
        );
        if answer.status == 200 {
            assert_eq!(
                unused, 1,
                "skip {skip}: only a request that wrote nothing failed"
            );
            assert!(!device_in);
            continue;
        }
        assert_eq!(answer.status, 500, "skip {skip}: {:#}", answer.body);
        assert!(device_in, "skip {skip}: nothing changed");
        let again = reset(&mut browser, &id, NEW_PASSWORD).await;
        assert_eq!(again.status, 200, "skip {skip}: {:#}", again.body);
        assert_eq!(device.get("/me").await.status, 401);
        let old = server.browser().sign_in(&email, "analytical engine").await;
        assert_eq!(old.status, 401);
    }
}
