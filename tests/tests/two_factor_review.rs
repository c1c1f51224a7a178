//! The second factor (issue 13) against the findings of its security review, on both backends:
//! the phone of the SMS factor does not pass both factors, a sign-in half done ends with the
//! user's signins, a factor turned on while a sign-in is open is not skipped, an email code
//! before the factor verifies the email, and moving the SMS factor's phone is told.

use serde_json::json;
use sesame_e2e::Backend;
use time::Duration;

#[macro_use]
#[path = "two_factor/support.rs"]
mod support;
use support::*;

const ADMIN_KEY: &str = "test-admin-key-0123456789";

async fn the_phone_of_the_sms_factor_does_not_pass_both_factors(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, user_id) = server.new_user("smsboth").await;
    let phone = verify_phone(&server, &mut browser).await;
    sms_factor_on(&mut browser).await;

    // The SMS factor alone: a phone code leaves no second factor to give.
    let (mut b, attempt, strategies) = code_first(&server, &phone, "phone_otp").await;
    assert!(strategies.is_empty(), "{strategies:?}");
    let sent = b
        .post(
            "/auth/prepare-verification",
            json!({"signin_attempt_id": attempt, "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!((sent.status, sent.error()), (400, "INVALID_FIELD"));

    // With TOTP too, a phone code is followed by TOTP or a backup code, never the phone again.
    let (uri, _) = enroll(&mut browser, &clock).await;
    let (mut b, attempt, strategies) = code_first(&server, &phone, "phone_otp").await;
    assert_eq!(strategies, ["totp", "backup_code"]);
    let again = second(&mut b, &attempt, "123456", "phone_otp").await;
    assert_eq!((again.status, again.error()), (400, "INVALID_FIELD"));
    let done = second(&mut b, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.user_id(), Some(user_id.as_str()));
    // An email code is another factor: the phone is offered after it.
    let (_, _, strategies) = code_first(&server, &email, "email_otp").await;
    assert_eq!(strategies, ["totp", "phone_otp", "backup_code"]);

    // Moving the phone moves the SMS factor: the account's email is told.
    let notices = server.messages_to(&email).await.len();
    let moved_to = verify_phone(&server, &mut browser).await;
    let told = server.messages_to(&email).await;
    assert_eq!(told.len(), notices + 1, "one notice");
    assert!(
        told.last().unwrap().contains("two-factor codes"),
        "{:?}",
        told.last()
    );
    let status = browser.get("/me/two-factor").await;
    assert_eq!(status.body["data"]["phone_enabled"], true);
    let (_, _, strategies) = code_first(&server, &moved_to, "phone_otp").await;
    assert_eq!(strategies, ["totp", "backup_code"]);
}
with_clock!(the_phone_of_the_sms_factor_does_not_pass_both_factors);

async fn a_sign_in_waiting_at_its_second_factor_ends_with_every_signin(backend: Backend) {
    let Some((server, clock)) = server_with(backend, &[("ADMIN_KEY", ADMIN_KEY)]).await else {
        return;
    };
    let (mut browser, email, user_id) = server.new_user("halfdone").await;
    let (uri, _) = enroll(&mut browser, &clock).await;

    // An admin sign-out ends a password sign-in waiting for its factor.
    let (mut waiting, attempt) = password_first(&server, &email).await;
    let mut admin = server.browser();
    let req = admin
        .client
        .post(format!("{}/admin/users/{user_id}/sign-out", admin.base))
        .header("x-admin-key", ADMIN_KEY);
    let signed_out = admin.send(req).await;
    assert_eq!(signed_out.status, 200, "{:#}", signed_out.body);
    let late = second(&mut waiting, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!((late.status, late.error()), (401, "UNAUTHENTICATED"));
    assert!(late.body["session"]["active_signin"].is_null());

    // "Sign out other devices" ends an email code sign-in waiting for its factor.
    let (mut me, attempt) = password_first(&server, &email).await;
    let back = second(&mut me, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!(back.status, 200, "{:#}", back.body);
    let (mut waiting, attempt, _) = code_first(&server, &email, "email_otp").await;
    let revoked = me.post("/me/sessions/revoke-others", json!({})).await;
    assert_eq!(revoked.status, 200, "{:#}", revoked.body);
    let late = second(&mut waiting, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!((late.status, late.error()), (401, "UNAUTHENTICATED"));

    // A password change ends a password sign-in that proved the old password.
    let (mut waiting, attempt) = password_first(&server, &email).await;
    let changed = me
        .post(
            "/me/password",
            json!({"current_password": PASSWORD, "new_password": "a brand new difference engine", "sign_out_others": true}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    let late = second(&mut waiting, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!(late.status, 401, "{:#}", late.body);
    assert!(late.body["session"]["active_signin"].is_null());
}
with_clock!(a_sign_in_waiting_at_its_second_factor_ends_with_every_signin);

async fn a_factor_turned_on_while_a_code_sign_in_is_open_is_not_skipped(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, email, _) = server.new_user("turnedon").await;
    let mut b = server.browser();
    let opened = b
        .post(
            "/auth/signin",
            json!({"identifier": email, "strategy": "email_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    enroll(&mut browser, &clock).await;
    let refused = b.verify_signin(&opened.signin_attempt_id(), &code).await;
    assert_eq!(
        (refused.status, refused.error()),
        (409, "SECOND_FACTOR_CHANGED")
    );
    assert!(refused.body["session"]["active_signin"].is_null());
    // A new sign-in meets the factor.
    let (_, _, strategies) = code_first(&server, &email, "email_otp").await;
    assert_eq!(strategies, ["totp", "backup_code"]);

    // So does a reset: one whose code was given before the factor was on cannot skip it.
    let (mut late, email, _) = server.new_user("resetlate").await;
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
    let coded = b.verify_signin(&attempt, &code).await;
    assert_eq!(
        coded.body["session"]["signin_attempts"][0]["current_step"],
        "reset_password"
    );
    enroll(&mut late, &clock).await;
    let refused = b
        .post(
            "/auth/reset-password",
            json!({"signin_attempt_id": attempt, "password": "a brand new difference engine"}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.error()),
        (409, "SECOND_FACTOR_CHANGED")
    );
    assert!(refused.body["session"]["active_signin"].is_null());
}
with_clock!(a_factor_turned_on_while_a_code_sign_in_is_open_is_not_skipped);

async fn an_email_code_then_a_factor_verifies_the_email_of_a_password_sign_in(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    // Signed up by phone, with an email typed but never proven.
    let mut browser = server.browser();
    let phone = sesame_e2e::unique_phone();
    let email = sesame_e2e::unique_email("unproven");
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
    let me = browser.get("/me").await;
    assert_eq!(me.body["data"]["email_verified"], false);

    // The password is right, the email wants its code, then the factor.
    let mut b = server.browser();
    let first = b.sign_in(&phone, PASSWORD).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    let attempt = first.signin_attempt_id();
    let code = server.code_for(&email).await;
    let coded = b.verify_signin(&attempt, &code).await;
    assert_eq!(coded.status, 200, "{:#}", coded.body);
    let done = second(&mut b, &attempt, &next_totp(&uri, &clock), "totp").await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let me = b.get("/me").await;
    assert_eq!(me.body["data"]["email_verified"], true, "{:#}", me.body);
}
with_clock!(an_email_code_then_a_factor_verifies_the_email_of_a_password_sign_in);

async fn reverification_asks_a_user_with_a_second_factor_for_it(backend: Backend) {
    let Some((server, clock)) = server(backend).await else {
        return;
    };
    let (mut browser, _, _) = server.new_user("reverify2fa").await;
    let phone = verify_phone(&server, &mut browser).await;
    let (_, codes) = enroll(&mut browser, &clock).await;
    clock.advance(Duration::minutes(30));

    // A backup code reverifies once.
    let used = browser
        .post(
            "/auth/reverify",
            json!({"strategy": "backup_code", "code": codes[0]}),
        )
        .await;
    assert_eq!(used.status, 200, "{:#}", used.body);
    let fresh = browser.get("/me/two-factor").await;
    assert_eq!(fresh.body["data"]["backup_codes_left"], 9);
    let again = browser
        .post(
            "/auth/reverify",
            json!({"strategy": "backup_code", "code": codes[0]}),
        )
        .await;
    assert_eq!((again.status, again.error()), (400, "INVALID_CODE"));

    // An email or phone code is a first factor: refused while the phone is not the SMS factor.
    for strategy in ["email_otp", "phone_otp"] {
        let refused = browser
            .post("/auth/reverify", json!({"strategy": strategy}))
            .await;
        assert_eq!(
            (refused.status, refused.error()),
            (400, "INVALID_FIELD"),
            "{strategy}"
        );
    }
    assert_eq!(server.messages_to(&phone).await.len(), 1, "no code sent");
}
with_clock!(reverification_asks_a_user_with_a_second_factor_for_it);
