//! Second-factor enrollment changes (issue 13): a write is `User::apply_second_factor` on the
//! stored user at the expected version, or nothing; parallel writes at one version apply once.

use super::*;
use sesame::domain::factors::{SecondFactorChallenge, SecondFactorUse, SecondFactorWrite};

conformance!(
    a_second_factor_write_is_the_pure_transition_or_nothing,
    parallel_second_factor_writes_at_one_version_apply_once,
    a_granted_second_factor_is_spent_as_the_pure_transition_once,
    a_second_factor_grant_after_every_signin_ended_writes_nothing,
    a_grant_that_met_no_second_factor_is_refused_once_one_is_on,
    an_sso_check_does_not_hold_once_the_attempt_waits_for_a_factor,
    a_reverification_by_a_second_factor_spends_it_once,
);

async fn stored_user(store: &dyn Store) -> User {
    let s = session();
    let a = attempt(&s.id, &email());
    let user = completion(&s, &a, "ab").user;
    assert_eq!(
        store.import_user(&user, &[]).await.unwrap(),
        Completion::Done
    );
    user
}

fn enabling(user: &User) -> SecondFactorWrite {
    let mut w = SecondFactorWrite::on(&user.id, &user.second_factor, NOW + Duration::minutes(1));
    w.totp_secret = Some(Some("v1.sealed".into()));
    w.totp_pending_secret = Some(None);
    w.totp_last_step = Some(Some(1234));
    w.backup_code_hashes = Some(vec!["aa".into(), "bb".into()]);
    w.two_factor_enabled = true;
    w
}

async fn a_second_factor_write_is_the_pure_transition_or_nothing(store: Arc<dyn Store>) {
    let mut user = stored_user(store.as_ref()).await;
    let mut pending = SecondFactorWrite::on(&user.id, &user.second_factor, NOW);
    pending.totp_pending_secret = Some(Some("v1.pending".into()));
    assert_eq!(
        store.write_second_factor(&pending).await.unwrap(),
        Written::Done
    );
    user.apply_second_factor(&pending);
    assert_eq!(store.get_user(&user.id).await.unwrap().unwrap(), user);

    let on = enabling(&user);
    assert_eq!(store.write_second_factor(&on).await.unwrap(), Written::Done);
    user.apply_second_factor(&on);
    let stored = store.get_user(&user.id).await.unwrap().unwrap();
    assert_eq!(stored, user);
    assert!(stored.two_factor_enabled && stored.second_factor.totp_pending_secret.is_none());
    assert_eq!(stored.second_factor.backup_code_hashes.len(), 2);

    // The same version again: another change came first, nothing is written.
    let mut stale = on.clone();
    stale.phone_second_factor = Some(true);
    assert_eq!(
        store.write_second_factor(&stale).await.unwrap(),
        Written::Conflict
    );
    assert_eq!(store.get_user(&user.id).await.unwrap().unwrap(), user);

    let mut off = SecondFactorWrite::on(&user.id, &user.second_factor, NOW + Duration::minutes(2));
    off.totp_secret = Some(None);
    off.totp_last_step = Some(None);
    off.backup_code_hashes = Some(Vec::new());
    off.two_factor_enabled = false;
    assert_eq!(
        store.write_second_factor(&off).await.unwrap(),
        Written::Done
    );
    user.apply_second_factor(&off);
    assert_eq!(store.get_user(&user.id).await.unwrap().unwrap(), user);
    assert!(!user.second_factor.any_on());

    let mut gone = off.clone();
    gone.user_id = new_id(prefix::USER);
    gone.expected_version = 0;
    assert_eq!(
        store.write_second_factor(&gone).await.unwrap(),
        Written::Conflict
    );
    assert!(
        store.get_user(&gone.user_id).await.unwrap().is_none(),
        "no user created"
    );
}

async fn parallel_second_factor_writes_at_one_version_apply_once(store: Arc<dyn Store>) {
    let user = stored_user(store.as_ref()).await;
    let results = join_all((0..10).map(|i| {
        let store = store.clone();
        let mut w = enabling(&user);
        w.backup_code_hashes = Some(vec![format!("{i:02}")]);
        async move { store.write_second_factor(&w).await.unwrap() }
    }))
    .await;
    assert_eq!(results.iter().filter(|r| **r == Written::Done).count(), 1);
    let stored = store.get_user(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.second_factor.second_factor_version, 1);
    assert_eq!(stored.second_factor.backup_code_hashes.len(), 1);
}

/// The grant at `verify_second_factor` spends the factor on the user (`User::spend_second_factor`)
/// in its transaction; a second grant with the same backup code or TOTP step writes nothing.
async fn a_granted_second_factor_is_spent_as_the_pure_transition_once(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let mut user = store.get_user(&c.user.id).await.unwrap().unwrap();
    let on = enabling(&user);
    assert_eq!(store.write_second_factor(&on).await.unwrap(), Written::Done);
    user.apply_second_factor(&on);

    for (spend, again) in [
        (
            SecondFactorUse::BackupCode { hash: "aa".into() },
            SecondFactorUse::BackupCode { hash: "aa".into() },
        ),
        (
            SecondFactorUse::Totp {
                sealed_secret: "v1.sealed".into(),
                step: 1235,
            },
            SecondFactorUse::Totp {
                sealed_secret: "v1.sealed".into(),
                step: 1235,
            },
        ),
    ] {
        let mut grants = Vec::new();
        for _ in 0..2 {
            let mut attempt = signin_attempt(&s.id, &c.user.id);
            attempt.remaining_steps = vec![Step::VerifySecondFactor];
            attempt.codes = CodeState::default();
            attempt.second_factor = SecondFactorChallenge::for_user(&user.second_factor, None);
            let touch = touch(
                store.as_ref(),
                &s.id,
                AttemptKind::Signin,
                NOW,
                NOW + Duration::days(7),
            )
            .await;
            assert_eq!(
                store
                    .open_attempt(&touch, NewAttempt::Signin(&attempt), None)
                    .await
                    .unwrap(),
                Opened::Done
            );
            grants.push(attempt);
        }
        let check = |attempt: &SigninAttempt, spend: &SecondFactorUse| AttemptCheck::SecondFactor {
            attempt_id: attempt.id.clone(),
            user_id: c.user.id.clone(),
            max_wrong_codes: 5,
            code_hash: None,
            spend: spend.clone(),
            gate: None,
            signouts_version: 0,
        };
        let state = load(store.as_ref(), &s.id).await;
        let mut grant = after_rotation(rotate(&state.session, signin_for(&s.id, &c.user.id)));
        grant.removed_signins = state.replaced_by_signin_of(&c.user.id);
        let done = SigninCompletion {
            user_id: c.user.id.clone(),
            check: Some(check(&grants[0], &spend)),
            link: None,
            password_hash: None,
            verified_hash: None,
            end_signins: None,
            verified: None,
            grant,
        };
        let mut expected = state.clone();
        assert_eq!(store.finish_signin(&done).await.unwrap(), Completion::Done);
        assert!(user.can_spend_second_factor(&spend));
        user.spend_second_factor(&spend);
        user.login_attempts = 0;
        let stored = store.get_user(&c.user.id).await.unwrap().unwrap();
        assert_eq!(stored.second_factor, user.second_factor);
        expected.complete_attempt(AttemptKind::Signin, &grants[0].id, None);
        expected.apply_grant(&done.grant);
        assert_stored(store.as_ref(), expected, "the second factor's grant").await;

        let state = load(store.as_ref(), &s.id).await;
        let mut grant = after_rotation(rotate(&state.session, signin_for(&s.id, &c.user.id)));
        grant.removed_signins = state.replaced_by_signin_of(&c.user.id);
        let replay = SigninCompletion {
            check: Some(check(&grants[1], &again)),
            grant,
            ..done
        };
        assert_eq!(
            store.finish_signin(&replay).await.unwrap(),
            Completion::UserBlocked
        );
        assert_stored(store.as_ref(), state, "a spent factor grants nothing").await;
    }
}

/// A sign-in attempt of the user waiting at `verify_second_factor`, stored in `s`.
async fn waiting_at_second_factor(store: &dyn Store, s: &Session, user: &User) -> SigninAttempt {
    let mut attempt = signin_attempt(&s.id, &user.id);
    attempt.remaining_steps = vec![Step::VerifySecondFactor];
    attempt.codes = CodeState::default();
    attempt.second_factor = SecondFactorChallenge::for_user(&user.second_factor, None);
    let touch = touch(
        store,
        &s.id,
        AttemptKind::Signin,
        NOW,
        NOW + Duration::days(7),
    )
    .await;
    assert_eq!(
        store
            .open_attempt(&touch, NewAttempt::Signin(&attempt), None)
            .await
            .unwrap(),
        Opened::Done
    );
    attempt
}

/// A grant of `user_id` in `s` as the session now is.
async fn next_grant(store: &dyn Store, s: &Session, user_id: &str) -> (SessionState, Grant) {
    let state = load(store, &s.id).await;
    let mut grant = after_rotation(rotate(&state.session, signin_for(&s.id, user_id)));
    grant.removed_signins = state.replaced_by_signin_of(user_id);
    (state, grant)
}

/// Ending every signin of the user (a reset, `sign_out_others`, an admin sign-out) adds one to
/// its `signouts_version`, and a grant at `verify_second_factor` requires the one its attempt
/// was opened with: a sign-in half done ends with the signins.
async fn a_second_factor_grant_after_every_signin_ended_writes_nothing(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let mut user = store.get_user(&c.user.id).await.unwrap().unwrap();
    let on = enabling(&user);
    assert_eq!(store.write_second_factor(&on).await.unwrap(), Written::Done);
    user.apply_second_factor(&on);
    let attempt = waiting_at_second_factor(store.as_ref(), &s, &user).await;
    let opened_at = attempt.second_factor.as_ref().unwrap().signouts_version;

    store.end_signins_of_user(&user.id, None).await.unwrap();
    let ended = store.get_user(&user.id).await.unwrap().unwrap();
    assert_eq!(ended.second_factor.signouts_version, opened_at + 1);
    user.signed_out_everywhere();
    assert_eq!(
        ended.second_factor, user.second_factor,
        "the pure transition"
    );

    let (state, grant) = next_grant(store.as_ref(), &s, &user.id).await;
    let spend = SecondFactorUse::BackupCode { hash: "aa".into() };
    let check = |signouts_version| AttemptCheck::SecondFactor {
        attempt_id: attempt.id.clone(),
        user_id: user.id.clone(),
        max_wrong_codes: 5,
        code_hash: None,
        spend: spend.clone(),
        gate: None,
        signouts_version,
    };
    let stale = SigninCompletion {
        user_id: user.id.clone(),
        check: Some(check(opened_at)),
        link: None,
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        verified: None,
        grant,
    };
    assert_eq!(
        store.finish_signin(&stale).await.unwrap(),
        Completion::SecondFactorStale
    );
    assert_stored(
        store.as_ref(),
        state,
        "a stale second factor grants nothing",
    )
    .await;
    let unspent = store.get_user(&user.id).await.unwrap().unwrap();
    assert!(
        unspent.can_spend_second_factor(&spend),
        "the code is not spent"
    );

    let current = SigninCompletion {
        check: Some(check(opened_at + 1)),
        ..stale
    };
    assert_eq!(
        store.finish_signin(&current).await.unwrap(),
        Completion::Done
    );
}

/// A code or password sign-in that met no second factor is granted only while the user still
/// has none: one turned on meanwhile refuses it (`SecondFactorStale`), nothing written.
async fn a_grant_that_met_no_second_factor_is_refused_once_one_is_on(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let attempt = signin_opened(store.as_ref(), &s, &c.user.id).await;
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(
        store.write_second_factor(&enabling(&user)).await.unwrap(),
        Written::Done
    );
    let (state, grant) = next_grant(store.as_ref(), &s, &user.id).await;
    let by_code = SigninCompletion {
        user_id: user.id.clone(),
        check: Some(AttemptCheck::Code(CodeProof {
            attempt_id: attempt.id.clone(),
            code_hash: "hash-s".into(),
            max_wrong_codes: 5,
            gate: None,
        })),
        link: None,
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        verified: None,
        grant,
    };
    assert!(by_code.requires_no_second_factor());
    assert_eq!(
        store.finish_signin(&by_code).await.unwrap(),
        Completion::SecondFactorStale
    );
    assert_stored(
        store.as_ref(),
        state.clone(),
        "a code sign-in skips no factor",
    )
    .await;

    let by_password = SigninCompletion {
        check: None,
        verified_hash: user.password_hash.clone(),
        ..by_code
    };
    assert!(by_password.requires_no_second_factor());
    assert_eq!(
        store.finish_signin(&by_password).await.unwrap(),
        Completion::SecondFactorStale
    );
    assert_stored(store.as_ref(), state, "a password sign-in skips no factor").await;
}

/// An OAuth callback's check (`Sso`) holds only of an attempt with no step listed: once the
/// attempt waits at `verify_second_factor`, it grants nothing (only the factor does).
async fn an_sso_check_does_not_hold_once_the_attempt_waits_for_a_factor(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    let attempt = waiting_at_second_factor(store.as_ref(), &s, &user).await;
    let (state, grant) = next_grant(store.as_ref(), &s, &user.id).await;
    let replayed = SigninCompletion {
        user_id: user.id.clone(),
        check: Some(AttemptCheck::Sso {
            attempt_id: attempt.id.clone(),
        }),
        link: None,
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        verified: None,
        grant,
    };
    assert_eq!(
        store.finish_signin(&replayed).await.unwrap(),
        Completion::AttemptChanged
    );
    assert_stored(
        store.as_ref(),
        state,
        "a waiting attempt is not an open callback",
    )
    .await;
}

/// `reverify_with_second_factor`: the factor spent (`User::spend_second_factor`) and the signin's
/// `verified_at` set in one write; the same code again, or a gone signin, writes nothing.
async fn a_reverification_by_a_second_factor_spends_it_once(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let mut user = store.get_user(&c.user.id).await.unwrap().unwrap();
    let on = enabling(&user);
    assert_eq!(store.write_second_factor(&on).await.unwrap(), Written::Done);
    user.apply_second_factor(&on);
    let signin = c.grant.signin.clone();
    let at = NOW + Duration::minutes(20);
    let spend = SecondFactorUse::BackupCode { hash: "bb".into() };
    let mut expected = load(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .reverify_with_second_factor(&signin, &spend, at)
            .await
            .unwrap(),
        Written::Done
    );
    user.spend_second_factor(&spend);
    let stored = store.get_user(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.second_factor, user.second_factor);
    expected.signins[0].verified_at = at;
    assert_stored(store.as_ref(), expected.clone(), "a reverification").await;
    let listed = store.read_signins_of_user(&user.id).await.unwrap();
    assert_eq!(listed.signins[0].verified_at, at, "the index entry too");

    let later = at + Duration::minutes(1);
    assert_eq!(
        store
            .reverify_with_second_factor(&signin, &spend, later)
            .await
            .unwrap(),
        Written::Conflict,
        "a spent code"
    );
    assert_stored(store.as_ref(), expected, "a spent code writes nothing").await;

    store.end_signins_of_user(&user.id, None).await.unwrap();
    let totp = SecondFactorUse::Totp {
        sealed_secret: "v1.sealed".into(),
        step: 1300,
    };
    assert_eq!(
        store
            .reverify_with_second_factor(&signin, &totp, later)
            .await
            .unwrap(),
        Written::Conflict,
        "a gone signin"
    );
    let unspent = store.get_user(&user.id).await.unwrap().unwrap();
    assert!(unspent.can_spend_second_factor(&totp), "nothing spent");
}
