//! Issue 12, item 1: one guessing budget per account (`LIMIT_ACCOUNT_FAILURES_PER_DAY`). Failed
//! passwords and codes on every identifier and route count together; parallel guesses get no more
//! answers than the cap; at the cap sign-in waits (429 with Retry-After), right password and right
//! code included, and the user is told once. An unknown identifier answers the same way.

use futures_util::future::join_all;
use serde_json::json;
use sesame_e2e::{Answer, Backend, Browser, Server, unique_email};

const CAP: &str = "5";
const CAP_N: usize = 5;

/// A small cap, and no failure floor to wait through (its timing is tested elsewhere).
async fn server(backend: Backend) -> Option<Server> {
    Server::start(
        backend,
        &[
            ("LIMIT_ACCOUNT_FAILURES_PER_DAY", CAP),
            ("PASSWORD_FAILURE_FLOOR_MS", "1"),
        ],
    )
    .await
}

/// A verified user with an email and a username (two identifiers, one account).
async fn user_with_username(server: &Server, tag: &str) -> (String, String) {
    let email = unique_email(tag);
    let username = format!("u{}", &email[tag.len() + 1..tag.len() + 13]);
    let mut browser = server.browser();
    let opened = browser
        .post(
            "/auth/signup",
            json!({"email": email, "password": "analytical engine", "username": username}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    (email, username)
}

fn tally(answers: &[Answer]) -> (usize, usize) {
    let failed = answers.iter().filter(|a| a.status == 401).count();
    let waited = answers
        .iter()
        .filter(|a| a.status == 429 && a.error() == "RATE_LIMITED")
        .count();
    (failed, waited)
}

async fn parallel_wrong_passwords(server: &Server, identifiers: &[&str]) -> Vec<Answer> {
    join_all(identifiers.iter().map(|identifier| {
        let mut b = server.browser();
        let identifier = identifier.to_string();
        async move { b.sign_in(&identifier, "not the password").await }
    }))
    .await
}

async fn notices_to(server: &Server, email: &str) -> usize {
    server
        .messages_to(email)
        .await
        .iter()
        .filter(|text| text.contains("paused"))
        .count()
}

async fn parallel_wrong_passwords_get_no_more_answers_than_the_cap(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (email, username) = user_with_username(&server, "budget").await;
    // Six per identifier: under the per-identifier limit (10), over the account's (5).
    let mut identifiers = vec![email.as_str(); 6];
    identifiers.extend(vec![username.as_str(); 6]);
    let answers = parallel_wrong_passwords(&server, &identifiers).await;
    let (failed, waited) = tally(&answers);
    println!("12 parallel wrong passwords over 2 identifiers: {failed} 401, {waited} 429");
    assert_eq!(
        (failed, waited),
        (CAP_N, 12 - CAP_N),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );

    // At the cap the right password waits too, on either identifier.
    let mut browser = server.browser();
    let right = browser.sign_in(&username, "analytical engine").await;
    assert_eq!((right.status, right.error()), (429, "RATE_LIMITED"));
    let retry: u64 = right.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "Retry-After {retry}");

    // Told once, however many guesses were refused.
    assert_eq!(
        browser.sign_in(&email, "not the password").await.status,
        429
    );
    assert_eq!(notices_to(&server, &email).await, 1);

    // An unknown identifier answers alike: the same count of 401s, then 429.
    let unknown = unique_email("nobody");
    let answers = parallel_wrong_passwords(&server, &[unknown.as_str(); 9]).await;
    assert_eq!(tally(&answers), (CAP_N, 9 - CAP_N));
}

async fn parallel_wrong_codes_share_the_budget_with_passwords(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (email, _) = user_with_username(&server, "codes").await;
    // One wrong password first: codes and passwords count together.
    assert_eq!(
        server
            .browser()
            .sign_in(&email, "not the password")
            .await
            .status,
        401
    );

    // Two code attempts (two browsers), four parallel wrong codes each: each attempt allows 5,
    // the account 4 more.
    let mut attempts = Vec::new();
    for _ in 0..2 {
        let mut b = server.browser();
        let opened = b
            .post(
                "/auth/signin",
                json!({"identifier": email, "strategy": "email_otp"}),
            )
            .await;
        assert_eq!(opened.status, 200, "{:#}", opened.body);
        let id = opened.signin_attempt_id();
        let code = server.code_for(&email).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        attempts.push((b, id, wrong.to_string()));
    }
    let answers = join_all(attempts.iter().flat_map(|(b, id, wrong)| {
        (0..4).map(move |_| {
            let mut b: Browser = b.clone();
            let (id, wrong) = (id.clone(), wrong.clone());
            async move { b.verify_signin(&id, &wrong).await }
        })
    }))
    .await;
    let invalid = answers
        .iter()
        .filter(|a| a.error() == "INVALID_CODE")
        .count();
    let waited = answers
        .iter()
        .filter(|a| (a.status, a.error()) == (429, "RATE_LIMITED"))
        .count();
    println!("8 parallel wrong codes after 1 wrong password: {invalid} INVALID_CODE, {waited} 429");
    assert_eq!((invalid, waited), (CAP_N - 1, 8 - (CAP_N - 1)));

    // A right code at the cap waits too, and signs nobody in.
    let mut b = server.browser();
    let opened = b
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let right = b.verify_signin(&opened.signin_attempt_id(), &code).await;
    assert_eq!(
        (right.status, right.error()),
        (429, "RATE_LIMITED"),
        "{:#}",
        right.body
    );
    assert!(b.get("/session").await.body["data"]["active_signin"].is_null());
    assert_eq!(notices_to(&server, &email).await, 1);

    // The reset code of a password reset waits as well.
    let reset = b
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "reset_password_email_code"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{:#}", reset.body);
    let code = server.code_for(&email).await;
    let right = b.verify_signin(&reset.signin_attempt_id(), &code).await;
    assert_eq!(
        (right.status, right.error()),
        (429, "RATE_LIMITED"),
        "{:#}",
        right.body
    );
}

async fn a_wrong_current_password_and_reverify_charge_the_account(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let (email, _) = user_with_username(&server, "signedin").await;
    let mut b = server.browser();
    assert_eq!(b.sign_in(&email, "analytical engine").await.status, 200);
    // Two wrong current passwords and two wrong reverifications: four of the five.
    for _ in 0..2 {
        let changed = b
            .post(
                "/me/password",
                json!({"current_password": "not the password", "new_password": "difference engine"}),
            )
            .await;
        assert_eq!(changed.status, 400, "{:#}", changed.body);
        let reverified = b
            .post(
                "/auth/reverify",
                json!({"strategy": "password", "password": "not the password"}),
            )
            .await;
        assert_eq!(reverified.status, 401, "{:#}", reverified.body);
    }
    // The fifth guess, a sign-in elsewhere, still counts; the sixth waits.
    let mut other = server.browser();
    assert_eq!(other.sign_in(&email, "not the password").await.status, 401);
    let waited = other.sign_in(&email, "analytical engine").await;
    assert_eq!((waited.status, waited.error()), (429, "RATE_LIMITED"));
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$name(sesame_e2e::Backend::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                super::$name(sesame_e2e::Backend::Moto).await;
            }
        }
    };
}

on_both!(parallel_wrong_passwords_get_no_more_answers_than_the_cap);
on_both!(parallel_wrong_codes_share_the_budget_with_passwords);
on_both!(a_wrong_current_password_and_reverify_charge_the_account);
