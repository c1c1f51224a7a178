//! The second factor (issue 13) over HTTP on both backends. TOTP codes are computed by an
//! independent implementation (Python's `pyotp`, in the test command's virtualenv: `TEST_PYTHON`)
//! from the `otpauth://` URI the enrollment answers, at the server's (manual) clock.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame::domain::ports::Clock;
use sesame_e2e::providers::{self, OidcMock};
use sesame_e2e::{Backend, Server};

#[macro_use]
#[path = "two_factor/support.rs"]
mod support;
use support::*;
use time::{Duration, OffsetDateTime};

async fn totp_enrollment_turns_two_factor_on(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("totp").await;
    assert!(!two_factor_enabled(&mut browser).await);

    let started = browser.post("/me/totp", json!({})).await;
    assert_eq!(started.status, 200, "{:#}", started.body);
    let data = &started.body["data"];
    let secret = data["secret"].as_str().unwrap().to_string();
    let uri = data["otpauth_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(data["qr_svg"].as_str().unwrap().contains("<svg"));
    // Decoded, the secret carries 160 bits (32 base32 characters).
    assert_eq!(secret.trim_end_matches('=').len(), 32, "{secret}");

    let code = totp_at(&uri, clock.now());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = browser
        .post("/me/totp/verify", json!({"code": wrong}))
        .await;
    assert_eq!((refused.status, refused.error()), (400, "INVALID_CODE"));
    assert!(
        !two_factor_enabled(&mut browser).await,
        "a wrong code enables nothing"
    );

    let done = browser.post("/me/totp/verify", json!({"code": code})).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let mut codes = strings(&done.body["data"]["backup_codes"]);
    assert_eq!(codes.len(), 10);
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 10, "ten distinct codes");
    // 12 characters of a 32-letter alphabet: 60 bits each.
    assert!(
        codes.iter().all(|c| c.replace('-', "").len() == 12),
        "{codes:?}"
    );
    assert!(two_factor_enabled(&mut browser).await);

    let status = browser.get("/me/two-factor").await;
    assert_eq!(status.status, 200, "{:#}", status.body);
    assert_eq!(status.body["data"]["totp_enabled"], true);
    assert_eq!(status.body["data"]["backup_codes_left"], 10);
    assert_eq!(
        strings(&status.body["data"]["strategies"]),
        ["totp", "backup_code"]
    );

    // The secret never shows again, anywhere the user reads.
    for path in ["/me", "/session", "/me/two-factor"] {
        let read = browser.get(path).await;
        assert!(!read.body.to_string().contains(&secret), "{path}");
    }
    let again = browser.post("/me/totp", json!({})).await;
    assert_eq!((again.status, again.error()), (409, "TOTP_ALREADY_ENABLED"));
    let notice = server.messages_to(&email).await.pop().unwrap();
    assert!(notice.contains("two-factor"), "{notice}");
}
with_clock!(totp_enrollment_turns_two_factor_on);

async fn turning_totp_off_and_new_backup_codes_need_reverification(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("totpoff").await;
    let (uri, _) = enroll(&mut browser, &clock).await;
    let notices = server.messages_to(&email).await.len();

    clock.advance(Duration::minutes(10));
    for refused in [
        delete(&mut browser, "/me/totp").await,
        browser.post("/me/backup-codes", json!({})).await,
        browser
            .post("/me/two-factor/phone", json!({"enabled": true}))
            .await,
    ] {
        assert_eq!(
            (refused.status, refused.error()),
            (403, "REVERIFICATION_REQUIRED")
        );
    }
    assert!(two_factor_enabled(&mut browser).await, "nothing changed");
    assert_eq!(server.messages_to(&email).await.len(), notices);

    // The first factor alone does not reverify a user with a second factor: the factor does.
    let first_only = browser
        .post(
            "/auth/reverify",
            json!({"strategy": "password", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (first_only.status, first_only.error()),
        (400, "INVALID_FIELD")
    );
    let still = delete(&mut browser, "/me/totp").await;
    assert_eq!(still.status, 403, "{:#}", still.body);
    let code = totp_at(&uri, clock.now());
    let reverified = browser
        .post("/auth/reverify", json!({"strategy": "totp", "code": code}))
        .await;
    assert_eq!(reverified.status, 200, "{:#}", reverified.body);
    let replayed = browser
        .post("/auth/reverify", json!({"strategy": "totp", "code": code}))
        .await;
    assert_eq!(
        (replayed.status, replayed.error()),
        (400, "INVALID_CODE"),
        "a TOTP code reverifies once"
    );
    let replaced = browser.post("/me/backup-codes", json!({})).await;
    assert_eq!(replaced.status, 200, "{:#}", replaced.body);
    assert_eq!(
        replaced.body["data"]["backup_codes"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let off = delete(&mut browser, "/me/totp").await;
    assert_eq!(off.status, 200, "{:#}", off.body);
    assert_eq!(off.body["data"]["two_factor_enabled"], false);
    assert_eq!(
        off.body["data"]["backup_codes_left"], 0,
        "no factor, no codes"
    );
    assert!(!two_factor_enabled(&mut browser).await);
    assert_eq!(
        server.messages_to(&email).await.len(),
        notices + 2,
        "a notice for each change"
    );
    let twice = delete(&mut browser, "/me/totp").await;
    assert_eq!(
        (twice.status, twice.error()),
        (409, "SECOND_FACTOR_NOT_ENABLED")
    );
}
with_clock!(turning_totp_off_and_new_backup_codes_need_reverification);

async fn password_then_totp_signs_in_once_per_code(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut enrolled, email, user_id) = server.new_user("totpsignin").await;
    let (uri, _) = enroll(&mut enrolled, &clock).await;

    // The enrollment's code was this step's: it is spent already.
    let (mut b, attempt) = password_first(&server, &email).await;
    let spent = second(&mut b, &attempt, &totp_at(&uri, clock.now()), "totp").await;
    assert_eq!((spent.status, spent.error()), (400, "INVALID_CODE"));

    clock.advance(Duration::seconds(30));
    let (mut b, attempt) = password_first(&server, &email).await;
    let opened = b.get("/session").await;
    assert_eq!(
        strings(&opened.body["data"]["signin_attempts"][0]["second_factor_strategies"]),
        ["totp", "backup_code"]
    );
    let cookie_before = b.cookie.clone();
    let code = totp_at(&uri, clock.now());
    let missing = b
        .post(
            "/auth/attempt-verification",
            json!({"signin_attempt_id": attempt, "code": code}),
        )
        .await;
    assert_eq!((missing.status, missing.error()), (400, "REQUIRED_FIELD"));
    let done = second(&mut b, &attempt, &code, "totp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.user_id(), Some(user_id.as_str()));
    assert!(
        done.set_cookie().is_some(),
        "the credential rotates at the grant"
    );
    assert_ne!(b.cookie, cookie_before);

    // The same code again, from another browser within its window: refused.
    let (mut other, attempt) = password_first(&server, &email).await;
    let replay = second(&mut other, &attempt, &code, "totp").await;
    assert_eq!((replay.status, replay.error()), (400, "INVALID_CODE"));
    assert!(replay.body["session"]["active_signin"].is_null());

    // Two parallel submissions of the next code: one signs in.
    clock.advance(Duration::seconds(30));
    let code = totp_at(&uri, clock.now());
    let (b1, a1) = password_first(&server, &email).await;
    let (b2, a2) = password_first(&server, &email).await;
    let answers = join_all([(b1, a1), (b2, a2)].map(|(mut b, a)| {
        let code = code.clone();
        async move { second(&mut b, &a, &code, "totp").await }
    }))
    .await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
}
with_clock!(password_then_totp_signs_in_once_per_code);

async fn a_backup_code_signs_in_once_even_in_parallel(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut enrolled, email, _) = server.new_user("backup").await;
    let (_, codes) = enroll(&mut enrolled, &clock).await;

    let mut waiting = Vec::new();
    for _ in 0..20 {
        waiting.push(password_first(&server, &email).await);
    }
    let code = codes[0].clone();
    let answers = join_all(waiting.into_iter().map(|(mut b, a)| {
        let code = code.clone();
        async move { second(&mut b, &a, &code, "backup_code").await }
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );

    // Another code, typed in capitals without dashes, works once.
    let typed = codes[1].replace('-', "").to_uppercase();
    let (mut b, attempt) = password_first(&server, &email).await;
    let done = second(&mut b, &attempt, &typed, "backup_code").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let (mut b, attempt) = password_first(&server, &email).await;
    let again = second(&mut b, &attempt, &codes[1], "backup_code").await;
    assert_eq!((again.status, again.error()), (400, "INVALID_CODE"));
    let left = enrolled.get("/me/two-factor").await;
    assert_eq!(left.body["data"]["backup_codes_left"], 8);
}

with_clock!(a_backup_code_signs_in_once_even_in_parallel);

async fn an_sms_second_factor_and_wrong_codes_kill_the_attempt(backend: Backend) {
    let Some((server, _clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, user_id) = server.new_user("smsfactor").await;
    let unverified = browser
        .post("/me/two-factor/phone", json!({"enabled": true}))
        .await;
    assert_eq!(
        (unverified.status, unverified.error()),
        (400, "INVALID_FIELD")
    );
    let phone = sesame_e2e::unique_phone();
    let asked = browser
        .post("/me/phone_number", json!({"phone_number": phone}))
        .await;
    assert_eq!(asked.status, 200, "{:#}", asked.body);
    let code = server.code_for(&phone).await;
    let moved = browser
        .post("/me/phone_number/verify", json!({"code": code}))
        .await;
    assert_eq!(moved.status, 200, "{:#}", moved.body);
    let on = browser
        .post("/me/two-factor/phone", json!({"enabled": true}))
        .await;
    assert_eq!(on.status, 200, "{:#}", on.body);
    assert_eq!(on.body["data"]["two_factor_enabled"], true);
    assert_eq!(strings(&on.body["data"]["strategies"]), ["phone_otp"]);

    let (mut b, attempt) = password_first(&server, &email).await;
    let not_sent = second(&mut b, &attempt, "123456", "phone_otp").await;
    assert_eq!((not_sent.status, not_sent.error()), (400, "INVALID_FIELD"));
    let sent = b
        .post(
            "/auth/prepare-verification",
            json!({"signin_attempt_id": attempt, "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{:#}", sent.body);
    let code = server.code_for(&phone).await;
    let done = second(&mut b, &attempt, &code, "phone_otp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.user_id(), Some(user_id.as_str()));

    // Five wrong codes kill the attempt; the right one fails after that.
    let (mut b, attempt) = password_first(&server, &email).await;
    let sent = b
        .post(
            "/auth/prepare-verification",
            json!({"signin_attempt_id": attempt, "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{:#}", sent.body);
    let code = server.code_for(&phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 1..=5 {
        let answer = second(&mut b, &attempt, wrong, "phone_otp").await;
        let want = if i < 5 { 400 } else { 429 };
        assert_eq!(answer.status, want, "wrong code {i}: {:#}", answer.body);
    }
    let late = second(&mut b, &attempt, &code, "phone_otp").await;
    assert_eq!((late.status, late.error()), (429, "TOO_MANY_ATTEMPTS"));
    assert!(late.body["session"]["active_signin"].is_null());
}
with_clock!(an_sms_second_factor_and_wrong_codes_kill_the_attempt);

async fn an_email_code_sign_in_then_asks_for_the_second_factor(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut enrolled, email, user_id) = server.new_user("codefirst").await;
    let (uri, _) = enroll(&mut enrolled, &clock).await;
    clock.advance(Duration::seconds(30));
    let mut b = server.browser();
    let opened = b
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = opened.signin_attempt_id();
    // Before the code, nothing tells that the account has a second factor.
    let view = &opened.body["session"]["signin_attempts"][0];
    assert_eq!(strings(&view["remaining_steps"]), ["verify_email_otp"]);
    assert_eq!(
        strings(&view["second_factor_strategies"]),
        Vec::<&str>::new()
    );
    let code = server.code_for(&email).await;
    let first = b.verify_signin(&attempt, &code).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    assert!(first.body["session"]["active_signin"].is_null());
    assert_eq!(
        first.body["session"]["signin_attempts"][0]["current_step"],
        "verify_second_factor"
    );
    let done = second(&mut b, &attempt, &totp_at(&uri, clock.now()), "totp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.user_id(), Some(user_id.as_str()));
}
with_clock!(an_email_code_sign_in_then_asks_for_the_second_factor);

async fn an_oauth_sign_in_then_asks_for_the_second_factor(backend: Backend) {
    let Some(mock) = OidcMock::new() else { return };
    if python_path().is_none() {
        return;
    }
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let owned = providers::settings("mock", &mock.endpoint);
    let overrides: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let Some(server) = Server::start_with_clock(backend, &overrides, clock.clone()).await else {
        return;
    };
    let (mut enrolled, email, user_id) = server.new_user("ssofactor").await;
    let (uri, codes) = enroll(&mut enrolled, &clock).await;
    clock.advance(Duration::seconds(30));
    let sub = sesame::ids::new_id("sub");
    mock.set_user(&sub, json!({"email": email, "email_verified": true}))
        .await;

    // The provider proves the email; the second factor is still asked for.
    let mut b = server.browser();
    let back = providers::sign_in(&mut b, &mock, &sub).await;
    assert_eq!(back.status, 200, "{:#}", back.body);
    assert!(
        back.body["session"]["active_signin"].is_null(),
        "{:#}",
        back.body
    );
    let attempt = &back.body["session"]["signin_attempts"][0];
    assert_eq!(attempt["current_step"], "verify_second_factor");
    let attempt = attempt["id"].as_str().unwrap().to_string();
    let done = second(&mut b, &attempt, &totp_at(&uri, clock.now()), "totp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.user_id(), Some(user_id.as_str()));

    // Again: a backup code does it too.
    let mut b = server.browser();
    let back = providers::sign_in(&mut b, &mock, &sub).await;
    assert!(
        back.body["session"]["active_signin"].is_null(),
        "{:#}",
        back.body
    );
    let attempt = back.body["session"]["signin_attempts"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = second(&mut b, &attempt, &codes[0], "backup_code").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
}
with_clock!(an_oauth_sign_in_then_asks_for_the_second_factor);

async fn a_password_reset_asks_for_the_second_factor_before_the_new_password(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut enrolled, email, user_id) = server.new_user("resetfactor").await;
    let (_, codes) = enroll(&mut enrolled, &clock).await;
    let mut b = server.browser();
    let opened = b
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "reset_password_email_code"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = opened.signin_attempt_id();
    let code = server.code_for(&email).await;
    let first = b.verify_signin(&attempt, &code).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    let view = &first.body["session"]["signin_attempts"][0];
    assert_eq!(view["current_step"], "verify_second_factor");
    let early = b
        .post(
            "/auth/reset-password",
            json!({"signin_attempt_id": attempt, "password": "difference engine"}),
        )
        .await;
    assert_ne!(
        early.status, 200,
        "no new password before the second factor"
    );
    let factor = second(&mut b, &attempt, &codes[0], "backup_code").await;
    assert_eq!(factor.status, 200, "{:#}", factor.body);
    assert!(factor.body["session"]["active_signin"].is_null());
    let reset = b
        .post(
            "/auth/reset-password",
            json!({"signin_attempt_id": attempt, "password": "difference engine"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{:#}", reset.body);
    assert_eq!(reset.user_id(), Some(user_id.as_str()));
}
with_clock!(a_password_reset_asks_for_the_second_factor_before_the_new_password);

/// Issue 12's account budget holds at the second factor too: once wrong codes have filled it, a
/// right TOTP code in another attempt (opened before it filled) is refused like a wrong one.
async fn a_full_account_budget_refuses_a_right_second_factor(backend: Backend) {
    let Some((server, clock)) =
        server_with(backend, &[("LIMIT_ACCOUNT_FAILURES_PER_DAY", "3")]).await
    else {
        return;
    };
    let (mut enrolled, email, _) = server.new_user("totpbudget").await;
    let (uri, _) = enroll(&mut enrolled, &clock).await;
    clock.advance(Duration::seconds(30));
    let (mut guesser, guessed) = password_first(&server, &email).await;
    let (mut owner, waiting) = password_first(&server, &email).await;
    let right = totp_at(&uri, clock.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..3 {
        let answer = second(&mut guesser, &guessed, wrong, "totp").await;
        assert_eq!((answer.status, answer.error()), (400, "INVALID_CODE"));
    }
    let refused = second(&mut owner, &waiting, &right, "totp").await;
    assert_eq!(
        (refused.status, refused.error()),
        (429, "RATE_LIMITED"),
        "{:#}",
        refused.body
    );
    assert!(refused.body["session"]["active_signin"].is_null());
}
with_clock!(a_full_account_budget_refuses_a_right_second_factor);
