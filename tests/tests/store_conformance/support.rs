//! The fixtures every capability file shares (through `use super::*;`): the types and
//! imports they need, a session, sign-up and sign-in attempts, completions, grants, and the
//! stored states they are checked against.

pub(crate) use futures_util::future::join_all;
pub(crate) use serde_json::Map;
pub(crate) use serde_json::json;
pub(crate) use sesame::domain::ATTEMPTS_PER_SESSION as CAP;
pub(crate) use sesame::domain::model::*;
pub(crate) use sesame::domain::ports::store::*;
pub(crate) use sesame::ids::{new_id, prefix};
pub(crate) use std::sync::Arc;
pub(crate) use time::Duration;
use time::macros::datetime;

/// In the future on purpose: the table has TTL on `expires_at`, and DynamoDB deletes items once
/// it has passed (DynamoDB Local within seconds), so expired fixtures would vanish mid-test.
pub(crate) const NOW: Timestamp = datetime!(2100-03-01 09:00:00 UTC);

pub(crate) fn session() -> Session {
    Session {
        id: new_id(prefix::SESSION),
        secret_hash: "ab".repeat(32),
        active_signin_id: None,
        created_at: NOW,
        last_active_at: NOW,
        expires_at: NOW + Duration::days(7),
        attempts: Vec::new(),
    }
}

pub(crate) fn attempt(session_id: &str, email: &str) -> SignupAttempt {
    let mut metadata = serde_json::Map::new();
    metadata.insert("plan".into(), json!("pro"));
    metadata.insert("seats".into(), json!(3));
    metadata.insert("trial".into(), json!(null));
    let mut profile = serde_json::Map::new();
    profile.insert("gender".into(), json!(-2));
    profile.insert(
        "addresses".into(),
        json!([{"id": "Home", "is_primary": true}]),
    );
    SignupAttempt {
        id: new_id(prefix::SIGNUP_ATTEMPT),
        session_id: session_id.to_string(),
        method: SignupMethod::EmailOtp,
        email: Some(email.to_string()),
        phone_number: None,
        username: Some(format!("u{}", &new_id("x")[2..12])),
        first_name: Some("Ada".into()),
        last_name: None,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        metadata,
        profile,
        remaining_steps: vec![Step::VerifyEmailOtp],
        email_verified: false,
        phone_verified: false,
        missing_fields: vec![],
        image_url: None,
        identity: None,
        signup_agreements_accepted_at: None,
        codes: CodeState {
            code: Some(code("hash-1")),
            sends: 1,
            wrong_codes: 0,
        },
        completed: false,
        user_id: None,
        created_at: NOW,
        expires_at: NOW + Duration::hours(1),
    }
}

pub(crate) fn code(hash: &str) -> PendingCode {
    PendingCode {
        channel: Channel::Email,
        hash: hash.to_string(),
        expires_at: NOW + Duration::minutes(10),
        sent_at: Some(NOW),
        delivery_failed: false,
    }
}

/// A stored session with one open attempt.
pub(crate) async fn opened(store: &dyn Store, email: &str) -> (Session, SignupAttempt) {
    let s = session();
    let a = attempt(&s.id, email);
    assert_eq!(
        store
            .open_attempt(
                &SessionWrite::Create(s.clone()),
                NewAttempt::Signup(&a),
                None
            )
            .await
            .unwrap(),
        Opened::Done
    );
    (s, a)
}

/// A write adding an attempt of `kind` to the stored session `session_id` at `at`, admitted into
/// the session's list as read now (empty when the session is gone), as the domain plans it.
pub(crate) async fn touch(
    store: &dyn Store,
    session_id: &str,
    kind: AttemptKind,
    at: Timestamp,
    expires_at: Timestamp,
) -> SessionWrite {
    let listed = store
        .load_session(session_id)
        .await
        .unwrap()
        .map(|s| s.session.attempts)
        .unwrap_or_default();
    SessionWrite::Touch {
        session_id: session_id.to_string(),
        last_active_at: at,
        expires_at,
        admission: Admission::new(&listed, kind, at),
    }
}

/// How a sign-up attempt joins the stored session `session_id` now.
pub(crate) async fn signup_admission(store: &dyn Store, session_id: &str) -> Admission {
    Admission::new(
        &load(store, session_id).await.session.attempts,
        AttemptKind::Signup,
        NOW,
    )
}

pub(crate) fn key<'a>(a: &'a SignupAttempt) -> AttemptKey<'a> {
    AttemptKey {
        session_id: &a.session_id,
        attempt_id: &a.id,
        kind: AttemptKind::Signup,
    }
}

pub(crate) fn completion(s: &Session, a: &SignupAttempt, code_hash: &str) -> SignupCompletion {
    let user = User {
        id: new_id(prefix::USER),
        first_name: a.first_name.clone(),
        last_name: None,
        username: a.username.clone(),
        email: a.email.clone(),
        phone_number: None,
        image_url: None,
        two_factor_enabled: false,
        email_verified: true,
        phone_verified: false,
        metadata: a.metadata.clone(),
        profile: a.profile.clone(),
        password_hash: a.password_hash.clone(),
        blocked: false,
        login_attempts: 0,
        signup_agreements_accepted_at: None,
        identities: vec![],
        second_factor: Default::default(),
        created_at: NOW,
        updated_at: NOW,
    };
    let signin = Signin {
        id: new_id(prefix::SIGNIN),
        session_id: s.id.clone(),
        user_id: user.id.clone(),
        created_at: NOW,
        expires_at: NOW + Duration::days(30),
        last_active_at: NOW,
        verified_at: NOW,
        user_agent: Some("conformance".into()),
        ip: Some("192.0.2.1".into()),
    };
    SignupCompletion {
        attempt_session_id: s.id.clone(),
        check: AttemptCheck::Code(proof(&a.id, code_hash)),
        claims: Claim::for_user(&user),
        user,
        grant: rotate(s, signin),
    }
}

pub(crate) fn proof(attempt_id: &str, code_hash: &str) -> CodeProof {
    CodeProof {
        attempt_id: attempt_id.to_string(),
        code_hash: code_hash.to_string(),
        max_wrong_codes: 5,
        gate: None,
    }
}

pub(crate) fn rotate(s: &Session, signin: Signin) -> Grant {
    Grant {
        session: GrantSession::Rotate(SessionRotation {
            session_id: s.id.clone(),
            proven_secret_hash: s.secret_hash.clone(),
            secret_hash: ROTATED.repeat(32),
            active_signin_id: signin.id.clone(),
            last_active_at: NOW + Duration::minutes(1),
            expires_at: NOW + Duration::days(7),
        }),
        signin,
        removed_signins: vec![],
    }
}

/// What every test rotation sets the secret hash to ("cd" x 32).
pub(crate) const ROTATED: &str = "cd";

/// The grant, for a session whose secret an earlier test rotation already replaced.
pub(crate) fn after_rotation(mut grant: Grant) -> Grant {
    if let GrantSession::Rotate(r) = &mut grant.session {
        r.proven_secret_hash = ROTATED.repeat(32);
    }
    grant
}

pub(crate) fn rotation(c: &SignupCompletion) -> &SessionRotation {
    match &c.grant.session {
        GrantSession::Rotate(r) => r,
        GrantSession::Create(_) => unreachable!("sign-up completions rotate"),
    }
}

pub(crate) async fn load(store: &dyn Store, id: &str) -> SessionState {
    store
        .load_session(id)
        .await
        .unwrap()
        .expect("session exists")
}

pub(crate) fn email() -> String {
    sesame_e2e::unique_email("conf")
}

/// A completed sign-up: a user with claims and a signin in a session.
pub(crate) async fn signed_up(store: &dyn Store) -> (Session, SignupCompletion) {
    let (s, a) = opened(store, &email()).await;
    let c = completion(&s, &a, "hash-1");
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    (s, c)
}

pub(crate) fn signin_for(session_id: &str, user_id: &str) -> Signin {
    Signin {
        id: new_id(prefix::SIGNIN),
        session_id: session_id.to_string(),
        user_id: user_id.to_string(),
        created_at: NOW,
        expires_at: NOW + Duration::days(30),
        last_active_at: NOW,
        verified_at: NOW,
        user_agent: None,
        ip: None,
    }
}

/// A code sign-in attempt of `user_id`, stored in the existing session `s`.
pub(crate) async fn signin_opened(store: &dyn Store, s: &Session, user_id: &str) -> SigninAttempt {
    let attempt = signin_attempt(&s.id, user_id);
    let touch = touch(
        store,
        &s.id,
        AttemptKind::Signin,
        NOW,
        NOW + Duration::days(7),
    )
    .await;
    store
        .open_attempt(&touch, NewAttempt::Signin(&attempt), None)
        .await
        .unwrap();
    attempt
}

pub(crate) fn signin_attempt(session_id: &str, user_id: &str) -> SigninAttempt {
    SigninAttempt {
        id: new_id(prefix::SIGNIN_ATTEMPT),
        session_id: session_id.to_string(),
        method: SigninMethod::EmailOtp,
        identifier: "someone@example.com".into(),
        user_id: Some(user_id.to_string()),
        destination: Some("someone@example.com".into()),
        remaining_steps: vec![Step::VerifyEmailOtp],
        missing_fields: vec![],
        sso: None,
        reset: None,
        reverifies: None,
        changes_contact: None,
        second_factor: None,
        passkey: None,
        codes: CodeState {
            code: Some(code("hash-s")),
            sends: 1,
            wrong_codes: 0,
        },
        completed: false,
        created_at: NOW,
        expires_at: NOW + Duration::hours(1),
    }
}

/// An attempt opened with a code step followed by profile completion.
pub(crate) async fn partial(store: &dyn Store) -> (Session, SignupAttempt) {
    let s = session();
    let mut a = attempt(&s.id, &email());
    a.remaining_steps = vec![Step::VerifyEmailOtp, Step::CompleteProfile];
    a.missing_fields = vec!["password".into()];
    a.password_hash = None;
    store
        .open_attempt(
            &SessionWrite::Create(s.clone()),
            NewAttempt::Signup(&a),
            None,
        )
        .await
        .unwrap();
    (s, a)
}

pub(crate) fn advance(s: &Session, a: &SignupAttempt, hash: &str) -> SignupAdvance {
    SignupAdvance {
        session_id: s.id.clone(),
        proof: proof(&a.id, hash),
        remaining_steps: vec![Step::CompleteProfile],
        email_verified: true,
        phone_verified: false,
    }
}

/// A stored session with an open `sso` sign-in attempt.
pub(crate) async fn sso_opened(store: &dyn Store) -> (Session, SigninAttempt) {
    let s = session();
    let mut a = signin_attempt(&s.id, "unused");
    a.method = SigninMethod::Sso;
    a.identifier = "mock".into();
    a.user_id = None;
    a.destination = None;
    a.remaining_steps = vec![];
    a.codes = CodeState::default();
    a.sso = Some(SsoRequest {
        provider: "mock".into(),
        state_hash: "ef".repeat(32),
        nonce: "n-0123456789".into(),
        pkce_verifier: "v".repeat(43),
        redirect_uri: "https://app.example.com/signed-in".into(),
    });
    let created = store
        .open_attempt(
            &SessionWrite::Create(s.clone()),
            NewAttempt::Signin(&a),
            None,
        )
        .await
        .unwrap();
    assert_eq!(created, Opened::Done);
    (s, a)
}

pub(crate) fn identity(sub: &str) -> Identity {
    Identity {
        provider: "mock".into(),
        subject: sub.to_string(),
    }
}

/// The `sso` sign-up a first callback continues as.
pub(crate) fn sso_signup(s: &Session, email: &str, sub: &str) -> SignupAttempt {
    let mut a = attempt(&s.id, email);
    a.method = SignupMethod::Sso;
    a.password_hash = None;
    a.remaining_steps = vec![Step::VerifyEmailOtp, Step::CompleteProfile];
    a.missing_fields = vec!["username".into()];
    a.image_url = Some("https://img.example.com/a.png".into());
    a.identity = Some(identity(sub));
    a
}

/// A session as read back, in one order: DynamoDB returns items by sort key, the embedded
/// store in insertion order.
pub(crate) fn ordered(mut s: SessionState) -> SessionState {
    s.signins.sort_by(|a, b| a.id.cmp(&b.id));
    s.signup_attempts.sort_by(|a, b| a.id.cmp(&b.id));
    s.signin_attempts.sort_by(|a, b| a.id.cmp(&b.id));
    s
}

pub(crate) async fn assert_stored(store: &dyn Store, expected: SessionState, what: &str) {
    let stored = load(store, &expected.session.id).await;
    assert_eq!(ordered(stored), ordered(expected), "{what}");
}
