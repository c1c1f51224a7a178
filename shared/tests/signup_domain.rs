//! Sign-up, resend and verification rules at the domain level, with a manual clock.

mod support;

use sesame::domain::model::Channel;
use sesame::domain::signup::{self, SignupInput};
use sesame::domain::{AuthError, Caller, ErrorCode, session};
use support::{harness, input};
use time::Duration;

fn codes(e: &AuthError) -> Vec<(ErrorCode, Option<String>)> {
    match e {
        AuthError::Invalid(list) | AuthError::Taken(list) => {
            list.iter().map(|f| (f.code, f.field.clone())).collect()
        }
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[tokio::test]
async fn when_the_right_code_is_given_the_user_exists_and_is_signed_in_with_a_new_secret() {
    let h = harness(&[]);
    let (mut caller, attempt) = h.sign_up("ada@example.com").await;
    let first_secret = caller.issued.clone().unwrap().secret;
    let code = h.notifier.last_code("ada@example.com");

    h.verify(&mut caller, &attempt, &code).await.unwrap();

    let state = caller.session.as_ref().unwrap();
    let signin = state.active_signin().expect("signed in");
    let user = h
        .app
        .store
        .get_user(&signin.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert!(user.email_verified && !user.phone_verified);
    assert!(user.password_hash.unwrap().starts_with("$argon2id$"));
    assert_ne!(
        caller.issued.unwrap().secret,
        first_secret,
        "secret rotated"
    );
    let stored = h
        .app
        .store
        .load_session(&state.session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.session.secret_hash, state.session.secret_hash);
}

#[tokio::test]
async fn when_the_code_is_older_than_ten_minutes_it_is_expired_and_a_resend_works() {
    let h = harness(&[]);
    let (mut caller, attempt) = h.sign_up("ada@example.com").await;
    let code = h.notifier.last_code("ada@example.com");
    h.clock.advance(Duration::minutes(10));
    assert!(matches!(
        h.verify(&mut caller, &attempt, &code).await,
        Err(AuthError::CodeExpired)
    ));

    h.resend(&mut caller, &attempt).await.unwrap();
    let fresh = h.notifier.last_code("ada@example.com");
    h.verify(&mut caller, &attempt, &fresh).await.unwrap();
}

#[tokio::test]
async fn when_a_code_is_resent_the_old_one_stops_working() {
    let h = harness(&[]);
    let (mut caller, attempt) = h.sign_up("ada@example.com").await;
    let old = h.notifier.last_code("ada@example.com");
    h.clock.advance(Duration::seconds(30));
    h.resend(&mut caller, &attempt).await.unwrap();
    let new = h.notifier.last_code("ada@example.com");
    if old != new {
        assert!(matches!(
            h.verify(&mut caller, &attempt, &old).await,
            Err(AuthError::InvalidCode)
        ));
    }
    h.verify(&mut caller, &attempt, &new).await.unwrap();
}

#[tokio::test]
async fn when_resending_within_30_seconds_it_is_rate_limited_with_the_wait() {
    let h = harness(&[]);
    let (mut caller, attempt) = h.sign_up("ada@example.com").await;
    h.clock.advance(Duration::seconds(12));
    match h.resend(&mut caller, &attempt).await {
        Err(AuthError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 18),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    h.clock.advance(Duration::seconds(18));
    h.resend(&mut caller, &attempt).await.unwrap();
}

#[tokio::test]
async fn when_five_codes_were_sent_a_sixth_is_refused() {
    let h = harness(&[]);
    let (mut caller, attempt) = h.sign_up("ada@example.com").await;
    for _ in 0..4 {
        h.clock.advance(Duration::seconds(31));
        h.resend(&mut caller, &attempt).await.unwrap();
    }
    h.clock.advance(Duration::seconds(31));
    assert!(matches!(
        h.resend(&mut caller, &attempt).await,
        Err(AuthError::RateLimited { .. })
    ));
    assert_eq!(h.notifier.sent_to("ada@example.com").len(), 5);
}

#[tokio::test]
async fn when_a_destination_reached_its_hourly_cap_no_more_codes_go_to_it() {
    let h = harness(&[("LIMIT_SENDS_PER_DESTINATION_PER_HOUR", "2")]);
    let (mut caller, attempt) = h.sign_up("ada@example.com").await;
    h.clock.advance(Duration::seconds(31));
    h.resend(&mut caller, &attempt).await.unwrap();
    h.clock.advance(Duration::seconds(31));
    assert!(matches!(
        h.resend(&mut caller, &attempt).await,
        Err(AuthError::RateLimited { .. })
    ));
    // A second sign-up to the same address is capped too, from another session.
    let mut other = Caller::anonymous("203.0.113.9");
    let err = signup::start(&h.app, &mut other, input("ADA@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::RateLimited { .. }));
    assert_eq!(h.notifier.sent_to("ada@example.com").len(), 2);
    assert!(other.session.is_none(), "nothing was written");
}

#[tokio::test]
async fn when_one_address_signs_up_too_often_it_is_rate_limited_until_the_window_ends() {
    let h = harness(&[("LIMIT_SIGNUPS_PER_IP_PER_HOUR", "2")]);
    h.sign_up("a@example.com").await;
    h.sign_up("b@example.com").await;
    let mut caller = Caller::anonymous("198.51.100.1");
    match signup::start(&h.app, &mut caller, input("c@example.com")).await {
        // The clock stands at 09:00:00, so the window ends in an hour.
        Err(AuthError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 3600),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    let mut elsewhere = Caller::anonymous("198.51.100.2");
    signup::start(&h.app, &mut elsewhere, input("c@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn when_delivery_fails_the_attempt_survives_and_a_resend_at_once_works() {
    let h = harness(&[]);
    h.notifier.fail(true);
    let mut caller = Caller::anonymous("198.51.100.1");
    let err = signup::start(&h.app, &mut caller, input("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::DeliveryFailed(_)));
    let attempt = caller
        .session
        .as_ref()
        .expect("session kept")
        .signup_attempts[0]
        .id
        .clone();
    assert!(
        caller.issued.is_some(),
        "the cookie still goes out so the client can resend"
    );

    h.notifier.fail(false);
    h.resend(&mut caller, &attempt)
        .await
        .expect("no cooldown after a failed send");
    let code = h.notifier.last_code("ada@example.com");
    h.verify(&mut caller, &attempt, &code).await.unwrap();
}

#[tokio::test]
async fn when_five_wrong_codes_are_given_the_attempt_dies_and_the_right_code_fails() {
    let h = harness(&[]);
    let (mut caller, attempt) = h.sign_up("ada@example.com").await;
    let right = h.notifier.last_code("ada@example.com");
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..4 {
        assert!(matches!(
            h.verify(&mut caller, &attempt, wrong).await,
            Err(AuthError::InvalidCode)
        ));
    }
    assert!(matches!(
        h.verify(&mut caller, &attempt, wrong).await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    // The caller's copy is stale; a fresh caller reads the stored count.
    let mut fresh = session::resolve(&h.app, None, "198.51.100.1")
        .await
        .unwrap();
    fresh.session = h
        .app
        .store
        .load_session(&caller.session.as_ref().unwrap().session.id)
        .await
        .unwrap();
    assert!(matches!(
        h.verify(&mut fresh, &attempt, &right).await,
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert!(matches!(
        h.resend(&mut fresh, &attempt).await,
        Err(AuthError::TooManyAttempts { .. })
    ));
}

#[tokio::test]
async fn when_fields_are_wrong_every_problem_is_reported_at_once() {
    let h = harness(&[("REQUIRED_FIELDS", "first_name")]);
    let mut caller = Caller::anonymous("198.51.100.1");
    let bad = SignupInput {
        email: Some("not-an-email".into()),
        phone_number: Some("12345".into()),
        username: Some("_x".into()),
        password: Some("password1".into()),
        ..SignupInput::default()
    };
    let err = signup::start(&h.app, &mut caller, bad).await.unwrap_err();
    let mut got = codes(&err);
    got.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        got,
        vec![
            (ErrorCode::InvalidField, Some("email".into())),
            (ErrorCode::WeakPassword, Some("password".into())),
            (ErrorCode::InvalidField, Some("phone_number".into())),
            (ErrorCode::InvalidField, Some("username".into())),
        ]
    );
    assert!(caller.session.is_none(), "nothing was written");
}

#[tokio::test]
async fn when_email_phone_and_username_are_taken_all_three_conflicts_are_reported() {
    let h = harness(&[]);
    // One user proves the email (and takes the username), another proves the phone.
    let mut first = Caller::anonymous("198.51.100.1");
    let by_email = SignupInput {
        username: Some("Countess".into()),
        ..input("ada@example.com")
    };
    signup::start(&h.app, &mut first, by_email).await.unwrap();
    let attempt = first.session.as_ref().unwrap().signup_attempts[0]
        .id
        .clone();
    h.verify(
        &mut first,
        &attempt,
        &h.notifier.last_code("ada@example.com"),
    )
    .await
    .unwrap();
    let mut second = Caller::anonymous("198.51.100.1");
    let by_phone = SignupInput {
        phone_number: Some("+14155550123".into()),
        password: Some("analytical engine".into()),
        strategy: Some(sesame::domain::model::SignupMethod::PhoneOtp),
        ..SignupInput::default()
    };
    signup::start(&h.app, &mut second, by_phone).await.unwrap();
    let attempt = second.session.as_ref().unwrap().signup_attempts[0]
        .id
        .clone();
    h.verify(&mut second, &attempt, &h.notifier.last_code("+14155550123"))
        .await
        .unwrap();

    let mut third = Caller::anonymous("198.51.100.1");
    let all = SignupInput {
        phone_number: Some("+1 415 555 0123".into()),
        username: Some("countess".into()),
        ..input("ADA@example.com")
    };
    let err = signup::start(&h.app, &mut third, all).await.unwrap_err();
    let mut got: Vec<ErrorCode> = codes(&err).into_iter().map(|(c, _)| c).collect();
    got.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        got,
        vec![
            ErrorCode::EmailExists,
            ErrorCode::PhoneNumberExists,
            ErrorCode::UsernameExists
        ]
    );
}

#[tokio::test]
async fn when_a_contact_is_unproven_it_claims_nothing_and_its_owner_can_sign_up() {
    let h = harness(&[]);
    // Someone signs up with their own phone and another person's email, which they cannot prove.
    let mut squatter = Caller::anonymous("198.51.100.1");
    let squat = SignupInput {
        phone_number: Some("+14155550199".into()),
        email: Some("victim@example.com".into()),
        password: Some("squatter password".into()),
        strategy: Some(sesame::domain::model::SignupMethod::PhoneOtp),
        ..SignupInput::default()
    };
    signup::start(&h.app, &mut squatter, squat).await.unwrap();
    let attempt = squatter.session.as_ref().unwrap().signup_attempts[0]
        .id
        .clone();
    h.verify(
        &mut squatter,
        &attempt,
        &h.notifier.last_code("+14155550199"),
    )
    .await
    .unwrap();

    // The email's owner can still sign up with it, and the code-by-email sign-in finds them only.
    let (mut owner, attempt) = h.sign_up("victim@example.com").await;
    h.verify(
        &mut owner,
        &attempt,
        &h.notifier.last_code("victim@example.com"),
    )
    .await
    .unwrap();
    let owner_id = owner
        .session
        .as_ref()
        .unwrap()
        .active_signin()
        .unwrap()
        .user_id
        .clone();
    let claim = sesame::domain::model::Claim::Email("victim@example.com".into());
    assert_eq!(
        h.app.store.claim_owner(&claim).await.unwrap(),
        Some(owner_id)
    );

    // The squatter's password with the email finds nobody.
    let mut caller = Caller::anonymous("198.51.100.1");
    let by_email = sesame::domain::signin::SigninInput {
        identifier: Some("victim@example.com".into()),
        password: Some("squatter password".into()),
        strategy: None,
    };
    let result = sesame::domain::signin::start(&h.app, &mut caller, by_email).await;
    assert!(
        matches!(result, Err(AuthError::InvalidCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn when_signing_up_by_phone_the_code_goes_by_sms_and_the_phone_is_verified() {
    let h = harness(&[]);
    let mut caller = Caller::anonymous("198.51.100.1");
    let by_phone = SignupInput {
        phone_number: Some("+44 20 7946 0018".into()),
        password: Some("analytical engine".into()),
        strategy: Some(sesame::domain::model::SignupMethod::PhoneOtp),
        ..SignupInput::default()
    };
    signup::start(&h.app, &mut caller, by_phone).await.unwrap();
    let sent = h.notifier.sent_to("+442079460018");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, Channel::Sms);
    let attempt = caller.session.as_ref().unwrap().signup_attempts[0]
        .id
        .clone();
    h.verify(
        &mut caller,
        &attempt,
        &h.notifier.last_code("+442079460018"),
    )
    .await
    .unwrap();
    let user_id = caller
        .session
        .as_ref()
        .unwrap()
        .active_signin()
        .unwrap()
        .user_id
        .clone();
    let user = h.app.store.get_user(&user_id).await.unwrap().unwrap();
    assert!(user.phone_verified && !user.email_verified);
}

#[tokio::test]
async fn when_a_session_is_idle_past_its_limit_the_cookie_no_longer_resolves() {
    let h = harness(&[("SESSION_IDLE_DAYS", "7")]);
    let (caller, _) = h.sign_up("ada@example.com").await;
    let cookie = caller.issued.unwrap();
    let resolve = |h: &support::Harness| {
        let app = h.app.clone();
        let (id, secret) = (cookie.session_id.clone(), cookie.secret.clone());
        async move {
            session::resolve(&app, Some((&id, &secret)), "198.51.100.1")
                .await
                .unwrap()
        }
    };
    h.clock.advance(Duration::days(6));
    let mut alive = resolve(&h).await;
    assert!(alive.session.is_some());
    session::touch_if_stale(&h.app, &mut alive).await.unwrap();
    // Touched at day 6, so day 12 is still within 7 idle days; day 14 is not.
    h.clock.advance(Duration::days(6));
    assert!(resolve(&h).await.session.is_some());
    h.clock.advance(Duration::days(2));
    let gone = resolve(&h).await;
    assert!(gone.session.is_none() && gone.clear_credential);
}

#[tokio::test]
async fn when_a_cookie_has_the_wrong_secret_it_proves_nothing() {
    let h = harness(&[]);
    let (caller, _) = h.sign_up("ada@example.com").await;
    let id = caller.issued.unwrap().session_id;
    let forged = session::resolve(&h.app, Some((&id, "guessed")), "198.51.100.1")
        .await
        .unwrap();
    assert!(forged.session.is_none());
    // Left in place: it may be a request racing the sign-in that just replaced the secret.
    assert!(!forged.clear_credential);
}

#[tokio::test]
async fn when_a_session_is_read_within_the_touch_interval_nothing_is_written() {
    let h = harness(&[]);
    let (caller, _) = h.sign_up("ada@example.com").await;
    let cookie = caller.issued.unwrap();
    let before = h
        .app
        .store
        .load_session(&cookie.session_id)
        .await
        .unwrap()
        .unwrap();
    h.clock.advance(Duration::minutes(59));
    let mut reader = session::resolve(&h.app, Some((&cookie.session_id, &cookie.secret)), "x")
        .await
        .unwrap();
    session::touch_if_stale(&h.app, &mut reader).await.unwrap();
    let after = h
        .app
        .store
        .load_session(&cookie.session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.session, after.session);
}
