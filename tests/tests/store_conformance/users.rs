//! Users: profile updates, username moves under their claim (in parallel too), and imports that
//! write the user and claims or report every taken claim.

use super::*;

conformance!(
    profile_updates_apply_and_return_the_user,
    a_username_moves_its_claim_or_is_refused,
    parallel_username_changes_to_one_name_give_it_once,
    an_import_writes_the_user_and_claims_or_reports_every_taken_claim,
);

fn changes() -> ProfileChanges {
    ProfileChanges {
        first_name: None,
        last_name: None,
        image_url: None,
        metadata: None,
        profile: None,
        updated_at: NOW + Duration::hours(3),
    }
}

async fn profile_updates_apply_and_return_the_user(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let mut meta = Map::new();
    meta.insert("tier".into(), json!("gold"));
    let update = ProfileChanges {
        first_name: Some(Some("Augusta".into())),
        last_name: Some(None),
        image_url: Some(Some("https://cdn.example.com/ada.png".into())),
        metadata: Some(meta.clone()),
        ..changes()
    };
    let updated = store
        .update_profile(&c.user.id, &update)
        .await
        .unwrap()
        .unwrap();
    let mut expected = c.user.clone();
    update.apply(&mut expected);
    assert_eq!(updated, expected);
    assert_eq!(updated.metadata, meta);
    assert_eq!(updated.last_name, None);
    assert_eq!(store.get_user(&c.user.id).await.unwrap().unwrap(), expected);
    assert_eq!(
        store.update_profile("usr_missing", &update).await.unwrap(),
        None
    );
}

async fn a_username_moves_its_claim_or_is_refused(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let (_, other) = signed_up(store.as_ref()).await;
    let old = c.user.username.clone().unwrap();
    let new = format!("n{}", &new_id("x")[2..12]);

    let theirs = other.user.username.clone().unwrap();
    assert_eq!(
        store
            .change_username(&c.user.id, Some(&old), &theirs.to_uppercase(), &changes())
            .await
            .unwrap(),
        UsernameChange::Taken
    );
    assert_eq!(
        store
            .change_username(&c.user.id, Some("not-the-name"), &new, &changes())
            .await
            .unwrap(),
        UsernameChange::Stale
    );
    assert_eq!(
        store
            .claim_owner(&Claim::Username(new.clone()))
            .await
            .unwrap(),
        None,
        "nothing written"
    );

    assert_eq!(
        store
            .change_username(&c.user.id, Some(&old), &new, &changes())
            .await
            .unwrap(),
        UsernameChange::Done
    );
    let user = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(user.username.as_ref(), Some(&new));
    assert_eq!(user.updated_at, changes().updated_at);
    assert_eq!(
        store
            .claim_owner(&Claim::Username(new.clone()))
            .await
            .unwrap(),
        Some(c.user.id.clone())
    );
    assert_eq!(
        store.claim_owner(&Claim::Username(old)).await.unwrap(),
        None,
        "the old name is free"
    );

    // A change of case only keeps the same claim.
    let upper = new.to_uppercase();
    assert_eq!(
        store
            .change_username(&c.user.id, Some(&new), &upper, &changes())
            .await
            .unwrap(),
        UsernameChange::Done
    );
    assert_eq!(
        store.claim_owner(&Claim::Username(new)).await.unwrap(),
        Some(c.user.id.clone())
    );
}

async fn parallel_username_changes_to_one_name_give_it_once(store: Arc<dyn Store>) {
    let mut users = Vec::new();
    for _ in 0..5 {
        users.push(signed_up(store.as_ref()).await.1.user);
    }
    let wanted = format!("w{}", &new_id("x")[2..12]);
    let outcomes = join_all(users.iter().map(|u| {
        let store = store.clone();
        let wanted = wanted.clone();
        async move {
            store
                .change_username(&u.id, u.username.as_deref(), &wanted, &changes())
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == UsernameChange::Done)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, UsernameChange::Done | UsernameChange::Taken))
    );
}

async fn an_import_writes_the_user_and_claims_or_reports_every_taken_claim(store: Arc<dyn Store>) {
    let (s, a) = opened(store.as_ref(), &email()).await;
    let mut user = completion(&s, &a, "unused").user;
    user.email_verified = false;
    user.blocked = true;
    user.login_attempts = 20_000;
    user.identities = vec![ImportedIdentity {
        connection: "google-oauth2".into(),
        provider: "google".into(),
        kind: "social".into(),
        id: new_id("sub"),
        details: serde_json::Map::new(),
    }];
    let claims = vec![
        Claim::Email(user.email.clone().unwrap()),
        Claim::Username(user.username.clone().unwrap()),
        Claim::Identity(Identity {
            provider: "google".into(),
            subject: user.identities[0].id.clone(),
        }),
    ];
    assert_eq!(
        store.import_user(&user, &claims).await.unwrap(),
        Completion::Done
    );
    assert_eq!(
        store.get_user(&user.id).await.unwrap(),
        Some(user.clone()),
        "read back field for field"
    );
    for c in &claims {
        assert_eq!(store.claim_owner(c).await.unwrap(), Some(user.id.clone()));
    }

    let mut second = user.clone();
    second.id = new_id(prefix::USER);
    let phone = Claim::Phone(format!("+1555{:07}", sesame::ids::random_below(10_000_000)));
    let mut with_new = claims.clone();
    with_new.push(phone.clone());
    assert_eq!(
        store.import_user(&second, &with_new).await.unwrap(),
        Completion::Taken(claims.clone())
    );
    assert!(store.get_user(&second.id).await.unwrap().is_none());
    assert_eq!(
        store.claim_owner(&phone).await.unwrap(),
        None,
        "nothing written"
    );
}
