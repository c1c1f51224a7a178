//! Sign-in by password and by code, several accounts in one session, switching, signing out,
//! fixation and replay, over HTTP on both backends.

use std::sync::Arc;

use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame_e2e::{Backend, Server, both_backends, unique_email, unique_phone};
use time::{Duration, OffsetDateTime};

async fn password_sign_in_signs_in_and_me_answers(server: Server) {
    let (_, email, user_id) = server.new_user("pw").await;
    let mut browser = server.browser();
    let wrong = browser.sign_in(&email, "analytical engines").await;
    assert_eq!((wrong.status, wrong.error()), (401, "INVALID_CREDENTIALS"));
    assert!(
        wrong.set_cookie().is_none(),
        "a failed password opens nothing"
    );

    let ok = browser
        .sign_in(&email.to_uppercase(), "analytical engine")
        .await;
    assert_eq!(ok.status, 200, "{:#}", ok.body);
    assert_eq!(ok.user_id(), Some(user_id.as_str()));
    assert!(ok.set_cookie().is_some());

    let me = browser.get("/me").await;
    assert_eq!(me.status, 200, "{:#}", me.body);
    let keys: Vec<&String> = me.body["data"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "first_name",
            "last_name",
            "username",
            "email",
            "phone_number",
            "image_url",
            "two_factor_enabled",
            "email_verified",
            "phone_verified",
            "metadata",
            "profile",
            "created_at",
            "updated_at"
        ]
    );
    assert_eq!(me.body["data"]["id"], user_id.as_str());
    assert_eq!(me.body["data"]["email"], email.as_str());
    assert!(me.body["data"].get("password_hash").is_none());
}
both_backends!(password_sign_in_signs_in_and_me_answers);

/// An account whose address was given as an A-label is found by its U-label and by a fullwidth
/// spelling: the identifier is normalized exactly as sign-up stored it.
async fn the_u_label_or_fullwidth_spelling_finds_the_a_label_account(server: Server) {
    let local = unique_email("idn").split('@').next().unwrap().to_string();
    let a_label = format!("{local}@xn--bcher-kva.example");
    let mut owner = server.browser();
    let opened = owner.sign_up(&a_label).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&a_label).await;
    let done = owner.verify(&opened.signup_attempt_id(), &code).await;
    let user_id = done.user_id().expect("signed up").to_string();

    let wide: String = format!("{local}@bücher.example")
        .chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap(),
            other => other,
        })
        .collect();
    for identifier in [format!("{local}@Bücher.Example"), wide] {
        let signed_in = server
            .browser()
            .sign_in(&identifier, "analytical engine")
            .await;
        assert_eq!(signed_in.status, 200, "{identifier}: {:#}", signed_in.body);
        assert_eq!(signed_in.user_id(), Some(user_id.as_str()), "{identifier}");
    }
}
both_backends!(the_u_label_or_fullwidth_spelling_finds_the_a_label_account);

async fn email_code_sign_in_completes_through_attempt_verification(server: Server) {
    let (_, email, user_id) = server.new_user("otp").await;
    let mut browser = server.browser();
    let opened = browser
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = &opened.body["data"]["signin_attempts"][0];
    assert_eq!(attempt["method"], "email_otp");
    assert_eq!(attempt["current_step"], "verify_email_otp");
    assert!(
        attempt["identifier"]
            .as_str()
            .unwrap()
            .contains("***@example.com"),
        "masked: {attempt}"
    );
    let code = server.code_for(&email).await;
    let done = browser
        .verify_signin(&opened.signin_attempt_id(), &code)
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.user_id(), Some(user_id.as_str()));
    assert_eq!(done.body["data"]["signin_attempts"][0]["completed"], true);
}
both_backends!(email_code_sign_in_completes_through_attempt_verification);

async fn phone_code_sign_in_goes_to_a_verified_phone(server: Server) {
    let phone = unique_phone();
    let mut owner = server.browser();
    let opened = owner
        .post("/auth/signup", json!({"phone_number": phone, "password": "analytical engine", "strategy": "phone_otp"}))
        .await;
    let code = server.code_for(&phone).await;
    assert_eq!(
        owner
            .verify(&opened.signup_attempt_id(), &code)
            .await
            .status,
        200
    );

    let mut browser = server.browser();
    let signin = browser
        .post(
            "/auth/signin",
            json!({"identifier": phone, "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(signin.status, 200, "{:#}", signin.body);
    assert_eq!(
        server.messages_to(&phone).await.len(),
        2,
        "the sign-in code went by SMS"
    );
    let code = server.code_for(&phone).await;
    let done = browser
        .verify_signin(&signin.signin_attempt_id(), &code)
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
}
both_backends!(phone_code_sign_in_goes_to_a_verified_phone);

async fn an_unverified_email_continues_at_its_code(server: Server) {
    // Signed up by phone, with an email that was never proven.
    let phone = unique_phone();
    let email = unique_email("unproven");
    let mut owner = server.browser();
    let opened = owner
        .post(
            "/auth/signup",
            json!({"phone_number": phone, "email": email, "password": "analytical engine", "strategy": "phone_otp"}),
        )
        .await;
    let code = server.code_for(&phone).await;
    assert_eq!(
        owner
            .verify(&opened.signup_attempt_id(), &code)
            .await
            .status,
        200
    );

    // Unproven, the email claims nothing: it is no sign-in identifier yet.
    let mut browser = server.browser();
    let refused = browser.sign_in(&email, "analytical engine").await;
    assert_eq!(
        (refused.status, refused.error()),
        (401, "INVALID_CREDENTIALS")
    );

    let signin = browser.sign_in(&phone, "analytical engine").await;
    assert_eq!(signin.status, 200, "{:#}", signin.body);
    assert!(signin.user_id().is_none(), "not signed in yet");
    let attempt = &signin.body["data"]["signin_attempts"][0];
    assert_eq!(
        (attempt["method"].as_str(), attempt["current_step"].as_str()),
        (Some("password"), Some("verify_email_otp"))
    );
    let code = server.code_for(&email).await;
    let done = browser
        .verify_signin(&signin.signin_attempt_id(), &code)
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let me = browser.get("/me").await;
    assert_eq!(
        me.body["data"]["email_verified"], true,
        "the code proved the email"
    );
}
both_backends!(an_unverified_email_continues_at_its_code);

async fn two_accounts_share_a_session_switch_and_sign_out(server: Server) {
    let (_, ada, ada_id) = server.new_user("ada").await;
    let (_, bob, bob_id) = server.new_user("bob").await;
    let mut browser = server.browser();
    assert_eq!(browser.sign_in(&ada, "analytical engine").await.status, 200);
    let both = browser.sign_in(&bob, "analytical engine").await;
    assert_eq!(both.status, 200);
    let signins = both.body["data"]["signins"].as_array().unwrap().clone();
    assert_eq!(
        signins.len(),
        2,
        "signing in a second account keeps the first"
    );
    assert_eq!(both.user_id(), Some(bob_id.as_str()));
    let ada_signin = signins
        .iter()
        .find(|s| s["user_id"] == ada_id.as_str())
        .unwrap()["id"]
        .clone();
    let bob_signin = signins
        .iter()
        .find(|s| s["user_id"] == bob_id.as_str())
        .unwrap()["id"]
        .clone();

    // Signing in the same account again replaces its signin rather than adding one.
    let again = browser.sign_in(&bob, "analytical engine").await;
    assert_eq!(again.body["data"]["signins"].as_array().unwrap().len(), 2);
    let bob_signin_now = again.body["data"]["active_signin"]["id"].clone();
    assert_ne!(bob_signin_now, bob_signin);

    let switched = browser
        .post("/session/switch-sign-in", json!({"signin_id": ada_signin}))
        .await;
    assert_eq!(switched.status, 200, "{:#}", switched.body);
    assert_eq!(switched.user_id(), Some(ada_id.as_str()));
    assert_eq!(browser.get("/me").await.body["data"]["id"], ada_id.as_str());

    let unknown = browser
        .post("/session/switch-sign-in", json!({"signin_id": "sin_nope"}))
        .await;
    assert_eq!((unknown.status, unknown.error()), (400, "INVALID_FIELD"));

    // Signing out the active one makes the most recently active one left active.
    let one = browser
        .post("/session/sign-out", json!({"signin_id": ada_signin}))
        .await;
    assert_eq!(one.status, 200, "{:#}", one.body);
    assert_eq!(one.body["data"]["signins"].as_array().unwrap().len(), 1);
    assert_eq!(one.user_id(), Some(bob_id.as_str()));
    let kept_cookie = browser.cookie.clone().unwrap();

    let all = browser
        .send(
            browser
                .client
                .post(format!("{}/session/sign-out", server.base)),
        )
        .await;
    assert_eq!(
        all.status, 200,
        "an empty body signs out of everything: {:#}",
        all.body
    );
    assert_eq!(all.body["data"], json!(null));
    assert!(
        all.set_cookie().unwrap().contains("Max-Age=0"),
        "the cookie is cleared"
    );
    assert!(browser.cookie.is_none());

    // Replaying the signed-out cookie proves nothing.
    let mut replay = server.browser();
    replay.cookie = Some(kept_cookie);
    let me = replay.get("/me").await;
    assert_eq!((me.status, me.error()), (401, "UNAUTHENTICATED"));
    assert_eq!(replay.get("/session").await.body["data"], json!(null));
}
both_backends!(two_accounts_share_a_session_switch_and_sign_out);

async fn a_planted_cookie_stops_working_at_sign_in(server: Server) {
    let (_, email, _) = server.new_user("fixated").await;
    // The attacker gets a session cookie of their own and plants it in the victim's browser.
    let mut attacker = server.browser();
    attacker.sign_up(&unique_email("attacker")).await;
    let planted = attacker.cookie.clone().unwrap();
    let mut victim = server.browser();
    victim.cookie = Some(planted.clone());

    let signed_in = victim.sign_in(&email, "analytical engine").await;
    assert_eq!(signed_in.status, 200);
    assert_ne!(
        victim.cookie.as_deref(),
        Some(planted.as_str()),
        "a new secret was issued"
    );
    assert_eq!(victim.get("/me").await.status, 200);

    let stolen = attacker.get("/me").await;
    assert_eq!((stolen.status, stolen.error()), (401, "UNAUTHENTICATED"));
    assert_eq!(attacker.get("/session").await.body["data"], json!(null));
}
both_backends!(a_planted_cookie_stops_working_at_sign_in);

async fn ten_failed_passwords_lock_every_answer(server: Server) {
    let (_, email, user_id) = server.new_user("locked").await;
    let mut browser = server.browser();
    for _ in 0..10 {
        assert_eq!(
            browser.sign_in(&email, "wrong password here").await.status,
            401
        );
    }
    let right = browser.sign_in(&email, "analytical engine").await;
    assert_eq!(
        (right.status, right.error()),
        (429, "RATE_LIMITED"),
        "even the right password"
    );
    let wait: u64 = right.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    let user = server.app.store.get_user(&user_id).await.unwrap().unwrap();
    assert_eq!(user.login_attempts, 10);
}
both_backends!(ten_failed_passwords_lock_every_answer);

async fn thirty_parallel_wrong_passwords_evaluate_ten(server: Server) {
    let (_, email, user_id) = server.new_user("swarm").await;
    let browser = server.browser();
    let answers = futures_util::future::join_all((0..30).map(|_| {
        let mut b = browser.clone();
        let email = email.clone();
        async move { b.sign_in(&email, "wrong password here").await }
    }))
    .await;
    let evaluated = answers
        .iter()
        .filter(|a| a.error() == "INVALID_CREDENTIALS")
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.error() == "RATE_LIMITED")
        .count();
    println!("30 parallel wrong passwords: {evaluated} evaluated, {refused} refused");
    assert_eq!((evaluated, refused), (10, 20));
    let user = server.app.store.get_user(&user_id).await.unwrap().unwrap();
    assert_eq!(user.login_attempts, 10);
}
both_backends!(thirty_parallel_wrong_passwords_evaluate_ten);

async fn a_successful_sign_in_resets_the_failed_login_count(server: Server) {
    let (_, email, user_id) = server.new_user("reset").await;
    let mut browser = server.browser();
    for _ in 0..3 {
        browser.sign_in(&email, "wrong password here").await;
    }
    assert_eq!(
        server
            .app
            .store
            .get_user(&user_id)
            .await
            .unwrap()
            .unwrap()
            .login_attempts,
        3
    );
    assert_eq!(
        browser.sign_in(&email, "analytical engine").await.status,
        200
    );
    assert_eq!(
        server
            .app
            .store
            .get_user(&user_id)
            .await
            .unwrap()
            .unwrap()
            .login_attempts,
        0
    );
}
both_backends!(a_successful_sign_in_resets_the_failed_login_count);

async fn idle_and_absolute_lifetimes_end_signins(backend: Backend) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some(server) = Server::start_with_clock(backend, &[], clock.clone()).await else {
        return;
    };
    let (mut browser, _, _) = server.new_user("idle").await;
    clock.advance(Duration::days(6));
    assert_eq!(browser.get("/me").await.status, 200, "used within 7 days");
    clock.advance(Duration::days(6));
    assert_eq!(
        browser.get("/me").await.status,
        200,
        "the last use moved the idle deadline"
    );
    clock.advance(Duration::days(8));
    assert_eq!(
        browser.get("/me").await.status,
        401,
        "idle for more than 7 days"
    );

    let (mut busy, _, _) = server.new_user("busy").await;
    for _ in 0..14 {
        clock.advance(Duration::days(2));
        assert_eq!(busy.get("/me").await.status, 200);
    }
    clock.advance(Duration::days(3));
    assert_eq!(
        busy.get("/me").await.status,
        401,
        "30 days after sign-in, however active"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_absolute_lifetimes_end_signins_embedded() {
    idle_and_absolute_lifetimes_end_signins(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_absolute_lifetimes_end_signins_moto() {
    idle_and_absolute_lifetimes_end_signins(Backend::Moto).await;
}
