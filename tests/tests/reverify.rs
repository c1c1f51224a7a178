//! Reverification over HTTP on both backends: after `REVERIFY_MINUTES` a sensitive call
//! (`DELETE /me`) is `403 REVERIFICATION_REQUIRED`; `POST /auth/reverify` and its code (or the
//! password) refresh the active signin's `verified_at` without a new signin.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame_e2e::{Backend, Browser, Server};
use time::{Duration, OffsetDateTime};

macro_rules! with_clock {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$name(Backend::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                super::$name(Backend::Moto).await;
            }
        }
    };
}

async fn server(backend: Backend) -> Option<(Server, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let server = Server::start_with_clock(backend, &[], clock.clone()).await?;
    Some((server, clock))
}

async fn delete_me(b: &mut Browser) -> sesame_e2e::Answer {
    let req = b.client.delete(format!("{}/me", b.base));
    b.send(req).await
}

fn signins(answer: &sesame_e2e::Answer) -> (usize, String) {
    let session = &answer.body["session"];
    (
        session["signins"].as_array().map_or(0, Vec::len),
        session["active_signin"]["id"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

async fn a_stale_signin_must_reverify_by_email_code(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("reverify").await;
    let before = signins(&browser.get("/session").await);
    clock.advance(Duration::minutes(10));
    let refused = delete_me(&mut browser).await;
    assert_eq!(
        (refused.status, refused.error()),
        (403, "REVERIFICATION_REQUIRED")
    );

    let opened = browser
        .post("/auth/reverify", json!({"strategy": "email_otp"}))
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = opened.signin_attempt_id();
    let code = server.code_for(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let bad = browser.verify_signin(&attempt, wrong).await;
    assert_eq!((bad.status, bad.error()), (400, "INVALID_CODE"));
    assert_eq!(
        delete_me(&mut browser).await.status,
        403,
        "a wrong code proves nothing"
    );

    // The right code, sent many times at once, counts once.
    let answers = join_all((0..8).map(|_| {
        let mut b = browser.clone();
        let (attempt, code) = (attempt.clone(), code.clone());
        async move { b.verify_signin(&attempt, &code).await }
    }))
    .await;
    let ok: Vec<&sesame_e2e::Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(signins(ok[0]), before, "no new signin, the same one active");
    assert!(ok[0].set_cookie().is_none(), "the credential stays");

    let deleted = delete_me(&mut browser).await;
    assert_eq!(deleted.status, 200, "{:#}", deleted.body);
}
with_clock!(a_stale_signin_must_reverify_by_email_code);

async fn a_password_reverifies_at_once_and_wrong_ones_count(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, _, _) = server.new_user("repass").await;
    clock.advance(Duration::minutes(30));
    assert_eq!(delete_me(&mut browser).await.status, 403);

    let missing = browser
        .post("/auth/reverify", json!({"strategy": "password"}))
        .await;
    assert_eq!((missing.status, missing.error()), (400, "REQUIRED_FIELD"));
    // Passkeys are not available yet; TOTP needs its code, and an account that has it.
    for body in [
        json!({"strategy": "passkey"}),
        json!({"strategy": "totp", "code": "123456"}),
    ] {
        let strategy = body["strategy"].clone();
        let later = browser.post("/auth/reverify", body).await;
        assert_eq!(
            (later.status, later.error()),
            (400, "INVALID_FIELD"),
            "{strategy}"
        );
    }
    let phone = browser
        .post("/auth/reverify", json!({"strategy": "phone_otp"}))
        .await;
    assert_eq!(
        (phone.status, phone.error()),
        (400, "INVALID_FIELD"),
        "no verified phone"
    );
    let wrong = browser
        .post(
            "/auth/reverify",
            json!({"strategy": "password", "password": "not the password"}),
        )
        .await;
    assert_eq!((wrong.status, wrong.error()), (401, "INVALID_CREDENTIALS"));
    assert_eq!(delete_me(&mut browser).await.status, 403);

    let right = browser
        .post(
            "/auth/reverify",
            json!({"strategy": "password", "password": "analytical engine"}),
        )
        .await;
    assert_eq!(right.status, 200, "{:#}", right.body);
    clock.advance(Duration::minutes(9));
    assert_eq!(delete_me(&mut browser).await.status, 200);
}
with_clock!(a_password_reverifies_at_once_and_wrong_ones_count);

async fn reverification_needs_a_signin(backend: Backend) {
    let Some((server, _)) = server(backend).await else {
        return;
    };
    let mut anonymous = server.browser();
    let answer = anonymous
        .post("/auth/reverify", json!({"strategy": "email_otp"}))
        .await;
    assert_eq!((answer.status, answer.error()), (401, "UNAUTHENTICATED"));
    assert_eq!(delete_me(&mut anonymous).await.status, 401);
}
with_clock!(reverification_needs_a_signin);
