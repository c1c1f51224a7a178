//! Second-factor enrollment changes (issue 13): a write is `User::apply_second_factor` on the
//! stored user at the expected version, or nothing; parallel writes at one version apply once.

use super::*;
use sesame::domain::factors::{SecondFactorChallenge, SecondFactorUse, SecondFactorWrite};

conformance!(
    a_second_factor_write_is_the_pure_transition_or_nothing,
    parallel_second_factor_writes_at_one_version_apply_once,
    a_granted_second_factor_is_spent_as_the_pure_transition_once,
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
