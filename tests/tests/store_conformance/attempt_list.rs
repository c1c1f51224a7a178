//! Issue 12, item 7: a session lists its attempts and keeps at most `CAP` of each kind; the write
//! that adds one deletes the expired ones and, at the cap, the oldest of its kind.

use super::*;

conformance!(
    attempts_beyond_the_cap_replace_the_oldest_of_their_kind,
    parallel_opens_never_exceed_the_cap,
    expired_attempts_are_deleted_when_an_attempt_is_written,
    an_sso_continuation_is_admitted_like_an_opened_attempt,
    a_stored_admission_is_the_pure_transition,
);

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
