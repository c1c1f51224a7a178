//! Second-factor enrollment changes (issue 13): a write is `User::apply_second_factor` on the
//! stored user at the expected version, or nothing; parallel writes at one version apply once.

use super::*;
use sesame::domain::factors::SecondFactorWrite;

conformance!(
    a_second_factor_write_is_the_pure_transition_or_nothing,
    parallel_second_factor_writes_at_one_version_apply_once,
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
