//! Sign-in rules that need a user the public API cannot make: a blocked one.

mod support;

use sesame::domain::model::*;
use sesame::domain::ports::store::{
    AttemptCheck, CodeProof, Grant, GrantSession, NewAttempt, SessionRotation, SessionWrite,
    SignupCompletion,
};
use sesame::domain::signin::{self, SigninInput};
use sesame::domain::{AuthError, Caller, password};
use sesame::ids::{new_id, prefix};
use support::harness;

/// Stores a user directly, as an import would (seed 003's `blocked`).
async fn stored_user(h: &support::Harness, email: &str, blocked: bool) -> User {
    let now = h.app.clock.now();
    let session = Session {
        id: new_id(prefix::SESSION),
        secret_hash: "00".repeat(32),
        active_signin_id: None,
        created_at: now,
        last_active_at: now,
        expires_at: now + time::Duration::days(1),
        attempts: Vec::new(),
    };
    let mut attempt = support_attempt(&session.id, email, now);
    attempt.codes.code.as_mut().unwrap().hash = "h".into();
    h.app
        .store
        .open_attempt(
            &SessionWrite::Create(session.clone()),
            NewAttempt::Signup(&attempt),
            None,
        )
        .await
        .unwrap();
    let user = User {
        id: new_id(prefix::USER),
        first_name: None,
        last_name: None,
        username: None,
        email: Some(email.to_string()),
        phone_number: None,
        image_url: None,
        two_factor_enabled: false,
        email_verified: true,
        phone_verified: false,
        metadata: Default::default(),
        profile: Default::default(),
        password_hash: Some(password::hash("analytical engine").unwrap()),
        blocked,
        login_attempts: 0,
        signup_agreements_accepted_at: None,
        identities: vec![],
        created_at: now,
        updated_at: now,
    };
    let signin = Signin {
        id: new_id(prefix::SIGNIN),
        session_id: session.id.clone(),
        user_id: user.id.clone(),
        created_at: now,
        expires_at: now,
        last_active_at: now,
    };
    let c = SignupCompletion {
        attempt_session_id: session.id.clone(),
        check: AttemptCheck::Code(CodeProof {
            attempt_id: attempt.id.clone(),
            code_hash: "h".into(),
            max_wrong_codes: 5,
        }),
        claims: Claim::for_user(&user),
        user: user.clone(),
        grant: Grant {
            session: GrantSession::Rotate(SessionRotation {
                session_id: session.id.clone(),
                proven_secret_hash: session.secret_hash.clone(),
                secret_hash: "11".repeat(32),
                active_signin_id: signin.id.clone(),
                last_active_at: now,
                expires_at: now,
            }),
            signin,
            removed_signin_ids: vec![],
        },
    };
    h.app.store.finish_signup(&c).await.unwrap();
    user
}

fn support_attempt(session_id: &str, email: &str, now: Timestamp) -> SignupAttempt {
    SignupAttempt {
        id: new_id(prefix::SIGNUP_ATTEMPT),
        session_id: session_id.to_string(),
        method: SignupMethod::EmailOtp,
        email: Some(email.to_string()),
        phone_number: None,
        username: None,
        first_name: None,
        last_name: None,
        password_hash: None,
        metadata: Default::default(),
        profile: Default::default(),
        remaining_steps: vec![Step::VerifyEmailOtp],
        email_verified: false,
        phone_verified: false,
        missing_fields: vec![],
        image_url: None,
        identity: None,
        signup_agreements_accepted_at: None,
        codes: CodeState {
            code: Some(PendingCode {
                channel: Channel::Email,
                hash: String::new(),
                expires_at: now,
                sent_at: None,
            }),
            sends: 1,
            wrong_codes: 0,
        },
        completed: false,
        user_id: None,
        created_at: now,
        expires_at: now + time::Duration::hours(1),
    }
}

fn by_password(identifier: &str, pw: &str) -> SigninInput {
    SigninInput {
        identifier: Some(identifier.into()),
        password: Some(pw.into()),
        strategy: None,
    }
}

#[tokio::test]
async fn when_a_blocked_user_signs_in_only_the_right_password_reveals_the_block() {
    let h = harness(&[]);
    stored_user(&h, "blocked@example.com", true).await;
    let mut caller = Caller::anonymous("198.51.100.1");
    let wrong = signin::start(
        &h.app,
        &mut caller,
        by_password("blocked@example.com", "not the password"),
    )
    .await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidCredentials)),
        "{wrong:?}"
    );
    let right = signin::start(
        &h.app,
        &mut caller,
        by_password("blocked@example.com", "analytical engine"),
    )
    .await;
    assert!(matches!(right, Err(AuthError::UserBlocked)), "{right:?}");
    assert!(caller.session.is_none(), "no session for a blocked user");
}

#[tokio::test]
async fn when_a_blocked_user_uses_a_code_the_verification_is_refused() {
    let h = harness(&[]);
    stored_user(&h, "blocked@example.com", true).await;
    let mut caller = Caller::anonymous("198.51.100.1");
    let input = SigninInput {
        identifier: Some("blocked@example.com".into()),
        password: None,
        strategy: Some(SigninMethod::EmailOtp),
    };
    signin::start(&h.app, &mut caller, input).await.unwrap();
    let attempt = caller.session.as_ref().unwrap().signin_attempts[0]
        .id
        .clone();
    let code = h.notifier.last_code("blocked@example.com");
    let target = sesame::domain::verification::Target::Signin(attempt);
    let result = sesame::domain::verification::attempt(&h.app, &mut caller, &target, &code).await;
    assert!(matches!(result, Err(AuthError::UserBlocked)), "{result:?}");
    assert!(caller.session.as_ref().unwrap().active_signin().is_none());
}

#[tokio::test]
async fn when_the_password_is_right_the_reserved_try_is_given_back() {
    let h = harness(&[]);
    stored_user(&h, "ada@example.com", false).await;
    // Twenty right passwords in a row never reach the limit of ten failures.
    for _ in 0..20 {
        let mut caller = Caller::anonymous("198.51.100.1");
        signin::start(
            &h.app,
            &mut caller,
            by_password("ada@example.com", "analytical engine"),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn when_the_failure_window_passes_sign_in_opens_again() {
    let h = harness(&[]);
    stored_user(&h, "ada@example.com", false).await;
    for _ in 0..10 {
        let mut caller = Caller::anonymous("198.51.100.1");
        let r = signin::start(
            &h.app,
            &mut caller,
            by_password("ada@example.com", "nope nope nope"),
        )
        .await;
        assert!(matches!(r, Err(AuthError::InvalidCredentials)));
    }
    let mut caller = Caller::anonymous("198.51.100.1");
    let locked = signin::start(
        &h.app,
        &mut caller,
        by_password("ada@example.com", "analytical engine"),
    )
    .await;
    assert!(matches!(locked, Err(AuthError::RateLimited { .. })));
    h.clock.advance(time::Duration::minutes(15));
    signin::start(
        &h.app,
        &mut caller,
        by_password("ada@example.com", "analytical engine"),
    )
    .await
    .unwrap();
}
