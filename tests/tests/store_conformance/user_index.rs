//! The user's index (issue 11): every signin of a user across sessions, kept in the same writes
//! that grant and end signins; ending them all exactly, revoking one elsewhere, deleting a user.

use super::*;

conformance!(
    the_user_index_follows_every_grant_and_end,
    touching_and_verifying_a_signin_show_in_the_index,
    revoking_a_signin_elsewhere_ends_it_once,
    ending_all_signins_of_a_user_spares_the_kept_one_and_other_users,
    parallel_grants_never_escape_an_end_of_all,
    deleting_a_user_frees_its_claims_and_ends_its_signins,
    parallel_deletions_of_one_user_succeed_once,
);

/// Signs `user_id` in through a new session, as a password sign-in without an attempt does.
pub(super) async fn granted_elsewhere(store: &dyn Store, user_id: &str) -> Signin {
    let mut fresh = session();
    let signin = signin_for(&fresh.id, user_id);
    fresh.active_signin_id = Some(signin.id.clone());
    let done = SigninCompletion {
        user_id: user_id.to_string(),
        check: None,
        link: None,
        verified: None,
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        grant: Grant {
            signin: signin.clone(),
            removed_signins: vec![],
            session: GrantSession::Create(fresh),
        },
    };
    assert_eq!(store.finish_signin(&done).await.unwrap(), Completion::Done);
    signin
}

pub(super) fn ids(signins: &[Signin]) -> Vec<String> {
    let mut ids: Vec<String> = signins.iter().map(|s| s.id.clone()).collect();
    ids.sort();
    ids
}

pub(super) async fn indexed(store: &dyn Store, user_id: &str) -> Vec<String> {
    ids(&store.signins_of_user(user_id).await.unwrap())
}

async fn the_user_index_follows_every_grant_and_end(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let first = c.grant.signin.clone();
    assert_eq!(
        store.signins_of_user(&c.user.id).await.unwrap(),
        vec![first.clone()],
        "the index holds the signin as granted, field for field"
    );
    let other = granted_elsewhere(store.as_ref(), &c.user.id).await;
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(&[first.clone(), other.clone()])
    );

    // A new signin of the same user in the first session replaces the old one there.
    let attempt = signin_opened(store.as_ref(), &s, &c.user.id).await;
    let replacement = signin_for(&s.id, &c.user.id);
    let mut grant = after_rotation(rotate(&s, replacement.clone()));
    grant.removed_signins = vec![first.clone()];
    let done = SigninCompletion {
        user_id: c.user.id.clone(),
        check: Some(AttemptCheck::Code(proof(&attempt.id, "hash-s"))),
        link: None,
        verified: None,
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        grant,
    };
    assert_eq!(store.finish_signin(&done).await.unwrap(), Completion::Done);
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(&[replacement.clone(), other.clone()])
    );

    // A sign-out of one signin, and of a whole session, take their entries along.
    assert_eq!(
        store.remove_signin(&other, None).await.unwrap(),
        Written::Done
    );
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(std::slice::from_ref(&replacement))
    );
    store.delete_session(&s.id).await.unwrap();
    assert!(indexed(store.as_ref(), &c.user.id).await.is_empty());
}

async fn touching_and_verifying_a_signin_show_in_the_index(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let signin = c.grant.signin.clone();
    let later = NOW + Duration::hours(3);
    store
        .touch_session(&s.id, Some(&signin), later, later + Duration::days(7))
        .await
        .unwrap();
    let verified = NOW + Duration::hours(4);
    assert_eq!(
        store.mark_verified(&signin, verified).await.unwrap(),
        Written::Done
    );
    let expected = Signin {
        last_active_at: later,
        verified_at: verified,
        ..signin.clone()
    };
    assert_eq!(
        load(store.as_ref(), &s.id).await.signins,
        vec![expected.clone()]
    );
    assert_eq!(
        store.signins_of_user(&c.user.id).await.unwrap(),
        vec![expected]
    );
    let gone = Signin {
        id: "sin_gone".into(),
        ..signin
    };
    assert_eq!(
        store.mark_verified(&gone, verified).await.unwrap(),
        Written::Conflict
    );
    assert!(
        store.signins_of_user(&c.user.id).await.unwrap().len() == 1,
        "a failed mark creates no entry"
    );
}

async fn revoking_a_signin_elsewhere_ends_it_once(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let other = granted_elsewhere(store.as_ref(), &c.user.id).await;
    let results = join_all((0..5).map(|_| store.revoke_signin(&other))).await;
    let done = results
        .iter()
        .filter(|r| matches!(r, Ok(Written::Done)))
        .count();
    assert_eq!(done, 1, "{results:?}");
    let state = load(store.as_ref(), &other.session_id).await;
    assert!(state.signins.is_empty(), "its session stays, without it");
    assert_eq!(
        state.active_signin(),
        None,
        "a dangling active signin is none"
    );
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(std::slice::from_ref(&c.grant.signin))
    );
    assert_eq!(load(store.as_ref(), &s.id).await.signins.len(), 1);
}

async fn ending_all_signins_of_a_user_spares_the_kept_one_and_other_users(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let (_, stranger) = signed_up(store.as_ref()).await;
    let kept = granted_elsewhere(store.as_ref(), &c.user.id).await;
    let mut others = vec![c.grant.signin.clone()];
    for _ in 0..3 {
        others.push(granted_elsewhere(store.as_ref(), &c.user.id).await);
    }
    let ended = store
        .end_signins_of_user(&c.user.id, Some(&kept.id))
        .await
        .unwrap();
    assert_eq!(ids(&ended), ids(&others));
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(std::slice::from_ref(&kept))
    );
    for o in &others {
        let state = load(store.as_ref(), &o.session_id).await;
        assert!(state.signins.iter().all(|x| x.id != o.id), "{} ended", o.id);
    }
    assert_eq!(load(store.as_ref(), &s.id).await.signins, vec![]);
    assert_eq!(
        indexed(store.as_ref(), &stranger.user.id).await,
        ids(std::slice::from_ref(&stranger.grant.signin)),
        "another user's signins stay"
    );
    assert!(
        store
            .end_signins_of_user(&c.user.id, Some(&kept.id))
            .await
            .unwrap()
            .is_empty(),
        "nothing left to end"
    );
}

/// Signins granted while an end of all runs are either ended or listed in the index (so a later
/// end finds them): none is left in a session without its entry. Those granted before it are
/// all ended.
async fn parallel_grants_never_escape_an_end_of_all(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let mut before = vec![c.grant.signin.clone()];
    for _ in 0..4 {
        before.push(granted_elsewhere(store.as_ref(), &c.user.id).await);
    }
    let user_id = c.user.id.clone();
    let grants: Vec<_> = (0..8)
        .map(|_| {
            let (store, user_id) = (store.clone(), user_id.clone());
            tokio::spawn(async move { granted_elsewhere(store.as_ref(), &user_id).await })
        })
        .collect();
    let ending = {
        let (store, user_id) = (store.clone(), user_id.clone());
        tokio::spawn(async move { store.end_signins_of_user(&user_id, None).await.unwrap() })
    };
    let during: Vec<Signin> = join_all(grants)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let ended = ids(&ending.await.unwrap());
    for b in &before {
        assert!(ended.contains(&b.id), "{} granted before the end", b.id);
    }
    let listed = indexed(store.as_ref(), &user_id).await;
    for d in &during {
        let in_session = load(store.as_ref(), &d.session_id)
            .await
            .signins
            .iter()
            .any(|x| x.id == d.id);
        assert_eq!(
            in_session,
            !ended.contains(&d.id),
            "{} is ended or stays",
            d.id
        );
        assert_eq!(in_session, listed.contains(&d.id), "{} and its entry", d.id);
    }
    store.end_signins_of_user(&user_id, None).await.unwrap();
    assert!(indexed(store.as_ref(), &user_id).await.is_empty());
}

async fn deleting_a_user_frees_its_claims_and_ends_its_signins(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let (_, stranger) = signed_up(store.as_ref()).await;
    // A provider identity linked at a later sign-in is the user's too.
    let identity = Claim::Identity(Identity {
        provider: "oidc".into(),
        subject: new_id("sub"),
    });
    let mut fresh = session();
    let elsewhere = signin_for(&fresh.id, &c.user.id);
    fresh.active_signin_id = Some(elsewhere.id.clone());
    let linked = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        link: Some(identity.clone()),
        verified: None,
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        grant: Grant {
            signin: elsewhere.clone(),
            removed_signins: vec![],
            session: GrantSession::Create(fresh),
        },
    };
    assert_eq!(
        store.finish_signin(&linked).await.unwrap(),
        Completion::Done
    );
    let mut claims = c.claims.clone();
    claims.push(identity);
    assert_eq!(
        store.taken_claims(&claims).await.unwrap().len(),
        claims.len()
    );

    assert_eq!(store.delete_user(&c.user.id).await.unwrap(), Written::Done);
    assert_eq!(store.get_user(&c.user.id).await.unwrap(), None);
    assert!(
        store.taken_claims(&claims).await.unwrap().is_empty(),
        "every claim is free"
    );
    assert!(indexed(store.as_ref(), &c.user.id).await.is_empty());
    assert!(load(store.as_ref(), &s.id).await.signins.is_empty());
    assert!(
        load(store.as_ref(), &elsewhere.session_id)
            .await
            .signins
            .is_empty()
    );
    assert!(
        store.get_user(&stranger.user.id).await.unwrap().is_some(),
        "another user stays"
    );
    assert_eq!(
        store.delete_user(&c.user.id).await.unwrap(),
        Written::Conflict
    );

    // The freed email serves a new sign-up.
    let again_email = c.user.email.clone().unwrap();
    let (s2, a2) = opened(store.as_ref(), &again_email).await;
    let mut again = completion(&s2, &a2, "hash-1");
    again.claims = vec![Claim::Email(again_email)];
    assert_eq!(store.finish_signup(&again).await.unwrap(), Completion::Done);
}

async fn parallel_deletions_of_one_user_succeed_once(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    granted_elsewhere(store.as_ref(), &c.user.id).await;
    let results = join_all((0..5).map(|_| store.delete_user(&c.user.id))).await;
    let done = results
        .iter()
        .filter(|r| matches!(r, Ok(Written::Done)))
        .count();
    assert_eq!(done, 1, "{results:?}");
    assert!(indexed(store.as_ref(), &c.user.id).await.is_empty());
}
