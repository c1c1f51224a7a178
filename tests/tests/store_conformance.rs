//! One conformance suite, run against the embedded store and against DynamoDB Local (Amazon's
//! engine): every Store operation's effect and every condition it must refuse, including under
//! concurrency.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::Map;
use serde_json::json;
use sesame::adapters::memory::MemoryStore;
use sesame::domain::ATTEMPTS_PER_SESSION as CAP;
use sesame::domain::model::*;
use sesame::domain::ports::store::*;
use sesame::ids::{new_id, prefix};
use time::Duration;
use time::macros::datetime;

/// In the future on purpose: the table has TTL on `expires_at`, and DynamoDB deletes items once
/// it has passed (DynamoDB Local within seconds), so expired fixtures would vanish mid-test.
const NOW: Timestamp = datetime!(2100-03-01 09:00:00 UTC);

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
    a_claim_names_its_owner_and_failed_logins_are_counted,
    a_signin_completion_grants_and_resets_failed_logins,
    a_signin_completion_creates_a_session_when_there_was_none,
    a_signin_completion_refuses_a_blocked_user_and_writes_nothing,
    a_signin_completion_with_a_stale_code_writes_nothing,
    switching_and_removing_signins_need_them_to_exist,
    deleting_a_session_removes_everything_under_it,
    profile_updates_apply_and_return_the_user,
    a_username_moves_its_claim_or_is_refused,
    parallel_username_changes_to_one_name_give_it_once,
    a_released_hit_frees_one_place,
    an_attempt_whose_charge_is_refused_writes_nothing,
    a_code_step_with_steps_to_go_advances_without_a_user,
    a_profile_completion_completes_only_at_its_step,
    a_revision_applies_only_while_the_profile_is_awaited,
    a_rotation_from_a_replaced_secret_writes_nothing,
    a_proven_contact_another_user_holds_is_taken,
    an_sso_callback_continues_as_a_signup_once,
    an_sso_continuation_whose_charge_is_refused_writes_nothing,
    an_sso_signin_links_the_identity_once_and_only_to_its_owner,
    an_sso_signup_creates_the_user_with_its_identity_once,
    an_import_writes_the_user_and_claims_or_reports_every_taken_claim,
    a_password_hash_is_replaced_only_while_unchanged,
    a_completion_from_another_session_tells_the_attempts_session_nothing,
    a_stored_send_is_the_pure_transition,
    a_stored_signup_completion_is_the_pure_transitions,
    a_stored_completion_from_another_session_is_the_pure_transitions,
    a_stored_advance_is_the_pure_transition,
    a_stored_signin_completion_is_the_pure_transitions,
    a_stored_session_creation_is_the_pure_transition,
    a_stored_sso_continuation_is_the_pure_transition,
    attempts_beyond_the_cap_replace_the_oldest_of_their_kind,
    parallel_opens_never_exceed_the_cap,
    expired_attempts_are_deleted_when_an_attempt_is_written,
    an_sso_continuation_is_admitted_like_an_opened_attempt,
    a_stored_admission_is_the_pure_transition,
    a_reset_advances_on_its_code_then_sets_the_password_once,
);

#[path = "store_conformance/user_index.rs"]
mod user_index;

#[path = "store_conformance/contacts.rs"]
mod contacts;

#[path = "store_conformance/admin.rs"]
mod admin;

#[path = "store_conformance/credentials.rs"]
mod credentials;

#[path = "store_conformance/second_factor.rs"]
mod second_factor;

fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

async fn dynamo_store() -> Option<Arc<dyn Store>> {
    Some(Arc::new(sesame_e2e::fresh_dynamo_store(None).await?))
}

fn session() -> Session {
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

fn code(hash: &str) -> PendingCode {
    PendingCode {
        channel: Channel::Email,
        hash: hash.to_string(),
        expires_at: NOW + Duration::minutes(10),
        sent_at: Some(NOW),
        delivery_failed: false,
    }
}

/// A stored session with one open attempt.
async fn opened(store: &dyn Store, email: &str) -> (Session, SignupAttempt) {
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
async fn touch(
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
async fn signup_admission(store: &dyn Store, session_id: &str) -> Admission {
    Admission::new(
        &load(store, session_id).await.session.attempts,
        AttemptKind::Signup,
        NOW,
    )
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

fn proof(attempt_id: &str, code_hash: &str) -> CodeProof {
    CodeProof {
        attempt_id: attempt_id.to_string(),
        code_hash: code_hash.to_string(),
        max_wrong_codes: 5,
        gate: None,
    }
}

fn rotate(s: &Session, signin: Signin) -> Grant {
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
const ROTATED: &str = "cd";

/// The grant, for a session whose secret an earlier test rotation already replaced.
fn after_rotation(mut grant: Grant) -> Grant {
    if let GrantSession::Rotate(r) = &mut grant.session {
        r.proven_secret_hash = ROTATED.repeat(32);
    }
    grant
}

fn rotation(c: &SignupCompletion) -> &SessionRotation {
    match &c.grant.session {
        GrantSession::Rotate(r) => r,
        GrantSession::Create(_) => unreachable!("sign-up completions rotate"),
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
    let listed = Session {
        attempts: vec![NewAttempt::Signup(&a).listed()],
        ..s.clone()
    };
    assert_eq!(state.session, listed, "the session lists its attempt");
    assert_eq!(state.signup_attempts, vec![a.clone()]);
    assert!(state.signins.is_empty() && state.signin_attempts.is_empty());

    // A second attempt joins the same session and moves its times.
    let b = attempt(&s.id, &email());
    let touch = touch(
        store.as_ref(),
        &s.id,
        AttemptKind::Signup,
        NOW + Duration::minutes(5),
        NOW + Duration::days(8),
    )
    .await;
    assert_eq!(
        store
            .open_attempt(&touch, NewAttempt::Signup(&b), None)
            .await
            .unwrap(),
        Opened::Done
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
            .open_attempt(
                &SessionWrite::Create(s.clone()),
                NewAttempt::Signup(&again),
                None
            )
            .await
            .unwrap(),
        Opened::Conflict
    );
    assert_eq!(
        load(store.as_ref(), &s.id).await.signup_attempts.len(),
        1,
        "nothing half-written"
    );

    let missing = touch(store.as_ref(), "sess_gone", AttemptKind::Signup, NOW, NOW).await;
    let orphan = attempt("sess_gone", &email());
    assert_eq!(
        store
            .open_attempt(&missing, NewAttempt::Signup(&orphan), None)
            .await
            .unwrap(),
        Opened::Conflict
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
    assert!(!stored.codes.code.as_ref().unwrap().delivery_failed);
    store.record_send_failed(key(&a), "hash-1").await.unwrap();
    let stored = &load(store.as_ref(), &s.id).await.signup_attempts[0];
    let pending = stored.codes.code.as_ref().unwrap();
    assert_eq!(pending.sent_at, None);
    assert!(
        pending.delivery_failed,
        "the failure is recorded for the session"
    );
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
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);

    let state = load(store.as_ref(), &s.id).await;
    let done = &state.signup_attempts[0];
    assert!(done.completed && done.remaining_steps.is_empty() && done.codes.code.is_none());
    assert_eq!(done.user_id.as_ref(), Some(&c.user.id));
    assert!(done.email_verified);
    assert_eq!(state.signins, vec![c.grant.signin.clone()]);
    assert_eq!(
        state.session.active_signin_id.as_ref(),
        Some(&c.grant.signin.id)
    );
    assert_eq!(state.session.secret_hash, rotation(&c).secret_hash);
    assert_eq!(state.session.expires_at, rotation(&c).expires_at);
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
        store.finish_signup(&c).await.unwrap(),
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
        .finish_signup(&completion(&s1, &a1, "hash-1"))
        .await
        .unwrap();

    let (s2, mut a2) = opened(store.as_ref(), &address).await;
    a2.username = Some(format!("v{}", &new_id("x")[2..12]));
    let c = completion(&s2, &a2, "hash-1");
    assert_eq!(
        store.finish_signup(&c).await.unwrap(),
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
        store.finish_signup(&stale).await.unwrap(),
        Completion::AttemptChanged
    );
    for _ in 0..5 {
        store.record_wrong_code(key(&a), 5).await.unwrap();
    }
    let right = completion(&s, &a, "hash-1");
    assert_eq!(
        store.finish_signup(&right).await.unwrap(),
        Completion::AttemptChanged
    );
    assert_eq!(store.get_user(&right.user.id).await.unwrap(), None);
    assert!(store.taken_claims(&right.claims).await.unwrap().is_empty());
}

async fn a_completion_evicts_the_named_signin(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let first = completion(&s, &a, "hash-1");
    store.finish_signup(&first).await.unwrap();

    let b = attempt(&s.id, &email());
    let touch = touch(
        store.as_ref(),
        &s.id,
        AttemptKind::Signup,
        NOW,
        NOW + Duration::days(7),
    )
    .await;
    store
        .open_attempt(&touch, NewAttempt::Signup(&b), None)
        .await
        .unwrap();
    let mut second = completion(&s, &b, "hash-1");
    second.grant = after_rotation(second.grant);
    second.grant.removed_signins = vec![first.grant.signin.clone()];
    assert_eq!(
        store.finish_signup(&second).await.unwrap(),
        Completion::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signins, vec![second.grant.signin.clone()]);
}

async fn touching_moves_the_session_and_active_signin(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let c = completion(&s, &a, "hash-1");
    store.finish_signup(&c).await.unwrap();
    let later = NOW + Duration::hours(2);
    store
        .touch_session(
            &s.id,
            Some(&c.grant.signin),
            later,
            later + Duration::days(7),
        )
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
        async move { store.finish_signup(&c).await.unwrap() }
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
    let outcomes = join_all(racers.iter().map(|(_, c)| {
        let store = store.clone();
        async move { store.finish_signup(c).await.unwrap() }
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

/// A completed sign-up: a user with claims and a signin in a session.
async fn signed_up(store: &dyn Store) -> (Session, SignupCompletion) {
    let (s, a) = opened(store, &email()).await;
    let c = completion(&s, &a, "hash-1");
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    (s, c)
}

fn signin_for(session_id: &str, user_id: &str) -> Signin {
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
async fn signin_opened(store: &dyn Store, s: &Session, user_id: &str) -> SigninAttempt {
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

fn signin_attempt(session_id: &str, user_id: &str) -> SigninAttempt {
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

fn changes() -> ProfileChanges {
    ProfileChanges {
        first_name: None,
        last_name: None,
        image_url: None,
        metadata: None,
        profile: None,
        updated_at: NOW + Duration::hours(3),
    }
}

async fn a_claim_names_its_owner_and_failed_logins_are_counted(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let claim = Claim::Email(c.user.email.clone().unwrap());
    assert_eq!(
        store.claim_owner(&claim).await.unwrap(),
        Some(c.user.id.clone())
    );
    assert_eq!(
        store
            .claim_owner(&Claim::Email("nobody@example.com".into()))
            .await
            .unwrap(),
        None
    );
    store.record_failed_login(&c.user.id).await.unwrap();
    store.record_failed_login(&c.user.id).await.unwrap();
    assert_eq!(
        store
            .get_user(&c.user.id)
            .await
            .unwrap()
            .unwrap()
            .login_attempts,
        2
    );
    store.record_failed_login("usr_missing").await.unwrap();
    assert_eq!(
        store.get_user("usr_missing").await.unwrap(),
        None,
        "no user is conjured"
    );
}

async fn a_signin_completion_grants_and_resets_failed_logins(store: Arc<dyn Store>) {
    // A user with a phone number not verified yet: the code proves it.
    let phone = format!("+1555{:07}", sesame::ids::random_below(10_000_000));
    let (s, a) = opened(store.as_ref(), &email()).await;
    let mut c = completion(&s, &a, "hash-1");
    c.user.phone_number = Some(phone.clone());
    c.user.phone_verified = false;
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    store.record_failed_login(&c.user.id).await.unwrap();
    let attempt = signin_opened(store.as_ref(), &s, &c.user.id).await;
    // Same user signs in again: the new signin replaces the old one.
    let signin = signin_for(&s.id, &c.user.id);
    let mut grant = after_rotation(rotate(&s, signin.clone()));
    grant.removed_signins = vec![c.grant.signin.clone()];
    let done = SigninCompletion {
        user_id: c.user.id.clone(),
        check: Some(AttemptCheck::Code(CodeProof {
            attempt_id: attempt.id.clone(),
            code_hash: "hash-s".into(),
            max_wrong_codes: 5,
            gate: None,
        })),
        link: None,
        password_hash: None,
        verified: Some((Channel::Sms, Claim::Phone(phone.clone()))),
        verified_hash: None,
        end_signins: None,
        grant,
    };
    assert_eq!(store.finish_signin(&done).await.unwrap(), Completion::Done);
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signins, vec![signin.clone()]);
    assert_eq!(state.session.active_signin_id, Some(signin.id.clone()));
    assert!(state.signin_attempts[0].completed && state.signin_attempts[0].codes.code.is_none());
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(user.login_attempts, 0);
    assert!(user.phone_verified, "the proven contact is marked verified");
    assert_eq!(
        store.claim_owner(&Claim::Phone(phone)).await.unwrap(),
        Some(c.user.id.clone()),
        "and claimed"
    );
    assert_eq!(
        store.finish_signin(&done).await.unwrap(),
        Completion::AttemptChanged,
        "single use"
    );
}

async fn a_signin_completion_creates_a_session_when_there_was_none(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let mut fresh = session();
    let signin = signin_for(&fresh.id, &c.user.id);
    fresh.active_signin_id = Some(signin.id.clone());
    let grant = Grant {
        signin: signin.clone(),
        removed_signins: vec![],
        session: GrantSession::Create(fresh.clone()),
    };
    let done = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        link: None,
        password_hash: None,
        verified: None,
        verified_hash: None,
        end_signins: None,
        grant,
    };
    assert_eq!(store.finish_signin(&done).await.unwrap(), Completion::Done);
    let state = load(store.as_ref(), &fresh.id).await;
    assert_eq!(state.session, fresh);
    assert_eq!(state.signins, vec![signin]);
    assert_eq!(
        store.finish_signin(&done).await.unwrap(),
        Completion::SessionChanged,
        "created once"
    );
}

async fn a_signin_completion_refuses_a_blocked_user_and_writes_nothing(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let mut c = completion(&s, &a, "hash-1");
    c.user.blocked = true;
    store.finish_signup(&c).await.unwrap();
    let other = session();
    let grant = Grant {
        signin: signin_for(&other.id, &c.user.id),
        removed_signins: vec![],
        session: GrantSession::Create(other.clone()),
    };
    let refused = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        link: None,
        password_hash: None,
        verified: None,
        verified_hash: None,
        end_signins: None,
        grant,
    };
    assert_eq!(
        store.finish_signin(&refused).await.unwrap(),
        Completion::UserBlocked
    );
    assert_eq!(store.load_session(&other.id).await.unwrap(), None);
    let mut gone = refused.clone();
    gone.user_id = "usr_missing".into();
    assert_eq!(
        store.finish_signin(&gone).await.unwrap(),
        Completion::UserBlocked
    );
}

async fn a_signin_completion_with_a_stale_code_writes_nothing(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let attempt = signin_opened(store.as_ref(), &s, &c.user.id).await;
    let stale = SigninCompletion {
        user_id: c.user.id.clone(),
        check: Some(AttemptCheck::Code(CodeProof {
            attempt_id: attempt.id.clone(),
            code_hash: "hash-old".into(),
            max_wrong_codes: 5,
            gate: None,
        })),
        link: None,
        password_hash: None,
        verified: None,
        verified_hash: None,
        end_signins: None,
        grant: rotate(&s, signin_for(&s.id, &c.user.id)),
    };
    assert_eq!(
        store.finish_signin(&stale).await.unwrap(),
        Completion::AttemptChanged
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signins.len(), 1, "no signin added");
    assert!(!state.signin_attempts[0].completed);
}

async fn switching_and_removing_signins_need_them_to_exist(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let first = c.grant.signin.clone();
    let missing = Signin {
        id: "sin_missing".into(),
        ..first.clone()
    };
    let later = NOW + Duration::hours(1);
    assert_eq!(
        store.switch_signin(&missing, later).await.unwrap(),
        Written::Conflict
    );
    assert_eq!(
        store.switch_signin(&first, later).await.unwrap(),
        Written::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.session.active_signin_id.as_ref(), Some(&first.id));
    assert_eq!(state.signins[0].last_active_at, later);

    assert_eq!(
        store.remove_signin(&missing, None).await.unwrap(),
        Written::Conflict
    );
    assert_eq!(
        load(store.as_ref(), &s.id).await.signins.len(),
        1,
        "nothing removed"
    );
    assert_eq!(
        store.remove_signin(&first, None).await.unwrap(),
        Written::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signins.is_empty());
    assert_eq!(state.session.active_signin_id, None);
}

async fn deleting_a_session_removes_everything_under_it(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    store.delete_session(&s.id).await.unwrap();
    assert_eq!(store.load_session(&s.id).await.unwrap(), None);
    assert!(
        store.get_user(&c.user.id).await.unwrap().is_some(),
        "the user stays"
    );
    store.delete_session(&s.id).await.unwrap();
}

async fn profile_updates_apply_and_return_the_user(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let mut meta = Map::new();
    meta.insert("tier".into(), json!("gold"));
    let update = ProfileChanges {
        first_name: Some(Some("Augusta".into())),
        last_name: Some(None),
        image_url: Some(Some("https://cdn.example.com/ada.png".into())),
        metadata: Some(meta.clone()),
        ..changes()
    };
    let updated = store
        .update_profile(&c.user.id, &update)
        .await
        .unwrap()
        .unwrap();
    let mut expected = c.user.clone();
    update.apply(&mut expected);
    assert_eq!(updated, expected);
    assert_eq!(updated.metadata, meta);
    assert_eq!(updated.last_name, None);
    assert_eq!(store.get_user(&c.user.id).await.unwrap().unwrap(), expected);
    assert_eq!(
        store.update_profile("usr_missing", &update).await.unwrap(),
        None
    );
}

async fn a_username_moves_its_claim_or_is_refused(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let (_, other) = signed_up(store.as_ref()).await;
    let old = c.user.username.clone().unwrap();
    let new = format!("n{}", &new_id("x")[2..12]);

    let theirs = other.user.username.clone().unwrap();
    assert_eq!(
        store
            .change_username(&c.user.id, Some(&old), &theirs.to_uppercase(), &changes())
            .await
            .unwrap(),
        UsernameChange::Taken
    );
    assert_eq!(
        store
            .change_username(&c.user.id, Some("not-the-name"), &new, &changes())
            .await
            .unwrap(),
        UsernameChange::Stale
    );
    assert_eq!(
        store
            .claim_owner(&Claim::Username(new.clone()))
            .await
            .unwrap(),
        None,
        "nothing written"
    );

    assert_eq!(
        store
            .change_username(&c.user.id, Some(&old), &new, &changes())
            .await
            .unwrap(),
        UsernameChange::Done
    );
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(user.username.as_ref(), Some(&new));
    assert_eq!(user.updated_at, changes().updated_at);
    assert_eq!(
        store
            .claim_owner(&Claim::Username(new.clone()))
            .await
            .unwrap(),
        Some(c.user.id.clone())
    );
    assert_eq!(
        store.claim_owner(&Claim::Username(old)).await.unwrap(),
        None,
        "the old name is free"
    );

    // A change of case only keeps the same claim.
    let upper = new.to_uppercase();
    assert_eq!(
        store
            .change_username(&c.user.id, Some(&new), &upper, &changes())
            .await
            .unwrap(),
        UsernameChange::Done
    );
    assert_eq!(
        store.claim_owner(&Claim::Username(new)).await.unwrap(),
        Some(c.user.id.clone())
    );
}

async fn parallel_username_changes_to_one_name_give_it_once(store: Arc<dyn Store>) {
    let mut users = Vec::new();
    for _ in 0..5 {
        users.push(signed_up(store.as_ref()).await.1.user);
    }
    let wanted = format!("w{}", &new_id("x")[2..12]);
    let outcomes = join_all(users.iter().map(|u| {
        let store = store.clone();
        let wanted = wanted.clone();
        async move {
            store
                .change_username(&u.id, u.username.as_deref(), &wanted, &changes())
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == UsernameChange::Done)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, UsernameChange::Done | UsernameChange::Taken))
    );
}

async fn a_released_hit_frees_one_place(store: Arc<dyn Store>) {
    let k = new_id("limit");
    let window = NOW + Duration::hours(1);
    assert_eq!(store.hit(&k, window, 1).await.unwrap(), Hit::Allowed);
    assert_eq!(
        store.hit(&k, window, 1).await.unwrap(),
        Hit::Limited {
            window_ends: window
        }
    );
    store.release(&k, window).await.unwrap();
    assert_eq!(store.hit(&k, window, 1).await.unwrap(), Hit::Allowed);
    // Releasing more than was counted never makes room beyond the maximum.
    store.release(&k, window).await.unwrap();
    store.release(&k, window).await.unwrap();
    assert_eq!(store.hit(&k, window, 1).await.unwrap(), Hit::Allowed);
    assert_eq!(
        store.hit(&k, window, 1).await.unwrap(),
        Hit::Limited {
            window_ends: window
        }
    );
}

async fn an_attempt_whose_charge_is_refused_writes_nothing(store: Arc<dyn Store>) {
    let k = new_id("cap");
    let window = NOW + Duration::hours(1);
    let charge = Charge {
        key: &k,
        window_ends: window,
        max: 1,
    };
    let s = session();
    let first = attempt(&s.id, &email());
    assert_eq!(
        store
            .open_attempt(
                &SessionWrite::Create(s.clone()),
                NewAttempt::Signup(&first),
                Some(charge)
            )
            .await
            .unwrap(),
        Opened::Done
    );
    let second = attempt(&s.id, &email());
    let touch = touch(
        store.as_ref(),
        &s.id,
        AttemptKind::Signup,
        NOW + Duration::minutes(1),
        NOW + Duration::days(9),
    )
    .await;
    assert_eq!(
        store
            .open_attempt(&touch, NewAttempt::Signup(&second), Some(charge))
            .await
            .unwrap(),
        Opened::Limited {
            window_ends: window
        }
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(
        state.signup_attempts,
        vec![first],
        "the refused attempt is not stored"
    );
    assert_eq!(
        state.session.expires_at, s.expires_at,
        "nor is the session touched"
    );
    assert_eq!(
        store.hit(&k, window, 1).await.unwrap(),
        Hit::Limited {
            window_ends: window
        },
        "the charge counted once"
    );
}

/// An attempt opened with a code step followed by profile completion.
async fn partial(store: &dyn Store) -> (Session, SignupAttempt) {
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

fn advance(s: &Session, a: &SignupAttempt, hash: &str) -> SignupAdvance {
    SignupAdvance {
        session_id: s.id.clone(),
        proof: proof(&a.id, hash),
        remaining_steps: vec![Step::CompleteProfile],
        email_verified: true,
        phone_verified: false,
    }
}

async fn a_code_step_with_steps_to_go_advances_without_a_user(store: Arc<dyn Store>) {
    let (s, a) = partial(store.as_ref()).await;
    assert_eq!(
        store
            .advance_signup(&advance(&s, &a, "hash-0"))
            .await
            .unwrap(),
        Written::Conflict,
        "wrong code"
    );
    assert_eq!(
        store
            .advance_signup(&advance(&s, &a, "hash-1"))
            .await
            .unwrap(),
        Written::Done
    );
    let stored = &load(store.as_ref(), &s.id).await.signup_attempts[0];
    assert_eq!(stored.remaining_steps, vec![Step::CompleteProfile]);
    assert!(stored.email_verified && !stored.completed && stored.codes.code.is_none());
    assert_eq!(
        store
            .advance_signup(&advance(&s, &a, "hash-1"))
            .await
            .unwrap(),
        Written::Conflict,
        "single use"
    );
    assert!(
        store
            .taken_claims(&[Claim::Email(a.email.clone().unwrap())])
            .await
            .unwrap()
            .is_empty(),
        "no user yet"
    );
}

async fn a_profile_completion_completes_only_at_its_step(store: Arc<dyn Store>) {
    let (s, a) = partial(store.as_ref()).await;
    let mut c = completion(&s, &a, "unused");
    c.check = AttemptCheck::AtStep {
        attempt_id: a.id.clone(),
        step: Step::CompleteProfile,
        user: None,
    };
    assert_eq!(
        store.finish_signup(&c).await.unwrap(),
        Completion::AttemptChanged,
        "still at its code"
    );
    store
        .advance_signup(&advance(&s, &a, "hash-1"))
        .await
        .unwrap();
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    assert!(load(store.as_ref(), &s.id).await.signup_attempts[0].completed);
    assert_eq!(
        store.finish_signup(&c).await.unwrap(),
        Completion::AttemptChanged,
        "once"
    );
}

async fn a_revision_applies_only_while_the_profile_is_awaited(store: Arc<dyn Store>) {
    let (s, a) = partial(store.as_ref()).await;
    let mut revised = a.clone();
    revised.phone_number = Some("+14155550199".into());
    revised.remaining_steps = vec![Step::VerifyPhoneOtp];
    assert_eq!(
        store.revise_signup(&revised, None).await.unwrap(),
        Opened::Conflict,
        "not awaiting yet"
    );
    store
        .advance_signup(&advance(&s, &a, "hash-1"))
        .await
        .unwrap();
    assert_eq!(
        store.revise_signup(&revised, None).await.unwrap(),
        Opened::Done
    );
    assert_eq!(
        load(store.as_ref(), &s.id).await.signup_attempts,
        vec![revised.clone()]
    );
    assert_eq!(
        store.revise_signup(&revised, None).await.unwrap(),
        Opened::Conflict,
        "it moved on"
    );
}

async fn a_rotation_from_a_replaced_secret_writes_nothing(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    // `s` still has the secret from before the sign-up rotated it: a racing, stale grant.
    let stale = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        link: None,
        password_hash: None,
        verified: None,
        verified_hash: None,
        end_signins: None,
        grant: rotate(&s, signin_for(&s.id, &c.user.id)),
    };
    assert_eq!(
        store.finish_signin(&stale).await.unwrap(),
        Completion::SessionChanged
    );
    assert_eq!(
        load(store.as_ref(), &s.id).await.signins,
        vec![c.grant.signin.clone()],
        "nothing added"
    );

    let (s2, a2) = opened(store.as_ref(), &email()).await;
    let mut late = completion(&s2, &a2, "hash-1");
    late.grant = after_rotation(late.grant);
    assert_eq!(
        store.finish_signup(&late).await.unwrap(),
        Completion::SessionChanged
    );
    assert_eq!(store.get_user(&late.user.id).await.unwrap(), None);
}

async fn a_proven_contact_another_user_holds_is_taken(store: Arc<dyn Store>) {
    let (_, holder) = signed_up(store.as_ref()).await;
    let theirs = Claim::Email(holder.user.email.clone().unwrap());
    // A user who typed the holder's email and never proved it.
    let (s, a) = opened(store.as_ref(), &email()).await;
    let mut c = completion(&s, &a, "hash-1");
    c.user.email = holder.user.email.clone();
    c.user.email_verified = false;
    c.claims.retain(|claim| !matches!(claim, Claim::Email(_)));
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    let done = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        link: None,
        password_hash: None,
        verified: Some((Channel::Email, theirs.clone())),
        verified_hash: None,
        end_signins: None,
        grant: after_rotation(rotate(&s, signin_for(&s.id, &c.user.id))),
    };
    assert_eq!(
        store.finish_signin(&done).await.unwrap(),
        Completion::Taken(vec![theirs.clone()])
    );
    assert_eq!(
        store.claim_owner(&theirs).await.unwrap(),
        Some(holder.user.id.clone())
    );
    assert_eq!(
        load(store.as_ref(), &s.id).await.signins.len(),
        1,
        "nothing added"
    );
}

/// A stored session with an open `sso` sign-in attempt.
async fn sso_opened(store: &dyn Store) -> (Session, SigninAttempt) {
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

fn identity(sub: &str) -> Identity {
    Identity {
        provider: "mock".into(),
        subject: sub.to_string(),
    }
}

/// The `sso` sign-up a first callback continues as.
fn sso_signup(s: &Session, email: &str, sub: &str) -> SignupAttempt {
    let mut a = attempt(&s.id, email);
    a.method = SignupMethod::Sso;
    a.password_hash = None;
    a.remaining_steps = vec![Step::VerifyEmailOtp, Step::CompleteProfile];
    a.missing_fields = vec!["username".into()];
    a.image_url = Some("https://img.example.com/a.png".into());
    a.identity = Some(identity(sub));
    a
}

async fn an_sso_callback_continues_as_a_signup_once(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let signup = sso_signup(&s, &email(), "sub-1");
    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &signup, &admission, None)
            .await
            .unwrap(),
        Opened::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(
        state.signup_attempts,
        vec![signup.clone()],
        "read back field for field"
    );
    assert!(state.signin_attempts[0].completed);
    assert_eq!(state.signin_attempts[0].sso, sso.sso, "the request is kept");

    let mut replay = sso_signup(&s, &email(), "sub-1");
    replay.id = new_id(prefix::SIGNUP_ATTEMPT);
    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &replay, &admission, None)
            .await
            .unwrap(),
        Opened::Conflict,
        "a replayed callback"
    );
    assert_eq!(load(store.as_ref(), &s.id).await.signup_attempts.len(), 1);
}

async fn an_sso_continuation_whose_charge_is_refused_writes_nothing(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let key = new_id("limit");
    let window_ends = NOW + Duration::hours(1);
    assert_eq!(store.hit(&key, window_ends, 1).await.unwrap(), Hit::Allowed);
    let charge = Charge {
        key: &key,
        window_ends,
        max: 1,
    };
    let signup = sso_signup(&s, &email(), "sub-2");
    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &signup, &admission, Some(charge))
            .await
            .unwrap(),
        Opened::Limited { window_ends }
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signup_attempts.is_empty());
    assert!(
        !state.signin_attempts[0].completed,
        "still open for a retry"
    );
}

async fn an_sso_signin_links_the_identity_once_and_only_to_its_owner(store: Arc<dyn Store>) {
    let (_, other) = signed_up(store.as_ref()).await;
    let (_, owner) = signed_up(store.as_ref()).await;
    let linked = Claim::Identity(identity(&new_id("sub")));
    // Someone else holds the identity: refused, nothing written.
    let (s, sso) = sso_opened(store.as_ref()).await;
    let (os, osso) = sso_opened(store.as_ref()).await;
    let for_other = SigninCompletion {
        user_id: other.user.id.clone(),
        check: Some(AttemptCheck::Sso {
            attempt_id: osso.id.clone(),
        }),
        verified: None,
        link: Some(linked.clone()),
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        grant: rotate(&os, signin_for(&os.id, &other.user.id)),
    };
    assert_eq!(
        store.finish_signin(&for_other).await.unwrap(),
        Completion::Done
    );
    let for_owner = SigninCompletion {
        user_id: owner.user.id.clone(),
        check: Some(AttemptCheck::Sso {
            attempt_id: sso.id.clone(),
        }),
        verified: None,
        link: Some(linked.clone()),
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        grant: rotate(&s, signin_for(&s.id, &owner.user.id)),
    };
    assert_eq!(
        store.finish_signin(&for_owner).await.unwrap(),
        Completion::Taken(vec![linked.clone()])
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signins.is_empty() && !state.signin_attempts[0].completed);
    assert_eq!(
        store.claim_owner(&linked).await.unwrap(),
        Some(other.user.id.clone())
    );

    // The holder again, through the same (now completed) attempt: single use.
    let replay = SigninCompletion {
        grant: after_rotation(rotate(&os, signin_for(&os.id, &other.user.id))),
        ..for_other
    };
    assert_eq!(
        store.finish_signin(&replay).await.unwrap(),
        Completion::AttemptChanged
    );
}

async fn an_sso_signup_creates_the_user_with_its_identity_once(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let signup = sso_signup(&s, &email(), &new_id("sub"));
    let mut c = completion(&s, &signup, "unused");
    c.check = AttemptCheck::Sso {
        attempt_id: sso.id.clone(),
    };
    let held = Claim::Identity(signup.identity.clone().unwrap());
    c.claims.push(held.clone());
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    assert_eq!(
        store.claim_owner(&held).await.unwrap(),
        Some(c.user.id.clone())
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signin_attempts[0].completed);
    assert!(
        state.signup_attempts.is_empty(),
        "no sign-up attempt was stored"
    );
    assert_eq!(state.signins, vec![c.grant.signin.clone()]);

    let mut again = completion(&s, &signup, "unused");
    again.check = c.check.clone();
    again.claims = vec![Claim::Identity(identity(&new_id("sub")))];
    again.grant = after_rotation(again.grant);
    assert_eq!(
        store.finish_signup(&again).await.unwrap(),
        Completion::AttemptChanged,
        "one user per callback"
    );
    assert!(store.get_user(&again.user.id).await.unwrap().is_none());
}

async fn an_import_writes_the_user_and_claims_or_reports_every_taken_claim(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let mut user = completion(&s, &a, "unused").user;
    user.email_verified = false;
    user.blocked = true;
    user.login_attempts = 20_000;
    user.identities = vec![ImportedIdentity {
        connection: "google-oauth2".into(),
        provider: "google".into(),
        kind: "social".into(),
        id: new_id("sub"),
        details: serde_json::Map::new(),
    }];
    let claims = vec![
        Claim::Email(user.email.clone().unwrap()),
        Claim::Username(user.username.clone().unwrap()),
        Claim::Identity(Identity {
            provider: "google".into(),
            subject: user.identities[0].id.clone(),
        }),
    ];
    assert_eq!(
        store.import_user(&user, &claims).await.unwrap(),
        Completion::Done
    );
    assert_eq!(
        store.get_user(&user.id).await.unwrap(),
        Some(user.clone()),
        "read back field for field"
    );
    for c in &claims {
        assert_eq!(store.claim_owner(c).await.unwrap(), Some(user.id.clone()));
    }

    let mut second = user.clone();
    second.id = new_id(prefix::USER);
    let phone = Claim::Phone(format!("+1555{:07}", sesame::ids::random_below(10_000_000)));
    let mut with_new = claims.clone();
    with_new.push(phone.clone());
    assert_eq!(
        store.import_user(&second, &with_new).await.unwrap(),
        Completion::Taken(claims.clone())
    );
    assert!(store.get_user(&second.id).await.unwrap().is_none());
    assert_eq!(
        store.claim_owner(&phone).await.unwrap(),
        None,
        "nothing written"
    );
}

async fn a_password_hash_is_replaced_only_while_unchanged(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let old = c.user.password_hash.clone().unwrap();
    assert_eq!(
        store
            .replace_password_hash(&c.user.id, "$2b$10$not-the-stored-one", "$argon2id$new")
            .await
            .unwrap(),
        Written::Conflict
    );
    assert_eq!(
        store
            .replace_password_hash(&c.user.id, &old, "$argon2id$new")
            .await
            .unwrap(),
        Written::Done
    );
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(
        store
            .replace_password_hash(&c.user.id, &old, "$argon2id$newer")
            .await
            .unwrap(),
        Written::Conflict,
        "a second rehash from the old hash"
    );
}

async fn a_completion_from_another_session_tells_the_attempts_session_nothing(
    store: Arc<dyn Store>,
) {
    let (starter, a) = opened(store.as_ref(), &email()).await;
    let (elsewhere, _) = opened(store.as_ref(), &email()).await;
    let mut c = completion(&elsewhere, &a, "hash-1");
    c.attempt_session_id = starter.id.clone();
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    let theirs = load(store.as_ref(), &starter.id).await;
    let attempt = &theirs.signup_attempts[0];
    assert!(attempt.completed && attempt.codes.code.is_none());
    assert_eq!(attempt.user_id, None, "no user id in the starter's session");
    assert_eq!(
        attempt.email_verified, a.email_verified,
        "nor anything the user has"
    );
    assert!(theirs.signins.is_empty());
    let ours = load(store.as_ref(), &elsewhere.id).await;
    assert_eq!(ours.signins, vec![c.grant.signin.clone()]);
    assert!(store.get_user(&c.user.id).await.unwrap().is_some());
}

// What each adapter stores after a transition must equal what the domain's pure transition
// (`sesame::domain::transitions`) produces from the state before it.

/// A session as read back, in one order: DynamoDB returns items by sort key, the embedded
/// store in insertion order.
fn ordered(mut s: SessionState) -> SessionState {
    s.signins.sort_by(|a, b| a.id.cmp(&b.id));
    s.signup_attempts.sort_by(|a, b| a.id.cmp(&b.id));
    s.signin_attempts.sort_by(|a, b| a.id.cmp(&b.id));
    s
}

async fn assert_stored(store: &dyn Store, expected: SessionState, what: &str) {
    let stored = load(store, &expected.session.id).await;
    assert_eq!(ordered(stored), ordered(expected), "{what}");
}

async fn a_stored_send_is_the_pure_transition(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let mut expected = load(store.as_ref(), &s.id).await;
    let send = CodeSend {
        code: code("hash-2"),
        expected_sends: a.codes.sends,
    };
    assert_eq!(
        store.record_send(key(&a), &send).await.unwrap(),
        Written::Done
    );
    expected
        .attempt_mut(AttemptKind::Signup, &a.id)
        .unwrap()
        .codes_mut()
        .apply_send(&send);
    assert_stored(store.as_ref(), expected, "apply a send").await;
}

async fn a_stored_signup_completion_is_the_pure_transitions(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let mut expected = load(store.as_ref(), &s.id).await;
    let c = completion(&s, &a, "hash-1");
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    expected.complete_attempt(AttemptKind::Signup, &a.id, c.user_for_attempt());
    expected.apply_grant(&c.grant);
    assert!(expected.signup_attempts[0].user_id.is_some());
    assert_stored(store.as_ref(), expected, "complete, then grant and rotate").await;
    assert_eq!(store.get_user(&c.user.id).await.unwrap(), Some(c.user));
}

async fn a_stored_completion_from_another_session_is_the_pure_transitions(store: Arc<dyn Store>) {
    // A link sign-up still lacking fields, completed by a signup code used in another browser.
    let starter = session();
    let mut a = attempt(&starter.id, &email());
    a.missing_fields = vec!["password".into()];
    store
        .open_attempt(
            &SessionWrite::Create(starter.clone()),
            NewAttempt::Signup(&a),
            None,
        )
        .await
        .unwrap();
    let (elsewhere, _) = opened(store.as_ref(), &email()).await;
    let mut theirs = load(store.as_ref(), &starter.id).await;
    let mut ours = load(store.as_ref(), &elsewhere.id).await;
    let mut c = completion(&elsewhere, &a, "hash-1");
    c.attempt_session_id = starter.id.clone();
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    assert_eq!(c.user_for_attempt(), None, "the starter learns nothing");
    theirs.complete_attempt(AttemptKind::Signup, &a.id, c.user_for_attempt());
    ours.apply_grant(&c.grant);
    assert_stored(store.as_ref(), theirs, "the starter's session").await;
    assert_stored(store.as_ref(), ours, "the session the code was used in").await;
}

async fn a_stored_advance_is_the_pure_transition(store: Arc<dyn Store>) {
    let (s, a) = partial(store.as_ref()).await;
    let mut expected = load(store.as_ref(), &s.id).await;
    let mut advanced = a.clone();
    advanced.advance(Channel::Email);
    let step = SignupAdvance {
        session_id: s.id.clone(),
        proof: proof(&a.id, "hash-1"),
        remaining_steps: advanced.remaining_steps.clone(),
        email_verified: advanced.email_verified,
        phone_verified: advanced.phone_verified,
    };
    assert_eq!(store.advance_signup(&step).await.unwrap(), Written::Done);
    expected.signup_attempts[0].advance(Channel::Email);
    assert_eq!(expected.signup_attempts[0], advanced);
    assert_stored(store.as_ref(), expected, "advance").await;
}

async fn a_stored_signin_completion_is_the_pure_transitions(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let attempt = signin_opened(store.as_ref(), &s, &c.user.id).await;
    let mut expected = load(store.as_ref(), &s.id).await;
    let mut grant = after_rotation(rotate(&s, signin_for(&s.id, &c.user.id)));
    grant.removed_signins = expected.replaced_by_signin_of(&c.user.id);
    assert_eq!(grant.removed_signins, vec![c.grant.signin.clone()]);
    let done = SigninCompletion {
        user_id: c.user.id.clone(),
        check: Some(AttemptCheck::Code(proof(&attempt.id, "hash-s"))),
        link: None,
        password_hash: None,
        verified: None,
        verified_hash: None,
        end_signins: None,
        grant,
    };
    assert_eq!(store.finish_signin(&done).await.unwrap(), Completion::Done);
    expected.complete_attempt(AttemptKind::Signin, &attempt.id, None);
    expected.apply_grant(&done.grant);
    assert_stored(store.as_ref(), expected, "complete, then grant and rotate").await;
}

async fn a_stored_session_creation_is_the_pure_transition(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let mut fresh = session();
    let signin = signin_for(&fresh.id, &c.user.id);
    fresh.active_signin_id = Some(signin.id.clone());
    let done = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        link: None,
        password_hash: None,
        verified: None,
        verified_hash: None,
        end_signins: None,
        grant: Grant {
            signin,
            removed_signins: vec![],
            session: GrantSession::Create(fresh.clone()),
        },
    };
    assert_eq!(store.finish_signin(&done).await.unwrap(), Completion::Done);
    let mut expected = SessionState::new(fresh);
    expected.apply_grant(&done.grant);
    assert_stored(store.as_ref(), expected, "grant into a new session").await;
}

async fn a_stored_sso_continuation_is_the_pure_transition(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let mut expected = load(store.as_ref(), &s.id).await;
    let signup = sso_signup(&s, &email(), "sub-t");
    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &signup, &admission, None)
            .await
            .unwrap(),
        Opened::Done
    );
    expected.continue_as_signup(&sso.id, &signup, &admission);
    assert_stored(store.as_ref(), expected, "continue as a sign-up").await;
}

// Issue 12, item 7: a session lists its attempts and keeps at most `CAP` of each kind; the write
// that adds one deletes the expired ones and, at the cap, the oldest of its kind.

/// Opens a sign-up attempt in the stored session `s`, planned from the list as read now.
async fn open_another(store: &dyn Store, s: &Session, at: Timestamp) -> (SignupAttempt, Opened) {
    let mut a = attempt(&s.id, &email());
    a.created_at = at;
    a.expires_at = at + Duration::hours(1);
    let touch = touch(
        store,
        &s.id,
        AttemptKind::Signup,
        at,
        NOW + Duration::days(7),
    )
    .await;
    let opened = store
        .open_attempt(&touch, NewAttempt::Signup(&a), None)
        .await
        .unwrap();
    (a, opened)
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    let mut ids: Vec<String> = items.iter().map(|x| id(x).to_string()).collect();
    ids.sort();
    ids
}

/// The session's list names exactly the attempt items stored under it.
fn assert_listed_as_stored(state: &SessionState) {
    let mut stored = ids(&state.signup_attempts, |a| &a.id);
    stored.extend(ids(&state.signin_attempts, |a| &a.id));
    stored.sort();
    assert_eq!(ids(&state.session.attempts, |a| &a.id), stored);
}

async fn attempts_beyond_the_cap_replace_the_oldest_of_their_kind(store: Arc<dyn Store>) {
    let (s, first) = opened(store.as_ref(), &email()).await;
    let signin = signin_opened(store.as_ref(), &s, "usr_someone").await;
    let mut opened_ids = vec![first.id.clone()];
    for i in 1..CAP + 5 {
        let at = NOW + Duration::seconds(i as i64);
        let (a, outcome) = open_another(store.as_ref(), &s, at).await;
        assert_eq!(outcome, Opened::Done, "a new attempt always opens");
        opened_ids.push(a.id);
        let state = load(store.as_ref(), &s.id).await;
        assert!(state.signup_attempts.len() <= CAP, "after {}", i + 1);
        assert_listed_as_stored(&state);
    }
    let state = load(store.as_ref(), &s.id).await;
    let mut newest = opened_ids[opened_ids.len() - CAP..].to_vec();
    newest.sort();
    assert_eq!(
        ids(&state.signup_attempts, |a| &a.id),
        newest,
        "the oldest went"
    );
    assert_eq!(
        state.signin_attempts,
        vec![signin],
        "the other kind has its own cap"
    );
}

async fn parallel_opens_never_exceed_the_cap(store: Arc<dyn Store>) {
    let (s, _) = opened(store.as_ref(), &email()).await;
    for i in 1..CAP {
        open_another(store.as_ref(), &s, NOW + Duration::seconds(i as i64)).await;
    }
    // Thirty requests that read the full session at once: one write wins, the others find the
    // list changed and write nothing.
    let read = load(store.as_ref(), &s.id).await.session.attempts;
    let outcomes = join_all((0..30).map(|_| {
        let store = store.clone();
        let s = s.clone();
        let read = read.clone();
        async move {
            let a = attempt(&s.id, &email());
            let touch = SessionWrite::Touch {
                session_id: s.id.clone(),
                last_active_at: NOW,
                expires_at: NOW + Duration::days(7),
                admission: Admission::new(&read, AttemptKind::Signup, NOW),
            };
            store
                .open_attempt(&touch, NewAttempt::Signup(&a), None)
                .await
                .unwrap()
        }
    }))
    .await;
    let done = outcomes.iter().filter(|o| **o == Opened::Done).count();
    assert_eq!(done, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Opened::Done | Opened::Conflict))
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signup_attempts.len(), CAP);
    assert_listed_as_stored(&state);

    // Thirty that each read again after losing, as the domain does: all open, CAP remain.
    let outcomes = join_all((0..30).map(|_| {
        let store = store.clone();
        let s = s.clone();
        async move {
            for _ in 0..100 {
                if open_another(store.as_ref(), &s, NOW).await.1 == Opened::Done {
                    return true;
                }
            }
            false
        }
    }))
    .await;
    assert!(outcomes.iter().all(|done| *done), "{outcomes:?}");
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signup_attempts.len(), CAP);
    assert_listed_as_stored(&state);
}

async fn expired_attempts_are_deleted_when_an_attempt_is_written(store: Arc<dyn Store>) {
    // Expiry is judged at the write's time, far from the real clock's: DynamoDB Local's TTL must
    // not be the one deleting them.
    let (s, early) = opened(store.as_ref(), &email()).await;
    let signin = signin_opened(store.as_ref(), &s, "usr_someone").await;
    let (later, _) = open_another(store.as_ref(), &s, NOW + Duration::minutes(30)).await;
    let at = NOW + Duration::minutes(61);
    assert!(at >= early.expires_at && at >= signin.expires_at && at < later.expires_at);

    let mut new = signin_attempt(&s.id, "usr_someone");
    new.created_at = at;
    new.expires_at = at + Duration::hours(1);
    let touch = touch(
        store.as_ref(),
        &s.id,
        AttemptKind::Signin,
        at,
        at + Duration::days(7),
    )
    .await;
    assert_eq!(
        store
            .open_attempt(&touch, NewAttempt::Signin(&new), None)
            .await
            .unwrap(),
        Opened::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(
        state.signup_attempts,
        vec![later.clone()],
        "the expired sign-up is deleted"
    );
    assert_eq!(
        state.signin_attempts,
        vec![new.clone()],
        "so is the expired sign-in"
    );
    assert_eq!(
        state.session.attempts,
        vec![
            NewAttempt::Signup(&later).listed(),
            NewAttempt::Signin(&new).listed()
        ]
    );
}

async fn an_sso_continuation_is_admitted_like_an_opened_attempt(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let mut opened_ids = Vec::new();
    for i in 0..CAP {
        let (a, _) = open_another(store.as_ref(), &s, NOW + Duration::seconds(i as i64)).await;
        opened_ids.push(a.id);
    }
    let signup = sso_signup(&s, &email(), "sub-cap");
    let stale = Admission::new(&[], AttemptKind::Signup, NOW);
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &signup, &stale, None)
            .await
            .unwrap(),
        Opened::Conflict,
        "the list changed since it was read"
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(!state.signin_attempts[0].completed, "nothing written");
    assert_eq!(state.signup_attempts.len(), CAP);

    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &signup, &admission, None)
            .await
            .unwrap(),
        Opened::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    let mut kept = opened_ids[1..].to_vec();
    kept.push(signup.id.clone());
    kept.sort();
    assert_eq!(
        ids(&state.signup_attempts, |a| &a.id),
        kept,
        "the oldest went"
    );
    assert!(state.signin_attempts[0].completed);
    assert_listed_as_stored(&state);
}

async fn a_stored_admission_is_the_pure_transition(store: Arc<dyn Store>) {
    // A full session with an expired sign-in attempt: both leave as the new sign-up joins.
    let (s, _) = opened(store.as_ref(), &email()).await;
    let mut expiring = signin_attempt(&s.id, "usr_someone");
    expiring.expires_at = NOW + Duration::minutes(30);
    let t = touch(
        store.as_ref(),
        &s.id,
        AttemptKind::Signin,
        NOW,
        NOW + Duration::days(7),
    )
    .await;
    store
        .open_attempt(&t, NewAttempt::Signin(&expiring), None)
        .await
        .unwrap();
    for i in 1..CAP {
        open_another(store.as_ref(), &s, NOW + Duration::seconds(i as i64)).await;
    }
    let at = NOW + Duration::minutes(45);
    let mut expected = load(store.as_ref(), &s.id).await;
    let mut new = attempt(&s.id, &email());
    new.created_at = at;
    let touch = touch(
        store.as_ref(),
        &s.id,
        AttemptKind::Signup,
        at,
        at + Duration::days(7),
    )
    .await;
    let SessionWrite::Touch { admission, .. } = &touch else {
        unreachable!("a touch")
    };
    assert_eq!(admission.dropped.len(), 2, "{admission:?}");
    assert_eq!(
        store
            .open_attempt(&touch, NewAttempt::Signup(&new), None)
            .await
            .unwrap(),
        Opened::Done
    );
    expected.session.last_active_at = at;
    expected.session.expires_at = at + Duration::days(7);
    expected.admit(admission, NewAttempt::Signup(&new));
    assert_stored(
        store.as_ref(),
        expected,
        "admit: drop the expired and the oldest",
    )
    .await;
}

/// A password reset: the code moves the sign-in attempt to `reset_password` (as
/// `SigninAttempt::advance` does), and only then does a completion at that step set the hash, once.
async fn a_reset_advances_on_its_code_then_sets_the_password_once(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let mut reset = signin_attempt(&s.id, &c.user.id);
    reset.method = SigninMethod::ResetPasswordEmailCode;
    reset.remaining_steps = vec![Step::VerifyEmailOtp, Step::ResetPassword];
    let touch = touch(
        store.as_ref(),
        &s.id,
        AttemptKind::Signin,
        NOW,
        NOW + Duration::days(7),
    )
    .await;
    store
        .open_attempt(&touch, NewAttempt::Signin(&reset), None)
        .await
        .unwrap();
    let at_step = AttemptCheck::AtStep {
        attempt_id: reset.id.clone(),
        step: Step::ResetPassword,
        user: None,
    };
    let completion = |hash: &str| SigninCompletion {
        user_id: c.user.id.clone(),
        check: Some(at_step.clone()),
        verified: None,
        link: None,
        password_hash: Some(hash.to_string()),
        verified_hash: None,
        end_signins: None,
        grant: after_rotation(rotate(&s, signin_for(&s.id, &c.user.id))),
    };
    // Before its code, the attempt is not at `reset_password`.
    assert_eq!(
        store
            .finish_signin(&completion("$argon2id$early"))
            .await
            .unwrap(),
        Completion::AttemptChanged
    );

    let mut expected = load(store.as_ref(), &s.id).await;
    let mut advanced = reset.clone();
    advanced.advance();
    let stale = SigninAdvance {
        session_id: s.id.clone(),
        check: AttemptCheck::Code(proof(&reset.id, "hash-other")),
        remaining_steps: advanced.remaining_steps.clone(),
        second_factor: None,
        user: None,
    };
    assert_eq!(
        store.advance_signin(&stale).await.unwrap(),
        Written::Conflict
    );
    let step = SigninAdvance {
        check: AttemptCheck::Code(proof(&reset.id, "hash-s")),
        ..stale
    };
    assert_eq!(store.advance_signin(&step).await.unwrap(), Written::Done);
    assert_eq!(
        store.advance_signin(&step).await.unwrap(),
        Written::Conflict,
        "the code is spent"
    );
    expected
        .signin_attempts
        .iter_mut()
        .find(|a| a.id == reset.id)
        .unwrap()
        .advance();
    assert_eq!(expected.signin_attempt(&reset.id), Some(&advanced));
    assert_stored(store.as_ref(), expected, "advance a sign-in attempt").await;

    let mut wins = completion("$argon2id$new");
    wins.grant.removed_signins = vec![c.grant.signin.clone()];
    assert_eq!(store.finish_signin(&wins).await.unwrap(), Completion::Done);
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(user.updated_at, NOW);
    let again = completion("$argon2id$again");
    assert_ne!(store.finish_signin(&again).await.unwrap(), Completion::Done);
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$new"));
}
