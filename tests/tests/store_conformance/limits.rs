//! Rate limits: at most the maximum per window, in parallel too; a released hit frees one place, and
//! an attempt whose charge is refused writes nothing.

use super::*;

conformance!(
    limits_allow_the_maximum_per_window,
    parallel_limit_hits_allow_the_maximum_only,
    a_released_hit_frees_one_place,
    an_attempt_whose_charge_is_refused_writes_nothing,
);

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
