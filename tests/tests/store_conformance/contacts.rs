//! Moving an email or phone claim (issue 11's contact changes): one write completes the attempt,
//! claims the new contact, releases the old one and sets the user as `User::move_contact` does,
//! or writes nothing; parallel moves of two users to one address give it once.

use super::*;

conformance!(
    a_contact_move_is_the_pure_transition_or_nothing,
    parallel_moves_to_one_address_give_it_once,
);

/// A contact change's code attempt of the signed-up user `c`, stored in its session `s`.
async fn change_opened(
    store: &dyn Store,
    s: &Session,
    c: &SignupCompletion,
    to: &str,
) -> SigninAttempt {
    let mut attempt = signin_attempt(&s.id, &c.user.id);
    attempt.identifier = to.to_string();
    attempt.destination = Some(to.to_string());
    attempt.changes_contact = Some(c.grant.signin.id.clone());
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

fn moving(a: &SigninAttempt, c: &SignupCompletion, from: Option<&str>, to: &str) -> ContactMove {
    ContactMove {
        session_id: a.session_id.clone(),
        check: AttemptCheck::Code(proof(&a.id, "hash-s")),
        user_id: c.user.id.clone(),
        channel: Channel::Email,
        from: from.map(str::to_string),
        to: to.to_string(),
        at: NOW + Duration::hours(2),
    }
}

async fn owner(store: &dyn Store, email: &str) -> Option<String> {
    store
        .claim_owner(&Claim::Email(email.to_string()))
        .await
        .unwrap()
}

async fn a_contact_move_is_the_pure_transition_or_nothing(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let (_, other) = signed_up(store.as_ref()).await;
    let old = c.user.email.clone().unwrap();
    let theirs = other.user.email.clone().unwrap();
    let new = email();
    let before = store.get_user(&c.user.id).await.unwrap().unwrap();

    let to_theirs = change_opened(store.as_ref(), &s, &c, &theirs).await;
    assert_eq!(
        store
            .move_contact(&moving(&to_theirs, &c, Some(&old), &theirs))
            .await
            .unwrap(),
        Completion::Taken(vec![Claim::Email(theirs.clone())])
    );
    let a = change_opened(store.as_ref(), &s, &c, &new).await;
    assert_eq!(
        store
            .move_contact(&moving(&a, &c, Some("someone.else@example.com"), &new))
            .await
            .unwrap(),
        Completion::UserBlocked,
        "the user's contact is no longer what was read"
    );
    let mut wrong_code = moving(&a, &c, Some(&old), &new);
    wrong_code.check = AttemptCheck::Code(proof(&a.id, "another code"));
    assert_eq!(
        store.move_contact(&wrong_code).await.unwrap(),
        Completion::AttemptChanged
    );
    // Nothing of the refused moves was written.
    assert_eq!(store.get_user(&c.user.id).await.unwrap().unwrap(), before);
    assert_eq!(owner(store.as_ref(), &new).await, None);
    assert_eq!(owner(store.as_ref(), &old).await, Some(c.user.id.clone()));
    assert_eq!(
        owner(store.as_ref(), &theirs).await,
        Some(other.user.id.clone())
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(!state.signin_attempt(&a.id).unwrap().completed);

    let change = moving(&a, &c, Some(&old), &new);
    assert_eq!(store.move_contact(&change).await.unwrap(), Completion::Done);
    let mut expected = before.clone();
    expected.move_contact(Channel::Email, &new, change.at);
    assert_eq!(store.get_user(&c.user.id).await.unwrap().unwrap(), expected);
    assert_eq!(owner(store.as_ref(), &new).await, Some(c.user.id.clone()));
    assert_eq!(
        owner(store.as_ref(), &old).await,
        None,
        "the old address is free"
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signin_attempt(&a.id).unwrap().completed);
    assert_eq!(
        store.move_contact(&change).await.unwrap(),
        Completion::AttemptChanged,
        "single use"
    );

    // The moved claim is the user's in its index too: deleting the user frees it.
    assert_eq!(store.delete_user(&c.user.id).await.unwrap(), Written::Done);
    assert_eq!(owner(store.as_ref(), &new).await, None);
}

async fn parallel_moves_to_one_address_give_it_once(store: Arc<dyn Store>) {
    let target = email();
    let mut moves = Vec::new();
    for _ in 0..4 {
        let (s, c) = signed_up(store.as_ref()).await;
        let a = change_opened(store.as_ref(), &s, &c, &target).await;
        moves.push((moving(&a, &c, c.user.email.as_deref(), &target), c));
    }
    let results = join_all(moves.iter().map(|(m, _)| store.move_contact(m))).await;
    let results: Vec<Completion> = results.into_iter().map(Result::unwrap).collect();
    let winners: Vec<usize> = (0..results.len())
        .filter(|i| results[*i] == Completion::Done)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (i, (m, c)) in moves.iter().enumerate() {
        let user = store.get_user(&c.user.id).await.unwrap().unwrap();
        if i == winners[0] {
            assert_eq!(user.email.as_deref(), Some(target.as_str()));
            assert_eq!(
                owner(store.as_ref(), &target).await,
                Some(c.user.id.clone())
            );
        } else {
            assert_eq!(
                results[i],
                Completion::Taken(vec![Claim::Email(target.clone())])
            );
            assert_eq!(user.email, m.from, "the loser keeps its address");
            assert_eq!(
                owner(store.as_ref(), m.from.as_deref().unwrap()).await,
                Some(c.user.id.clone())
            );
        }
    }
}
