//! Codes: a send applies only at the expected count, a failed send lifts only its own code, and
//! wrong codes are counted up to the maximum, in parallel too.

use super::*;

conformance!(
    a_send_applies_only_on_the_expected_count,
    a_failed_send_lifts_only_its_own_code,
    wrong_codes_count_up_to_the_maximum_then_are_refused,
    parallel_wrong_codes_are_counted_to_the_maximum_only,
);

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
