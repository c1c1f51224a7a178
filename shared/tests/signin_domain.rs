//! Sign-in rules that need a user the public API cannot make (a blocked one), and the failure
//! floor on tokio's paused clock.

mod support;

use sesame::domain::import::{self, ImportInput};
use sesame::domain::model::*;
use sesame::domain::password::legacy::HashFn;
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
        second_factor: Default::default(),
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
        verified_at: now,
        user_agent: None,
        ip: None,
    };
    let c = SignupCompletion {
        attempt_session_id: session.id.clone(),
        check: AttemptCheck::Code(CodeProof {
            attempt_id: attempt.id.clone(),
            code_hash: "h".into(),
            max_wrong_codes: 5,
            gate: None,
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
            removed_signins: vec![],
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
                delivery_failed: false,
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

/// Imports `email` with `hash` (seed 003's `hash_fn`), as `POST /admin/users` does.
async fn imported_user(h: &support::Harness, email: &str, hash_fn: HashFn, hash: String) {
    let input = ImportInput {
        email: Some(email.into()),
        email_verified: Some(true),
        hash_fn: Some(hash_fn),
        password: Some(hash),
        ..ImportInput::default()
    };
    import::import_user(&h.app, input).await.unwrap();
}

/// How long a wrong-password sign-in for `identifier` took on tokio's (paused) clock.
async fn failed_after(h: &support::Harness, identifier: &str, pw: &str) -> std::time::Duration {
    let began = tokio::time::Instant::now();
    let mut caller = Caller::anonymous("198.51.100.1");
    let r = signin::start(&h.app, &mut caller, by_password(identifier, pw)).await;
    assert!(matches!(r, Err(AuthError::InvalidCredentials)), "{r:?}");
    began.elapsed()
}

/// On tokio's paused clock the hashing takes no time, so what elapses is the floor alone: an
/// imported user, a Sesame user and an unknown identifier all answer at it, never before.
#[tokio::test(start_paused = true)]
async fn when_a_password_is_wrong_every_kind_of_account_answers_no_sooner_than_the_floor() {
    let h = harness(&[("PASSWORD_FAILURE_FLOOR_MS", "3000")]);
    let floor = std::time::Duration::from_secs(3);
    stored_user(&h, "own@example.com", false).await;
    let bcrypt = bcrypt::hash("analytical engine", 4).unwrap();
    imported_user(&h, "bcrypt@example.com", HashFn::Bcrypt, bcrypt).await;
    for identifier in [
        "own@example.com",
        "bcrypt@example.com",
        "nobody@example.com",
    ] {
        let took = failed_after(&h, identifier, "not the password").await;
        assert!(took >= floor, "{identifier}: {took:?}");
        // NFKC changes full-width letters: an imported hash is tried twice, so every account
        // waits twice the floor.
        let took = failed_after(&h, identifier, "ｎｏｔ ｔｈｅ ｐａｓｓｗｏｒｄ").await;
        assert!(took >= 2 * floor, "{identifier}, full width: {took:?}");
    }
    // A right password is not held back.
    let began = tokio::time::Instant::now();
    let mut caller = Caller::anonymous("198.51.100.1");
    let right = by_password("bcrypt@example.com", "analytical engine");
    signin::start(&h.app, &mut caller, right).await.unwrap();
    assert!(began.elapsed() < floor, "{:?}", began.elapsed());
}
