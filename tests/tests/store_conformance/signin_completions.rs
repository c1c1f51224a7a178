//! Sign-in completions: claims name their owner, a completion grants (into the session or a new
//! one) and resets failed logins or writes nothing (blocked user, stale code); password hashes and
//! resets.

use super::*;

conformance!(
    a_claim_names_its_owner_and_failed_logins_are_counted,
    a_signin_completion_grants_and_resets_failed_logins,
    a_signin_completion_creates_a_session_when_there_was_none,
    a_signin_completion_refuses_a_blocked_user_and_writes_nothing,
    a_signin_completion_with_a_stale_code_writes_nothing,
    a_password_hash_is_replaced_only_while_unchanged,
    a_reset_advances_on_its_code_then_sets_the_password_once,
);

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
