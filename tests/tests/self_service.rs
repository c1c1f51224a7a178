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

/// Rounds of each race: enough that the two requests overlap in several of them.
const ROUNDS: usize = 20;

/// A password sign-in that verified the old hash while a change with `sign_out_others`
/// committed: either it landed first (and the change ends it) or it is refused like a wrong
/// password. Never a survivor.
async fn a_password_signin_racing_a_password_change_never_survives_it(server: Server) {
    for round in 0..ROUNDS {
        let (mut browser, email, _) = server.new_user("race").await;
        let mut racer = server.browser();
        let (signed_in, changed) = tokio::join!(
            racer.sign_in(&email, OLD),
            change(
                &mut browser,
                json!({"current_password": OLD, "new_password": NEW, "sign_out_others": true}),
            )
        );
        assert_eq!(changed.status, 200, "round {round}: {:#}", changed.body);
        assert!(
            signed_in.status == 200
                || (signed_in.status, signed_in.error()) == (401, "INVALID_CREDENTIALS"),
            "round {round}: {:#}",
            signed_in.body
        );
        assert_eq!(
            racer.get("/me").await.status,
            401,
            "round {round}: the old password's signin (sign-in answered {}) survived the change",
            signed_in.status
        );
        assert_eq!(browser.get("/me").await.status, 200);
    }
}
both_backends!(a_password_signin_racing_a_password_change_never_survives_it);

/// The change's write fails (injected into the DynamoDB client): either nothing changed or
/// everything did, never the new password with the other device still in; the same request
/// again completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_password_change_leaves_nothing_half_done() {
    let Some(server) = Server::start(Backend::Moto, &[]).await else {
        return;
    };
    // Fail the change's first transaction, then its second (if it has one).
    for skip in [0, 1] {
        let (mut browser, email, _) = server.new_user("fault").await;
        let mut device = server.browser();
        assert_eq!(device.sign_in(&email, OLD).await.status, 200);
        let body = json!({"current_password": OLD, "new_password": NEW, "sign_out_others": true});
        server.call_log.fail_after("TransactWriteItems", skip);
        let answer = change(&mut browser, body.clone()).await;
        let unused = server.call_log.disarm();
        if skip == 0 {
            assert_eq!(
                unused, 0,
                "every such request writes: the failure was injected"
            );
        }
        let device_in = device.get("/me").await.status == 200;
        let old_works = server.browser().sign_in(&email, OLD).await.status == 200;
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
        let again = change(&mut browser, body).await;
        assert_eq!(again.status, 200, "skip {skip}: {:#}", again.body);
        assert_eq!(device.get("/me").await.status, 401);
        assert_eq!(server.browser().sign_in(&email, OLD).await.status, 401);
    }
}

/// Parallel first sign-ins of an imported user: each rewrites the imported hash to argon2id in
/// its grant, conditioned on the hash it verified, so all but one find it changed. The password
/// is still right under the rewritten hash, so they are signed in all the same.
async fn parallel_first_signins_of_an_imported_user_all_succeed(backend: Backend) {
    const KEY: &str = "test-admin-key-0123456789";
    let python = match std::env::var("TEST_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("TEST_PYTHON is not set"),
        _ => return eprintln!("TEST_PYTHON is not set: skipping (run ./scripts/test)"),
    };
    let Some(server) = Server::start(backend, &[("ADMIN_KEY", KEY)]).await else {
        return;
    };
    let script = "import bcrypt; print(bcrypt.hashpw(b'Analytical Engine 1843', bcrypt.gensalt(6)).decode())";
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .output()
        .expect("python runs");
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$2b$"), "{hash}");
    let email = unique_email("imported");
    let record =
        json!({"email": email, "email_verified": true, "hash_fn": "bcrypt", "password": hash});
    let mut admin = server.browser();
    let req = admin
        .client
        .post(format!("{}/admin/users", server.base))
        .header("x-admin-key", KEY)
        .json(&record);
    let created = admin.send(req).await;
    assert_eq!(created.status, 201, "{:#}", created.body);

    let mut browsers: Vec<Browser> = (0..4).map(|_| server.browser()).collect();
    let answers = join_all(
        browsers
            .iter_mut()
            .map(|b| b.sign_in(&email, "Analytical Engine 1843")),
    )
    .await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{:#}", answer.body);
    }
    let id = created.body["data"]["id"].as_str().unwrap();
    let stored = server.app.store.get_user(id).await.unwrap().unwrap();
    assert!(stored.password_hash.unwrap().starts_with("$argon2id$"));
}

mod parallel_first_signins_of_an_imported_user_all_succeed {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        super::parallel_first_signins_of_an_imported_user_all_succeed(super::Backend::Embedded)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn moto() {
        super::parallel_first_signins_of_an_imported_user_all_succeed(super::Backend::Moto).await;
    }
}
