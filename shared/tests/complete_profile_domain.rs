//! Partial sign-up and profile completion (issue 4, items 4 and 5) at the domain level.

mod support;

use sesame::domain::complete_profile::{self, ProfileInput};
use sesame::domain::model::{Claim, CodeAttempt, Step};
use sesame::domain::signin::{self, SigninInput};
use sesame::domain::signup::{self, SignupInput};
use sesame::domain::{AuthError, Caller, ErrorCode};
use support::harness;

/// Signs up with only an email and proves it; returns the caller, now at complete_profile.
async fn at_profile(h: &support::Harness, email: &str) -> Caller {
    let mut caller = Caller::anonymous("198.51.100.1");
    let only_email = SignupInput {
        email: Some(email.into()),
        ..SignupInput::default()
    };
    signup::start(&h.app, &mut caller, only_email)
        .await
        .unwrap();
    let attempt = caller.session.as_ref().unwrap().signup_attempts[0].clone();
    assert_eq!(
        attempt.remaining_steps,
        vec![Step::VerifyEmailOtp, Step::CompleteProfile]
    );
    h.verify(&mut caller, &attempt.id, &h.notifier.last_code(email))
        .await
        .unwrap();
    let attempt = &caller.session.as_ref().unwrap().signup_attempts[0];
    assert_eq!(attempt.remaining_steps, vec![Step::CompleteProfile]);
    assert!(attempt.email_verified && !attempt.completed);
    assert!(
        caller.session.as_ref().unwrap().active_signin().is_none(),
        "no user yet"
    );
    caller
}

fn fields(password: Option<&str>, first: Option<&str>, last: Option<&str>) -> ProfileInput {
    ProfileInput {
        password: password.map(str::to_string),
        first_name: first.map(str::to_string),
        last_name: last.map(str::to_string),
        ..ProfileInput::default()
    }
}

fn field_errors(e: AuthError) -> Vec<(ErrorCode, String)> {
    match e {
        AuthError::Invalid(list) => list
            .into_iter()
            .map(|f| (f.code, f.field.unwrap_or_default()))
            .collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[tokio::test]
async fn when_an_email_only_sign_up_is_completed_the_user_exists_and_signs_in_by_password() {
    let h = harness(&[("REQUIRED_FIELDS", "password,first_name,last_name")]);
    let mut caller = at_profile(&h, "ada@example.com").await;
    let attempt = &caller.session.as_ref().unwrap().signup_attempts[0];
    let mut missing = attempt.missing_fields.clone();
    missing.sort();
    assert_eq!(missing, ["first_name", "last_name", "password"]);

    complete_profile::complete(
        &h.app,
        &mut caller,
        fields(Some("analytical engine"), Some("Ada"), Some("Lovelace")),
    )
    .await
    .unwrap();
    let state = caller.session.as_ref().unwrap();
    let done = &state.signup_attempts[0];
    assert!(done.completed && done.missing_fields.is_empty() && done.remaining_steps.is_empty());
    let user = h
        .app
        .store
        .get_user(&state.active_signin().unwrap().user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.first_name.as_deref(), user.last_name.as_deref()),
        (Some("Ada"), Some("Lovelace"))
    );
    assert!(user.email_verified);

    let mut later = Caller::anonymous("198.51.100.1");
    let by_password = SigninInput {
        identifier: Some("ada@example.com".into()),
        password: Some("analytical engine".into()),
        strategy: None,
    };
    signin::start(&h.app, &mut later, by_password)
        .await
        .unwrap();
    assert_eq!(
        later.session.unwrap().active_signin().unwrap().user_id,
        user.id
    );
}

#[tokio::test]
async fn when_fields_are_still_missing_each_is_named_and_nothing_is_written() {
    let h = harness(&[("REQUIRED_FIELDS", "password,first_name,last_name")]);
    let mut caller = at_profile(&h, "ada@example.com").await;
    let err = complete_profile::complete(&h.app, &mut caller, fields(None, Some("Ada"), None))
        .await
        .unwrap_err();
    let mut got = field_errors(err);
    got.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        got,
        vec![
            (ErrorCode::RequiredField, "last_name".into()),
            (ErrorCode::RequiredField, "password".into())
        ]
    );
    let stored = h
        .app
        .store
        .load_session(&caller.session.as_ref().unwrap().session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.signup_attempts[0].current_step(),
        Some(Step::CompleteProfile),
        "still waiting"
    );
    assert!(
        stored.signup_attempts[0].first_name.is_none(),
        "nothing half-written"
    );
}

#[tokio::test]
async fn when_a_field_the_attempt_has_is_sent_again_it_is_refused() {
    let h = harness(&[]);
    let mut caller = at_profile(&h, "ada@example.com").await;
    let again = ProfileInput {
        email: Some("other@example.com".into()),
        password: Some("analytical engine".into()),
        ..ProfileInput::default()
    };
    let got = field_errors(
        complete_profile::complete(&h.app, &mut caller, again)
            .await
            .unwrap_err(),
    );
    assert_eq!(got, vec![(ErrorCode::InvalidField, "email".into())]);
}

#[tokio::test]
async fn when_there_is_no_pending_attempt_it_is_not_found() {
    let h = harness(&[]);
    let mut nobody = Caller::anonymous("198.51.100.1");
    let r = complete_profile::complete(
        &h.app,
        &mut nobody,
        fields(Some("analytical engine"), None, None),
    )
    .await;
    assert!(matches!(r, Err(AuthError::AttemptNotFound)), "{r:?}");

    // An attempt still at its code is not waiting for a profile.
    let mut early = Caller::anonymous("198.51.100.1");
    let only_email = SignupInput {
        email: Some("early@example.com".into()),
        ..SignupInput::default()
    };
    signup::start(&h.app, &mut early, only_email).await.unwrap();
    let r = complete_profile::complete(
        &h.app,
        &mut early,
        fields(Some("analytical engine"), None, None),
    )
    .await;
    assert!(matches!(r, Err(AuthError::AttemptNotFound)), "{r:?}");
}

#[tokio::test]
async fn when_a_phone_number_is_added_it_is_verified_before_the_user_is_created() {
    let h = harness(&[("REQUIRED_FIELDS", "password,phone_number")]);
    let mut caller = at_profile(&h, "ada@example.com").await;
    let with_phone = ProfileInput {
        phone_number: Some("+44 20 7946 0018".into()),
        password: Some("analytical engine".into()),
        ..ProfileInput::default()
    };
    complete_profile::complete(&h.app, &mut caller, with_phone)
        .await
        .unwrap();
    let attempt = caller.session.as_ref().unwrap().signup_attempts[0].clone();
    assert_eq!(attempt.remaining_steps, vec![Step::VerifyPhoneOtp]);
    assert!(caller.session.as_ref().unwrap().active_signin().is_none());

    h.verify(
        &mut caller,
        &attempt.id,
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
    assert!(user.email_verified && user.phone_verified);
    assert!(user.password_hash.is_some());
    let claim = Claim::Phone("+442079460018".into());
    assert_eq!(
        h.app.store.claim_owner(&claim).await.unwrap(),
        Some(user_id)
    );
}

#[tokio::test]
async fn when_nothing_is_required_an_email_code_alone_creates_a_passwordless_user() {
    let h = harness(&[("REQUIRED_FIELDS", "none")]);
    let (mut caller, attempt) = {
        let mut caller = Caller::anonymous("198.51.100.1");
        let only_email = SignupInput {
            email: Some("ada@example.com".into()),
            ..SignupInput::default()
        };
        signup::start(&h.app, &mut caller, only_email)
            .await
            .unwrap();
        let id = caller.session.as_ref().unwrap().signup_attempts[0]
            .id
            .clone();
        (caller, id)
    };
    h.verify(
        &mut caller,
        &attempt,
        &h.notifier.last_code("ada@example.com"),
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
    assert!(
        h.app
            .store
            .get_user(&user_id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .is_none()
    );
}
