//! `GET /me` and `PATCH /me` (seed 001) over HTTP on both backends.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame_e2e::{Backend, Server, both_backends};
use time::{Duration, OffsetDateTime};

async fn me_without_a_signin_is_unauthenticated(server: Server) {
    let mut browser = server.browser();
    for answer in [
        browser.get("/me").await,
        browser
            .send(
                browser
                    .client
                    .patch(format!("{}/me", server.base))
                    .json(&json!({"first_name": "X"})),
            )
            .await,
    ] {
        assert_eq!((answer.status, answer.error()), (401, "UNAUTHENTICATED"));
    }
}
both_backends!(me_without_a_signin_is_unauthenticated);

async fn patching_names_answers_the_user_and_moves_updated_at(backend: Backend) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let Some(server) = Server::start_with_clock(backend, &[], clock.clone()).await else {
        return;
    };
    let (mut browser, _, user_id) = server.new_user("patch").await;
    let before = browser.get("/me").await.body["data"].clone();
    clock.advance(Duration::minutes(5));
    let patch = |b: &mut sesame_e2e::Browser, body: serde_json::Value| {
        let req = b.client.patch(format!("{}/me", b.base)).json(&body);
        (b.clone(), req)
    };
    let (mut b, req) = patch(
        &mut browser,
        json!({"first_name": "Jane", "last_name": "Smith",
        "image_url": "https://cdn.example.com/avatars/jane.jpg", "metadata": {"plan": "pro"},
        "profile": {"gender": "3", "birthdate": "1990"}}),
    );
    let updated = b.send(req).await;
    assert_eq!(updated.status, 200, "{:#}", updated.body);
    let user = &updated.body["data"];
    assert_eq!(
        (user["first_name"].as_str(), user["last_name"].as_str()),
        (Some("Jane"), Some("Smith"))
    );
    assert_eq!(user["metadata"], json!({"plan": "pro"}));
    assert_eq!(user["profile"]["gender"], 3);
    assert_eq!(user["id"], user_id.as_str());
    assert_eq!(user["created_at"], before["created_at"]);
    assert_ne!(user["updated_at"], before["updated_at"], "updated_at moves");
    assert_eq!(
        updated.body["session"]["active_signin"]["user_id"],
        user_id.as_str()
    );
    assert_eq!(
        browser.get("/me").await.body["data"],
        *user,
        "stored as answered"
    );

    // null clears a field.
    let (mut b, req) = patch(&mut browser, json!({"last_name": null}));
    assert_eq!(b.send(req).await.body["data"]["last_name"], json!(null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn patching_names_answers_the_user_and_moves_updated_at_embedded() {
    patching_names_answers_the_user_and_moves_updated_at(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn patching_names_answers_the_user_and_moves_updated_at_moto() {
    patching_names_answers_the_user_and_moves_updated_at(Backend::Moto).await;
}

async fn privileged_or_unknown_fields_are_refused_and_change_nothing(server: Server) {
    let (mut browser, _, _) = server.new_user("sneaky").await;
    let before = browser.get("/me").await.body["data"].clone();
    for (field, value) in [
        ("email_verified", json!(false)),
        ("id", json!("usr_other")),
        ("phone_verified", json!(true)),
        ("two_factor_enabled", json!(true)),
        ("email", json!("other@example.com")),
        ("blocked", json!(true)),
    ] {
        let req = browser
            .client
            .patch(format!("{}/me", server.base))
            .json(&json!({"first_name": "Eve", field: value}));
        let answer = browser.send(req).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "BAD_REQUEST_BODY"),
            "{field}"
        );
        assert_eq!(answer.body["errors"][0]["field"], field);
    }
    let bad = browser
        .send(
            browser
                .client
                .patch(format!("{}/me", server.base))
                .json(&json!({"image_url": "javascript:alert(1)"})),
        )
        .await;
    assert_eq!((bad.status, bad.error()), (400, "INVALID_FIELD"));
    assert_eq!(
        browser.get("/me").await.body["data"],
        before,
        "nothing changed"
    );
}
both_backends!(privileged_or_unknown_fields_are_refused_and_change_nothing);

/// Metadata integers are kept exactly (through DynamoDB too) or refused: one beyond 64 bits
/// would silently become a float. NUL is refused in keys and values. Sign-up reads metadata the
/// same way.
async fn metadata_integers_stay_exact_and_nul_is_refused(server: Server) {
    let (mut browser, _, _) = server.new_user("numbers").await;
    let patch = |b: &mut sesame_e2e::Browser, body: String| {
        let req = b
            .client
            .patch(format!("{}/me", b.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        (b.clone(), req)
    };
    let (mut b, req) = patch(
        &mut browser,
        r#"{"metadata": {"exact": 9007199254740993, "low": -9223372036854775808, "high": 18446744073709551615}}"#.into(),
    );
    let kept = b.send(req).await;
    assert_eq!(kept.status, 200, "{:#}", kept.body);
    let read = browser.get("/me").await.body["data"]["metadata"].clone();
    for metadata in [&kept.body["data"]["metadata"], &read] {
        assert_eq!(metadata["exact"].as_u64(), Some(9_007_199_254_740_993));
        assert_eq!(metadata["low"].as_i64(), Some(i64::MIN));
        assert_eq!(metadata["high"].as_u64(), Some(u64::MAX));
    }

    let huge = format!("1{}", "0".repeat(400));
    for big in [
        "18446744073709551616",
        "-9223372036854775809",
        huge.as_str(),
    ] {
        let (mut b, req) = patch(&mut browser, format!(r#"{{"metadata": {{"big": {big}}}}}"#));
        let refused = b.send(req).await;
        assert_eq!(
            (
                refused.status,
                refused.error(),
                &refused.body["errors"][0]["field"]
            ),
            (400, "BAD_REQUEST_BODY", &json!("metadata.big")),
            "{big}: {:#}",
            refused.body
        );
    }
    for (body, field) in [
        (json!({"metadata": {"a\u{0}b": 1}}), "metadata.a\u{0}b"),
        (json!({"metadata": {"note": "x\u{0}"}}), "metadata.note"),
    ] {
        let (mut b, req) = patch(&mut browser, body.to_string());
        let refused = b.send(req).await;
        assert_eq!(
            (
                refused.status,
                refused.error(),
                &refused.body["errors"][0]["field"]
            ),
            (400, "INVALID_FIELD", &json!(field)),
            "{body}"
        );
    }
    assert_eq!(
        browser.get("/me").await.body["data"]["metadata"],
        read,
        "nothing refused was stored"
    );

    let sign_up = server
        .browser()
        .send(
            browser
                .client
                .post(format!("{}/auth/signup", server.base))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(r#"{"email": "big@example.com", "password": "analytical engine", "metadata": {"n": 18446744073709551616}}"#),
        )
        .await;
    assert_eq!((sign_up.status, sign_up.error()), (400, "BAD_REQUEST_BODY"));
}
both_backends!(metadata_integers_stay_exact_and_nul_is_refused);

async fn a_username_change_moves_the_sign_in_name(server: Server) {
    let (mut ada, _, _) = server.new_user("ada").await;
    let (mut bob, _, _) = server.new_user("bob").await;
    let name = |tag: &str| format!("{tag}{}", &sesame::ids::new_id("x")[2..10]);
    let bobs = name("bob");
    let set = bob
        .send(
            bob.client
                .patch(format!("{}/me", server.base))
                .json(&json!({"username": bobs})),
        )
        .await;
    assert_eq!(set.status, 200, "{:#}", set.body);

    let taken = ada
        .send(
            ada.client
                .patch(format!("{}/me", server.base))
                .json(&json!({"username": bobs.to_uppercase()})),
        )
        .await;
    assert_eq!((taken.status, taken.error()), (409, "USERNAME_EXISTS"));

    let first = name("ada");
    let second = name("countess");
    for username in [&first, &second] {
        let req = ada
            .client
            .patch(format!("{}/me", server.base))
            .json(&json!({"username": username}));
        let answer = ada.send(req).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        assert_eq!(answer.body["data"]["username"], username.as_str());
    }
    let mut fresh = server.browser();
    assert_eq!(
        fresh.sign_in(&second, "analytical engine").await.status,
        200,
        "the new name signs in"
    );
    assert_eq!(
        fresh.sign_in(&first, "analytical engine").await.status,
        401,
        "the old name is released"
    );
}
both_backends!(a_username_change_moves_the_sign_in_name);

async fn parallel_username_changes_to_one_free_name_give_it_once(server: Server) {
    let mut browsers = Vec::new();
    for i in 0..5 {
        browsers.push(server.new_user(&format!("race{i}")).await.0);
    }
    let wanted = format!("wanted{}", &sesame::ids::new_id("x")[2..10]);
    let answers = join_all(browsers.into_iter().map(|mut b| {
        let wanted = wanted.clone();
        async move {
            let req = b
                .client
                .patch(format!("{}/me", b.base))
                .json(&json!({"username": wanted}));
            b.send(req).await
        }
    }))
    .await;
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    assert!(
        answers
            .iter()
            .filter(|a| a.status != 200)
            .all(|a| a.error() == "USERNAME_EXISTS")
    );
}
both_backends!(parallel_username_changes_to_one_free_name_give_it_once);
