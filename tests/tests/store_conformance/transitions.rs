//! What each adapter stores after a transition must equal what the domain's pure transition
//! (`sesame::domain::transitions`) produces from the state before it.

use super::*;

conformance!(
    a_stored_send_is_the_pure_transition,
    a_stored_signup_completion_is_the_pure_transitions,
    a_stored_completion_from_another_session_is_the_pure_transitions,
    a_stored_advance_is_the_pure_transition,
    a_stored_signin_completion_is_the_pure_transitions,
    a_stored_session_creation_is_the_pure_transition,
    a_stored_sso_continuation_is_the_pure_transition,
);

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
