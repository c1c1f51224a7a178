//! Sign-up -> code -> verification -> session, over HTTP, on both backends.

use serde_json::json;
use sesame_e2e::{Server, both_backends, unique_email, unique_phone};

async fn email_sign_up_verifies_and_signs_in(server: Server) {
    let mut browser = server.browser();
    let email = unique_email("ada");

    let opened = browser
        .post(
            "/auth/signup",
            json!({"email": email.to_uppercase(), "password": "analytical engine", "first_name": "Ada",
                   "username": format!("ada{}", &email[4..10]), "metadata": {"plan": "pro"},
                   "profile": {"birthdate": "1815-12-10", "gender": 2}}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    // The envelope of seeds 000/001/004, in their order, with data = session.
    let keys: Vec<&String> = opened.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["status", "message", "data", "session", "errors"]);
    assert_eq!(opened.body["data"], opened.body["session"]);
    let attempt = &opened.body["session"]["signup_attempts"][0];
    assert_eq!(attempt["email"], email.as_str(), "stored lower-cased");
    assert_eq!(attempt["current_step"], "verify_email_otp");
    assert_eq!(attempt["remaining_steps"], json!(["verify_email_otp"]));
    assert_eq!(attempt["unverified_fields"], json!(["email"]));
    assert_eq!(attempt["completed"], false);
    assert!(attempt.get("password").is_none() && attempt.get("password_hash").is_none());
    let cookie = opened
        .set_cookie()
        .expect("session created lazily by the sign-up");
    for part in [
        "__Host-session=",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{part} missing in {cookie}");
    }
    assert!(!cookie.contains("Domain"));
    let first_cookie = browser.cookie.clone().unwrap();

    let id = opened.signup_attempt_id();
    let code = server.code_for(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = browser.verify(&id, wrong).await;
    assert_eq!((refused.status, refused.error()), (400, "INVALID_CODE"));
    assert_eq!(refused.body["data"], json!(null));
    assert_eq!(
        refused.body["session"]["id"], opened.body["session"]["id"],
        "the caller's session is still shown"
    );

    let done = browser.verify(&id, &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let session = &done.body["data"];
    assert_eq!(session["signup_attempts"][0]["completed"], true);
    assert_eq!(session["signup_attempts"][0]["current_step"], json!(null));
    assert_eq!(session["signup_attempts"][0]["remaining_steps"], json!([]));
    assert_eq!(session["signins"].as_array().unwrap().len(), 1);
    assert_eq!(session["active_signin"], session["signins"][0]);
    assert!(
        session["active_signin"]["user_id"]
            .as_str()
            .unwrap()
            .starts_with("usr_")
    );
    let rotated = browser.cookie.clone().unwrap();
    assert_ne!(
        rotated, first_cookie,
        "the secret is replaced at sign-up completion"
    );

    let read = browser.get("/session").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["data"]["active_signin"], session["active_signin"]);

    // The cookie from before completion no longer proves anything (it is left in place: it may be
    // a request racing the completion, whose clearing would drop the new cookie).
    let mut planted = server.browser();
    planted.cookie = Some(first_cookie);
    let stale = planted.get("/session").await;
    assert_eq!((stale.status, &stale.body["data"]), (200, &json!(null)));
    assert!(stale.set_cookie().is_none());

    // Verifying again is refused: the attempt is complete.
    let again = browser.verify(&id, &code).await;
    assert_eq!((again.status, again.error()), (409, "ATTEMPT_COMPLETED"));

    // A later sign-up with the same email is EMAIL_EXISTS.
    let dup = server.browser().sign_up(&email).await;
    assert_eq!((dup.status, dup.error()), (409, "EMAIL_EXISTS"));
}
both_backends!(email_sign_up_verifies_and_signs_in);

async fn phone_sign_up_sends_an_sms(server: Server) {
    let mut browser = server.browser();
    let phone = unique_phone();
    let opened = browser
        .post(
            "/auth/signup",
            json!({"phone_number": phone, "password": "analytical engine", "strategy": "phone_otp"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    assert_eq!(
        opened.body["session"]["signup_attempts"][0]["current_step"],
        "verify_phone_otp"
    );
    let code = server.code_for(&phone).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert!(done.body["data"]["active_signin"].is_object());
}
both_backends!(phone_sign_up_sends_an_sms);

async fn reading_a_session_without_a_cookie_writes_nothing(server: Server) {
    let mut browser = server.browser();
    let read = browser.get("/session").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["data"], json!(null));
    assert_eq!(read.body["session"], json!(null));
    assert!(
        read.set_cookie().is_none(),
        "no session is created by a read"
    );
    if server.moto.is_some() {
        assert_eq!(server.items_in_table().await, 0);
    }
}
both_backends!(reading_a_session_without_a_cookie_writes_nothing);

async fn a_resend_for_an_unknown_attempt_is_not_found(server: Server) {
    let mut browser = server.browser();
    let answer = browser
        .post(
            "/auth/prepare-verification",
            json!({"signup_attempt_id": "sua_nope"}),
        )
        .await;
    assert_eq!((answer.status, answer.error()), (404, "ATTEMPT_NOT_FOUND"));

    // Another session's attempt is not found either: attempts are bound to their session.
    let mut owner = server.browser();
    let opened = owner.sign_up(&unique_email("owner")).await;
    let verify = browser.verify(&opened.signup_attempt_id(), "123456").await;
    assert_eq!((verify.status, verify.error()), (404, "ATTEMPT_NOT_FOUND"));
}
both_backends!(a_resend_for_an_unknown_attempt_is_not_found);

/// `s` in fullwidth forms (`ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ`): NFKC reads it as `s`.
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap(),
            other => other,
        })
        .collect()
}

/// Emails are NFKC, lower case and an A-label domain wherever they come in, so a fullwidth or
/// U-label spelling of a claimed address is that address, and quoted or IP-literal ones are
/// refused.
async fn every_spelling_of_one_mailbox_is_one_account(server: Server) {
    let (_, email, _) = server.new_user("wide").await;
    let dup = server.browser().sign_up(&fullwidth(&email)).await;
    assert_eq!(
        (dup.status, dup.error()),
        (409, "EMAIL_EXISTS"),
        "{:#}",
        dup.body
    );

    let local = unique_email("idn").split('@').next().unwrap().to_string();
    let a_label = format!("{local}@xn--bcher-kva.example");
    let mut browser = server.browser();
    let opened = browser.sign_up(&format!("{local}@BÜCHER.example")).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = &opened.body["session"]["signup_attempts"][0];
    assert_eq!(attempt["email"], a_label.as_str(), "stored as the A-label");
    let code = server.code_for(&a_label).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    for spelling in [
        a_label.to_uppercase(),
        fullwidth(&format!("{local}@bücher.example")),
    ] {
        let dup = server.browser().sign_up(&spelling).await;
        assert_eq!(
            (dup.status, dup.error()),
            (409, "EMAIL_EXISTS"),
            "{spelling}"
        );
    }

    for bad in [
        format!("\"{local}\"@example.com"),
        format!("{local}@[127.0.0.1]"),
        format!("{local}@1.2.3.4"),
    ] {
        let refused = server.browser().sign_up(&bad).await;
        assert_eq!(
            (
                refused.status,
                refused.error(),
                &refused.body["errors"][0]["field"]
            ),
            (400, "INVALID_FIELD", &json!("email")),
            "{bad}"
        );
    }
}
both_backends!(every_spelling_of_one_mailbox_is_one_account);
/// Issue 12, item 7: every request reads all of a session's attempts, so a session keeps at most
/// `ATTEMPTS_PER_SESSION` of each kind. Each new sign-up still opens (the oldest one goes).
async fn fifty_sign_ups_in_one_session_keep_at_most_the_cap(server: Server) {
    const CAP: usize = sesame::domain::ATTEMPTS_PER_SESSION;
    let mut browser = server.browser();
    let big = "x".repeat(1000);
    let mut emails = Vec::new();
    for i in 0..50 {
        let email = unique_email(&format!("many{i}"));
        let opened = browser
            .post(
                "/auth/signup",
                json!({"email": email, "password": "analytical engine",
                       "metadata": {"a": big, "b": big, "c": big, "d": big}}),
            )
            .await;
        assert_eq!(opened.status, 200, "sign-up {i}: {:#}", opened.body);
        let shown = opened.body["data"]["signup_attempts"].as_array().unwrap();
        assert!(shown.len() <= CAP, "sign-up {i} shows {}", shown.len());
        emails.push(email);
    }
    let read = browser.get("/session").await;
    assert_eq!(read.status, 200);
    let mut kept: Vec<String> = read.body["data"]["signup_attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap().to_string())
        .collect();
    kept.sort();
    let mut newest = emails[50 - CAP..].to_vec();
    newest.sort();
    assert_eq!(kept, newest, "the newest {CAP} sign-ups are kept");
    // What the store holds, not merely what is shown: the evicted attempts' items are gone.
    let id = read.body["data"]["id"].as_str().unwrap();
    let stored = server.app.store.load_session(id).await.unwrap().unwrap();
    assert_eq!(stored.signup_attempts.len(), CAP);
}
both_backends!(fifty_sign_ups_in_one_session_keep_at_most_the_cap);
