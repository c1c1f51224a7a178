//! The second factor (issue 13) against the findings of its second security review, on both
//! backends: an SMS code to a phone moved away grants nothing, a password reset does not skip a
//! factor turned on (or an end of every signin) while it was open, a password change needs the
//! factor, an admin block ends a sign-in waiting at its factor, a password change ends a password
//! sign-in that confirmed its email by code, one TOTP code serves once between reverification and
//! sign-in, wrong reverification codes are counted, and a sign-in whose first factor no longer
//! stands takes no more codes.

use reqwest::Method;
use serde_json::{Value, json};
use sesame::adapters::clock::ManualClock;
use sesame::domain::ports::Clock;
use sesame_e2e::{Answer, Backend, Browser, Server};
use time::Duration;

#[macro_use]
#[path = "two_factor/support.rs"]
mod support;
use support::*;

const ADMIN_KEY: &str = "test-admin-key-0123456789";
const NEW_PASSWORD: &str = "a brand new difference engine";

async fn admin(server: &Server, method: Method, path: &str, body: Value) -> Answer {
    let mut b = server.browser();
    let req = b
        .client
        .request(method, format!("{}{path}", b.base))
        .header("x-admin-key", ADMIN_KEY)
        .json(&body);
    b.send(req).await
}

async fn reset(b: &mut Browser, attempt: &str, password: &str) -> Answer {
    b.post(
        "/auth/reset-password",
        json!({"signin_attempt_id": attempt, "password": password}),
    )
    .await
}

/// Opens a password reset of `email` in a new browser; answers it, the attempt and its code.
async fn reset_opened(server: &Server, email: &str) -> (Browser, String, String) {
    let mut b = server.browser();
    let opened = b
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "reset_password_email_code"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(email).await;
    (b, opened.signin_attempt_id(), code)
}

/// A six-digit code that is none of `uri`'s codes around `clock`'s time.
fn wrong_totp(uri: &str, clock: &ManualClock) -> String {
    let near: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|s| totp_at(uri, clock.now() + Duration::seconds(*s)))
        .collect();
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_string()
}

async fn reverify_totp(b: &mut Browser, code: &str) -> Answer {
    b.post("/auth/reverify", json!({"strategy": "totp", "code": code}))
        .await
}

async fn an_sms_code_to_a_phone_moved_away_grants_nothing(backend: Backend) {
    let Some((server, _clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("smsmoved").await;
    let old_phone = verify_phone(&server, &mut browser).await;
    sms_factor_on(&mut browser).await;

    // A sign-in waits at the SMS factor; its code goes to the phone it was opened with.
    let (mut b, attempt, strategies) = code_first(&server, &email, "email_otp").await;
    assert_eq!(strategies, ["phone_otp"]);
    let sent = b
        .post(
            "/auth/prepare-verification",
            json!({"signin_attempt_id": attempt, "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{:#}", sent.body);
    let code = server.code_for(&old_phone).await;

    // The user moves the number: a code to the old one no longer passes the factor.
    verify_phone(&server, &mut browser).await;
    let late = second(&mut b, &attempt, &code, "phone_otp").await;
    assert_eq!((late.status, late.error()), (401, "UNAUTHENTICATED"));
    assert!(late.body["session"]["active_signin"].is_null());
}
with_clock!(an_sms_code_to_a_phone_moved_away_grants_nothing);

async fn a_reset_does_not_skip_what_changed_while_it_was_open(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    // Every signin of the user ends while a reset waits for its new password: it is void.
    let (mut me, email, _) = server.new_user("resetsignout").await;
    let (mut b, attempt, code) = reset_opened(&server, &email).await;
    let coded = b.verify_signin(&attempt, &code).await;
    assert_eq!(coded.status, 200, "{:#}", coded.body);
    let revoked = me.post("/me/sessions/revoke-others", json!({})).await;
    assert_eq!(revoked.status, 200, "{:#}", revoked.body);
    let refused = reset(&mut b, &attempt, NEW_PASSWORD).await;
    assert_eq!(
        (refused.status, refused.error()),
        (409, "SECOND_FACTOR_CHANGED")
    );

    // A factor turned on after the reset's code: the new password is refused.
    let (mut b, attempt, code) = reset_opened(&server, &email).await;
    let coded = b.verify_signin(&attempt, &code).await;
    assert_eq!(coded.status, 200, "{:#}", coded.body);
    assert_eq!(
        coded.body["session"]["signin_attempts"][0]["current_step"],
        "reset_password"
    );
    enroll(&mut me, &clock).await;
    let refused = reset(&mut b, &attempt, NEW_PASSWORD).await;
    assert_eq!(
        (refused.status, refused.error()),
        (409, "SECOND_FACTOR_CHANGED")
    );
    assert!(refused.body["session"]["active_signin"].is_null());
    // The old password still stands, and still meets the factor.
    password_first(&server, &email).await;

    // A factor turned on before the reset's code: the code is refused.
    let (mut other, email, _) = server.new_user("resetbefore").await;
    let (mut b, attempt, code) = reset_opened(&server, &email).await;
    enroll(&mut other, &clock).await;
    let refused = b.verify_signin(&attempt, &code).await;
    assert_eq!(
        (refused.status, refused.error()),
        (409, "SECOND_FACTOR_CHANGED")
    );
    let early = reset(&mut b, &attempt, NEW_PASSWORD).await;
    assert_eq!(early.status, 400, "{:#}", early.body);
    password_first(&server, &email).await;
}
with_clock!(a_reset_does_not_skip_what_changed_while_it_was_open);

async fn a_password_change_needs_the_second_factor(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("pwfactor").await;
    let (uri, _) = enroll(&mut browser, &clock).await;
    clock.advance(Duration::minutes(30));
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let refused = browser.post("/me/password", change.clone()).await;
    assert_eq!(
        (refused.status, refused.error()),
        (403, "REVERIFICATION_REQUIRED")
    );
    // The password alone does not reverify a user with a factor; the factor does.
    let by_password = browser
        .post(
            "/auth/reverify",
            json!({"strategy": "password", "password": PASSWORD}),
        )
        .await;
    assert_ne!(by_password.status, 200, "{:#}", by_password.body);
    let still = browser.post("/me/password", change.clone()).await;
    assert_eq!(still.status, 403, "{:#}", still.body);
    let fresh = reverify_totp(&mut browser, &next_totp(&uri, &clock)).await;
    assert_eq!(fresh.status, 200, "{:#}", fresh.body);
    let changed = browser.post("/me/password", change).await;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    let mut b = server.browser();
    let old = b.sign_in(&email, PASSWORD).await;
    assert_eq!(old.status, 401, "{:#}", old.body);
}
with_clock!(a_password_change_needs_the_second_factor);

async fn an_admin_block_ends_a_sign_in_waiting_at_its_factor(backend: Backend) {
    let Some((server, clock)) = server_with(backend, &[("ADMIN_KEY", ADMIN_KEY)]).await else {
        return;
    };
    let (mut browser, email, user_id) = server.new_user("blockwait").await;
    let (uri, _) = enroll(&mut browser, &clock).await;
    let (mut waiting, attempt) = password_first(&server, &email).await;
    let path = format!("/admin/users/{user_id}");
    let blocked = admin(&server, Method::PATCH, &path, json!({"blocked": true})).await;
    assert_eq!(blocked.status, 200, "{:#}", blocked.body);
    let unblocked = admin(&server, Method::PATCH, &path, json!({"blocked": false})).await;
    assert_eq!(unblocked.status, 200, "{:#}", unblocked.body);
    let late = second(&mut waiting, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!((late.status, late.error()), (401, "UNAUTHENTICATED"));
    assert!(late.body["session"]["active_signin"].is_null());
    // A sign-in opened after the block passes.
    let (mut b, attempt) = password_first(&server, &email).await;
    let done = second(&mut b, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
}
with_clock!(an_admin_block_ends_a_sign_in_waiting_at_its_factor);

async fn a_password_change_ends_a_password_sign_in_that_confirmed_its_email(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    // Signed up by phone, with an email typed but never proven.
    let mut browser = server.browser();
    let phone = sesame_e2e::unique_phone();
    let email = sesame_e2e::unique_email("unprovenpw");
    let opened = browser
        .post(
            "/auth/signup",
            json!({"phone_number": phone, "email": email, "password": PASSWORD, "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&phone).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let (uri, _) = enroll(&mut browser, &clock).await;

    // The password is right, the email code too; the password changes (no sign-out) before the
    // factor: the sign-in that proved the old password is not granted.
    let mut b = server.browser();
    let first = b.sign_in(&phone, PASSWORD).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    let attempt = first.signin_attempt_id();
    let code = server.code_for(&email).await;
    let coded = b.verify_signin(&attempt, &code).await;
    assert_eq!(coded.status, 200, "{:#}", coded.body);
    let changed = browser
        .post(
            "/me/password",
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "sign_out_others": false}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    let late = second(&mut b, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!(late.status, 401, "{:#}", late.body);
    assert!(late.body["session"]["active_signin"].is_null());
}
with_clock!(a_password_change_ends_a_password_sign_in_that_confirmed_its_email);

async fn one_totp_code_serves_once_between_reverification_and_sign_in(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("totponce").await;
    let (uri, _) = enroll(&mut browser, &clock).await;

    // Reverification first: the sign-in cannot use the same code.
    let (mut b, attempt) = password_first(&server, &email).await;
    let code = next_totp(&uri, &clock);
    let used = reverify_totp(&mut browser, &code).await;
    assert_eq!(used.status, 200, "{:#}", used.body);
    let replayed = second(&mut b, &attempt, &code, "totp").await;
    assert_eq!((replayed.status, replayed.error()), (400, "INVALID_CODE"));

    // The sign-in first: reverification cannot use the same code.
    let code = next_totp(&uri, &clock);
    let done = second(&mut b, &attempt, &code, "totp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let replayed = reverify_totp(&mut browser, &code).await;
    assert_eq!((replayed.status, replayed.error()), (400, "INVALID_CODE"));
}
with_clock!(one_totp_code_serves_once_between_reverification_and_sign_in);

async fn wrong_reverification_codes_are_counted(backend: Backend) {
    let Some((server, clock)) =
        server_with(backend, &[("LIMIT_ACCOUNT_FAILURES_PER_DAY", "30")]).await
    else {
        return;
    };
    // Per user: 10 wrong codes, then even a right one waits.
    let (mut browser, _, _) = server.new_user("reverifywrong").await;
    let (uri, _) = enroll(&mut browser, &clock).await;
    clock.advance(Duration::seconds(30));
    for i in 0..10 {
        let wrong = reverify_totp(&mut browser, &wrong_totp(&uri, &clock)).await;
        assert_eq!((wrong.status, wrong.error()), (400, "INVALID_CODE"), "{i}");
    }
    let right = reverify_totp(&mut browser, &next_totp(&uri, &clock)).await;
    assert_eq!((right.status, right.error()), (429, "RATE_LIMITED"));

    // The account's daily budget is charged too: with 3 left, a password sign-in is refused
    // after them.
    let Some((server, clock)) =
        server_with(backend, &[("LIMIT_ACCOUNT_FAILURES_PER_DAY", "3")]).await
    else {
        return;
    };
    let (mut browser, email, _) = server.new_user("reverifybudget").await;
    let (uri, _) = enroll(&mut browser, &clock).await;
    clock.advance(Duration::seconds(30));
    for i in 0..3 {
        let wrong = reverify_totp(&mut browser, &wrong_totp(&uri, &clock)).await;
        assert_eq!((wrong.status, wrong.error()), (400, "INVALID_CODE"), "{i}");
    }
    let mut b = server.browser();
    let refused = b.sign_in(&email, PASSWORD).await;
    assert_eq!((refused.status, refused.error()), (429, "RATE_LIMITED"));
}
with_clock!(wrong_reverification_codes_are_counted);

async fn a_stale_sign_in_takes_no_more_codes(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut me, email, _) = server.new_user("staleoracle").await;
    let (uri, _) = enroll(&mut me, &clock).await;
    let (mut waiting, attempt) = password_first(&server, &email).await;
    let revoked = me.post("/me/sessions/revoke-others", json!({})).await;
    assert_eq!(revoked.status, 200, "{:#}", revoked.body);
    let late = second(&mut waiting, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!((late.status, late.error()), (401, "UNAUTHENTICATED"));
    // Killed: a wrong code and a right one answer alike, so neither tells the code was right.
    let wrong = second(&mut waiting, &attempt, &wrong_totp(&uri, &clock), "totp").await;
    assert_eq!((wrong.status, wrong.error()), (429, "TOO_MANY_ATTEMPTS"));
    let right = second(&mut waiting, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!((right.status, right.error()), (429, "TOO_MANY_ATTEMPTS"));
}
with_clock!(a_stale_sign_in_takes_no_more_codes);

/// Moves the browser's user to a new verified email; answers it.
async fn move_email(server: &Server, b: &mut Browser) -> String {
    let email = sesame_e2e::unique_email("moved");
    let asked = b.post("/me/email", json!({"email": email})).await;
    assert_eq!(asked.status, 200, "{:#}", asked.body);
    let code = server.code_for(&email).await;
    let moved = b.post("/me/email/verify", json!({"code": code})).await;
    assert_eq!(moved.status, 200, "{:#}", moved.body);
    email
}

async fn a_code_to_an_email_moved_away_completes_nothing(backend: Backend) {
    let Some((server, _clock)) = server(backend).await else {
        return;
    };
    let (mut me, old_email, user_id) = server.new_user("oldemail").await;

    // A code sign-in and a reset, both opened to the old email (its code read there).
    let mut b = server.browser();
    let opened = b
        .post(
            "/auth/signin",
            json!({"identifier": old_email, "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let signin_code = server.code_for(&old_email).await;
    let (mut r, reset_attempt, reset_code) = reset_opened(&server, &old_email).await;
    let coded = r.verify_signin(&reset_attempt, &reset_code).await;
    assert_eq!(coded.status, 200, "{:#}", coded.body);

    // The user moves the email: neither completes, and the old address stays free.
    let new_email = move_email(&server, &mut me).await;
    let late = b
        .verify_signin(&opened.signin_attempt_id(), &signin_code)
        .await;
    assert_eq!((late.status, late.error()), (401, "INVALID_CREDENTIALS"));
    assert!(late.body["session"]["active_signin"].is_null());
    let refused = reset(&mut r, &reset_attempt, NEW_PASSWORD).await;
    assert_eq!(
        (refused.status, refused.error()),
        (409, "SECOND_FACTOR_CHANGED")
    );
    let mine = me.get("/me").await;
    assert_eq!(mine.body["data"]["email"], new_email.as_str());
    assert_eq!(mine.body["data"]["id"], user_id.as_str());
    let mut other = server.browser();
    let old = other.sign_in(&new_email, PASSWORD).await;
    assert_eq!(
        old.status, 200,
        "the password did not change: {:#}",
        old.body
    );
    let up = other.sign_up(&old_email).await;
    assert_eq!(up.status, 200, "the old address is free: {:#}", up.body);
}
with_clock!(a_code_to_an_email_moved_away_completes_nothing);
