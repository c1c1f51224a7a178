//! Sessions: created and read back field for field, touched, their signins switched and removed,
//! deleted with everything under them, and a secret rotation that must prove the current secret.

use super::*;

conformance!(
    a_created_session_reads_back_field_for_field,
    creating_an_existing_session_or_touching_a_missing_one_conflicts,
    touching_moves_the_session_and_active_signin,
    switching_and_removing_signins_need_them_to_exist,
    deleting_a_session_removes_everything_under_it,
    a_rotation_from_a_replaced_secret_writes_nothing,
);

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
