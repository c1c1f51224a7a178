//! Sign-up completions: one write creates the user, its claims and its signin or writes nothing
//! (taken claim, stale code, dead attempt), once under concurrency; multi-step sign-ups advance on
//! a code and complete at their profile step.

use super::*;

conformance!(
    a_completion_writes_everything_at_once,
    a_completion_with_a_taken_claim_writes_nothing,
    a_completion_with_a_stale_code_or_dead_attempt_writes_nothing,
    a_completion_evicts_the_named_signin,
    parallel_completions_of_one_attempt_succeed_once,
    parallel_completions_claiming_one_email_create_one_user,
    a_completion_from_another_session_tells_the_attempts_session_nothing,
    a_proven_contact_another_user_holds_is_taken,
    a_code_step_with_steps_to_go_advances_without_a_user,
    a_profile_completion_completes_only_at_its_step,
    a_revision_applies_only_while_the_profile_is_awaited,
);

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
