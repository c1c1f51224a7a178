//! One conformance suite, run against the embedded store and against DynamoDB in moto: every
//! Store operation's effect and every condition it must refuse, including under concurrency.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::json;
use sesame::domain::model::*;
use sesame::ids::{new_id, prefix};
use sesame::store::dynamo::DynamoStore;
use sesame::store::memory::MemoryStore;
use sesame::store::*;
use sesame_e2e::Moto;
use time::Duration;
use time::macros::datetime;

const NOW: Timestamp = datetime!(2026-03-01 09:00:00 UTC);

/// Generates `memory` and `dynamo` tests for a suite function taking `Arc<dyn Store>`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                super::$name(super::memory_store()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn dynamo() {
                if let Some(store) = super::dynamo_store().await {
                    super::$name(store).await;
                }
            }
        }
    )*};
}

conformance!(
    a_created_session_reads_back_field_for_field,
    creating_an_existing_session_or_touching_a_missing_one_conflicts,
    a_send_applies_only_on_the_expected_count,
    a_failed_send_lifts_only_its_own_code,
    wrong_codes_count_up_to_the_maximum_then_are_refused,
    a_completion_writes_everything_at_once,
    a_completion_with_a_taken_claim_writes_nothing,
    a_completion_with_a_stale_code_or_dead_attempt_writes_nothing,
    a_completion_evicts_the_named_signin,
    touching_moves_the_session_and_active_signin,
    limits_allow_the_maximum_per_window,
    parallel_completions_of_one_attempt_succeed_once,
    parallel_wrong_codes_are_counted_to_the_maximum_only,
    parallel_completions_claiming_one_email_create_one_user,
    parallel_limit_hits_allow_the_maximum_only,
);

fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

async fn dynamo_store() -> Option<Arc<dyn Store>> {
    let moto = Moto::new(false).await?;
    let sdk = sesame::app::sdk_config(&moto.config(&[])).await;
    Some(Arc::new(DynamoStore::new(&sdk, moto.table.clone(), None)))
}

fn session() -> Session {
    Session {
        id: new_id(prefix::SESSION),
        secret_hash: "ab".repeat(32),
        active_signin_id: None,
        created_at: NOW,
        last_active_at: NOW,
        expires_at: NOW + Duration::days(7),
    }
}

fn attempt(session_id: &str, email: &str) -> SignupAttempt {
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

fn code(hash: &str) -> PendingCode {
    PendingCode {
        channel: Channel::Email,
        hash: hash.to_string(),
        expires_at: NOW + Duration::minutes(10),
        sent_at: Some(NOW),
    }
}

/// A stored session with one open attempt.
async fn opened(store: &dyn Store, email: &str) -> (Session, SignupAttempt) {
    let s = session();
    let a = attempt(&s.id, email);
    assert_eq!(
        store
            .open_signup_attempt(&SessionWrite::Create(s.clone()), &a)
            .await
            .unwrap(),
        Written::Done
    );
    (s, a)
}

fn key<'a>(a: &'a SignupAttempt) -> AttemptKey<'a> {
    AttemptKey {
        session_id: &a.session_id,
        attempt_id: &a.id,
        kind: AttemptKind::Signup,
    }
}

fn completion(s: &Session, a: &SignupAttempt, code_hash: &str) -> SignupCompletion {
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
    };
    SignupCompletion {
        attempt_id: a.id.clone(),
        code_hash: code_hash.to_string(),
        max_wrong_codes: 5,
        claims: Claim::for_user(&user),
        rotation: SessionRotation {
            session_id: s.id.clone(),
            secret_hash: "cd".repeat(32),
            active_signin_id: signin.id.clone(),
            last_active_at: NOW + Duration::minutes(1),
            expires_at: NOW + Duration::days(7),
        },
        user,
        signin,
        evicted_signin_id: None,
    }
}

async fn load(store: &dyn Store, id: &str) -> SessionState {
    store
        .load_session(id)
        .await
        .unwrap()
        .expect("session exists")
}

fn email() -> String {
    sesame_e2e::unique_email("conf")
}

async fn a_created_session_reads_back_field_for_field(store: Arc<dyn Store>) {
    assert_eq!(store.load_session("sess_missing").await.unwrap(), None);
    let (s, a) = opened(store.as_ref(), &email()).await;
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.session, s);
    assert_eq!(state.signup_attempts, vec![a.clone()]);
    assert!(state.signins.is_empty() && state.signin_attempts.is_empty());

    // A second attempt joins the same session and moves its times.
    let b = attempt(&s.id, &email());
    let touch = SessionWrite::Touch {
        session_id: s.id.clone(),
        last_active_at: NOW + Duration::minutes(5),
        expires_at: NOW + Duration::days(8),
    };
    assert_eq!(
        store.open_signup_attempt(&touch, &b).await.unwrap(),
        Written::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signup_attempts.len(), 2);
    assert_eq!(state.session.last_active_at, NOW + Duration::minutes(5));
    assert_eq!(state.session.expires_at, NOW + Duration::days(8));
}

async fn creating_an_existing_session_or_touching_a_missing_one_conflicts(store: Arc<dyn Store>) {
    let (s, _) = opened(store.as_ref(), &email()).await;
    let again = attempt(&s.id, &email());
    assert_eq!(
        store
            .open_signup_attempt(&SessionWrite::Create(s.clone()), &again)
            .await
            .unwrap(),
        Written::Conflict
    );
    assert_eq!(
        load(store.as_ref(), &s.id).await.signup_attempts.len(),
        1,
        "nothing half-written"
    );

    let missing = SessionWrite::Touch {
        session_id: "sess_gone".into(),
        last_active_at: NOW,
        expires_at: NOW,
    };
    let orphan = attempt("sess_gone", &email());
    assert_eq!(
        store.open_signup_attempt(&missing, &orphan).await.unwrap(),
        Written::Conflict
    );
    assert_eq!(store.load_session("sess_gone").await.unwrap(), None);
}

async fn a_send_applies_only_on_the_expected_count(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let send = |expected| CodeSend {
        code: code("hash-2"),
        expected_sends: expected,
    };
    assert_eq!(
        store.record_send(key(&a), &send(0)).await.unwrap(),
        Written::Conflict
    );
    assert_eq!(
        store.record_send(key(&a), &send(1)).await.unwrap(),
        Written::Done
    );
    let stored = &load(store.as_ref(), &s.id).await.signup_attempts[0];
    assert_eq!(stored.codes.sends, 2);
    assert_eq!(stored.codes.code.as_ref().unwrap().hash, "hash-2");
    assert_eq!(
        store.record_send(key(&a), &send(1)).await.unwrap(),
        Written::Conflict,
        "stale count"
    );
}

async fn a_failed_send_lifts_only_its_own_code(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    store
        .record_send_failed(key(&a), "some-older-hash")
        .await
        .unwrap();
    let stored = &load(store.as_ref(), &s.id).await.signup_attempts[0];
    assert_eq!(
        stored.codes.code.as_ref().unwrap().sent_at,
        Some(NOW),
        "another code's failure changes nothing"
    );
    store.record_send_failed(key(&a), "hash-1").await.unwrap();
    let stored = &load(store.as_ref(), &s.id).await.signup_attempts[0];
    let pending = stored.codes.code.as_ref().unwrap();
    assert_eq!(pending.sent_at, None);
    assert_eq!(pending.hash, "hash-1", "the code itself stays valid");
}

async fn wrong_codes_count_up_to_the_maximum_then_are_refused(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    for n in 1..=5 {
        assert_eq!(
            store.record_wrong_code(key(&a), 5).await.unwrap(),
            WrongCode::Counted(n)
        );
    }
    assert_eq!(
        store.record_wrong_code(key(&a), 5).await.unwrap(),
        WrongCode::Refused
    );
    assert_eq!(
        load(store.as_ref(), &s.id).await.signup_attempts[0]
            .codes
            .wrong_codes,
        5
    );
    let missing = AttemptKey {
        attempt_id: "sua_missing",
        ..key(&a)
    };
    assert_eq!(
        store.record_wrong_code(missing, 5).await.unwrap(),
        WrongCode::Refused
    );
}

async fn a_completion_writes_everything_at_once(store: Arc<dyn Store>) {
    let address = email();
    let (s, a) = opened(store.as_ref(), &address).await;
    let c = completion(&s, &a, "hash-1");
    assert_eq!(
        store.complete_signup(&s.id, &c).await.unwrap(),
        Completion::Done
    );

    let state = load(store.as_ref(), &s.id).await;
    let done = &state.signup_attempts[0];
    assert!(done.completed && done.remaining_steps.is_empty() && done.codes.code.is_none());
    assert_eq!(done.user_id.as_ref(), Some(&c.user.id));
    assert!(done.email_verified);
    assert_eq!(state.signins, vec![c.signin.clone()]);
    assert_eq!(state.session.active_signin_id.as_ref(), Some(&c.signin.id));
    assert_eq!(state.session.secret_hash, c.rotation.secret_hash);
    assert_eq!(state.session.expires_at, c.rotation.expires_at);
    assert_eq!(
        store.get_user(&c.user.id).await.unwrap(),
        Some(c.user.clone())
    );
    let claims = Claim::for_user(&c.user);
    assert_eq!(store.taken_claims(&claims).await.unwrap(), claims);
    let username = Claim::Username(c.user.username.clone().unwrap().to_uppercase());
    assert_eq!(
        store
            .taken_claims(std::slice::from_ref(&username))
            .await
            .unwrap(),
        vec![username],
        "usernames ignore case"
    );

    assert_eq!(
        store.complete_signup(&s.id, &c).await.unwrap(),
        Completion::AttemptChanged,
        "single use"
    );
    assert_eq!(
        store.record_wrong_code(key(&a), 5).await.unwrap(),
        WrongCode::Refused,
        "completed"
    );
    let resend = CodeSend {
        code: code("hash-9"),
        expected_sends: 1,
    };
    assert_eq!(
        store.record_send(key(&a), &resend).await.unwrap(),
        Written::Conflict,
        "completed"
    );
}

async fn a_completion_with_a_taken_claim_writes_nothing(store: Arc<dyn Store>) {
    let address = email();
    let (s1, a1) = opened(store.as_ref(), &address).await;
    store
        .complete_signup(&s1.id, &completion(&s1, &a1, "hash-1"))
        .await
        .unwrap();

    let (s2, mut a2) = opened(store.as_ref(), &address).await;
    a2.username = Some(format!("v{}", &new_id("x")[2..12]));
    let c = completion(&s2, &a2, "hash-1");
    assert_eq!(
        store.complete_signup(&s2.id, &c).await.unwrap(),
        Completion::Taken(vec![Claim::Email(address)])
    );
    let state = load(store.as_ref(), &s2.id).await;
    assert!(!state.signup_attempts[0].completed);
    assert!(state.signins.is_empty());
    assert_eq!(state.session.secret_hash, s2.secret_hash);
    assert_eq!(store.get_user(&c.user.id).await.unwrap(), None);
    let username = Claim::Username(a2.username.clone().unwrap());
    assert!(
        store.taken_claims(&[username]).await.unwrap().is_empty(),
        "no claim half-written"
    );
}

async fn a_completion_with_a_stale_code_or_dead_attempt_writes_nothing(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let stale = completion(&s, &a, "hash-0");
    assert_eq!(
        store.complete_signup(&s.id, &stale).await.unwrap(),
        Completion::AttemptChanged
    );
    for _ in 0..5 {
        store.record_wrong_code(key(&a), 5).await.unwrap();
    }
    let right = completion(&s, &a, "hash-1");
    assert_eq!(
        store.complete_signup(&s.id, &right).await.unwrap(),
        Completion::AttemptChanged
    );
    assert_eq!(store.get_user(&right.user.id).await.unwrap(), None);
    assert!(store.taken_claims(&right.claims).await.unwrap().is_empty());
}

async fn a_completion_evicts_the_named_signin(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let first = completion(&s, &a, "hash-1");
    store.complete_signup(&s.id, &first).await.unwrap();

    let b = attempt(&s.id, &email());
    let touch = SessionWrite::Touch {
        session_id: s.id.clone(),
        last_active_at: NOW,
        expires_at: NOW + Duration::days(7),
    };
    store.open_signup_attempt(&touch, &b).await.unwrap();
    let mut second = completion(&s, &b, "hash-1");
    second.evicted_signin_id = Some(first.signin.id.clone());
    assert_eq!(
        store.complete_signup(&s.id, &second).await.unwrap(),
        Completion::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signins, vec![second.signin.clone()]);
}

async fn touching_moves_the_session_and_active_signin(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let c = completion(&s, &a, "hash-1");
    store.complete_signup(&s.id, &c).await.unwrap();
    let later = NOW + Duration::hours(2);
    store
        .touch_session(&s.id, Some(&c.signin.id), later, later + Duration::days(7))
        .await
        .unwrap();
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.session.last_active_at, later);
    assert_eq!(state.session.expires_at, later + Duration::days(7));
    assert_eq!(state.signins[0].last_active_at, later);
    // Touching a session that is gone is not an error, and does not bring it back.
    store
        .touch_session("sess_gone", None, later, later)
        .await
        .unwrap();
    assert_eq!(store.load_session("sess_gone").await.unwrap(), None);
}

async fn limits_allow_the_maximum_per_window(store: Arc<dyn Store>) {
    let k = new_id("limit");
    let window = NOW + Duration::hours(1);
    for _ in 0..3 {
        assert_eq!(store.hit(&k, window, 3).await.unwrap(), Hit::Allowed);
    }
    assert_eq!(
        store.hit(&k, window, 3).await.unwrap(),
        Hit::Limited {
            window_ends: window
        }
    );
    let next = window + Duration::hours(1);
    assert_eq!(
        store.hit(&k, next, 3).await.unwrap(),
        Hit::Allowed,
        "a new window starts afresh"
    );
    assert_eq!(
        store.hit(&new_id("limit"), window, 3).await.unwrap(),
        Hit::Allowed,
        "keys are separate"
    );
}

async fn parallel_completions_of_one_attempt_succeed_once(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let outcomes = join_all((0..20).map(|_| {
        let store = store.clone();
        let c = completion(&s, &a, "hash-1");
        let id = s.id.clone();
        async move { store.complete_signup(&id, &c).await.unwrap() }
    }))
    .await;
    assert_eq!(
        outcomes.iter().filter(|o| **o == Completion::Done).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(load(store.as_ref(), &s.id).await.signins.len(), 1);
}

async fn parallel_wrong_codes_are_counted_to_the_maximum_only(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let outcomes = join_all((0..25).map(|_| {
        let store = store.clone();
        let a = a.clone();
        async move { store.record_wrong_code(key(&a), 5).await.unwrap() }
    }))
    .await;
    let mut counted: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| match o {
            WrongCode::Counted(n) => Some(*n),
            WrongCode::Refused => None,
        })
        .collect();
    counted.sort_unstable();
    assert_eq!(counted, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        load(store.as_ref(), &s.id).await.signup_attempts[0]
            .codes
            .wrong_codes,
        5
    );
}

async fn parallel_completions_claiming_one_email_create_one_user(store: Arc<dyn Store>) {
    let address = email();
    let mut racers = Vec::new();
    for _ in 0..5 {
        let (s, mut a) = opened(store.as_ref(), &address).await;
        a.username = None;
        racers.push((s.clone(), completion(&s, &a, "hash-1")));
    }
    let outcomes = join_all(racers.iter().map(|(s, c)| {
        let store = store.clone();
        async move { store.complete_signup(&s.id, c).await.unwrap() }
    }))
    .await;
    assert_eq!(
        outcomes.iter().filter(|o| **o == Completion::Done).count(),
        1,
        "{outcomes:?}"
    );
    for o in outcomes.iter().filter(|o| **o != Completion::Done) {
        assert_eq!(*o, Completion::Taken(vec![Claim::Email(address.clone())]));
    }
    let users = join_all(racers.iter().map(|(_, c)| store.get_user(&c.user.id))).await;
    assert_eq!(
        users
            .into_iter()
            .filter(|u| u.as_ref().unwrap().is_some())
            .count(),
        1
    );
}

async fn parallel_limit_hits_allow_the_maximum_only(store: Arc<dyn Store>) {
    let k = new_id("limit");
    let window = NOW + Duration::hours(1);
    let outcomes = join_all((0..30).map(|_| {
        let store = store.clone();
        let k = k.clone();
        async move { store.hit(&k, window, 10).await.unwrap() }
    }))
    .await;
    assert_eq!(outcomes.iter().filter(|o| **o == Hit::Allowed).count(), 10);
}
