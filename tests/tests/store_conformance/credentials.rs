//! Password writes and the signins they end (issue 11): a password sign-in's grant needs the
//! hash it verified; a reset's completion and a password change with `sign_out_others` end the
//! user's other signins in the transaction that writes the hash, exactly, even past one
//! transaction's 100 items.

use super::user_index::{granted_elsewhere, ids, indexed};
use super::*;

conformance!(
    a_password_grant_needs_the_hash_it_verified,
    a_password_change_ends_the_signins_read_and_those_granted_since,
    a_password_change_that_lost_its_hash_ends_nothing,
    a_reset_completion_ends_every_other_signin_with_the_new_password,
    a_password_change_ends_more_signins_than_one_transaction_holds,
    a_reset_completion_ends_more_signins_than_one_transaction_holds,
);

fn change(
    c: &SignupCompletion,
    expected: Option<String>,
    end_signins: Option<(SigninsRead, Option<String>)>,
) -> PasswordWrite {
    PasswordWrite {
        user_id: c.user.id.clone(),
        expected,
        new_hash: "new-hash".into(),
        now: NOW + Duration::hours(1),
        end_signins,
    }
}

async fn hash_of(store: &dyn Store, user_id: &str) -> Option<String> {
    store
        .get_user(user_id)
        .await
        .unwrap()
        .expect("user")
        .password_hash
}

/// A new session with a new signin of `user_id` in it, as a grant to a caller without one.
fn new_session_grant(user_id: &str) -> Grant {
    let mut fresh = session();
    let signin = signin_for(&fresh.id, user_id);
    fresh.active_signin_id = Some(signin.id.clone());
    Grant {
        signin,
        removed_signins: vec![],
        session: GrantSession::Create(fresh),
    }
}

async fn a_password_grant_needs_the_hash_it_verified(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let verified = c.user.password_hash.clone().expect("a password");
    // A reset or a password change commits after the sign-in verified the old hash.
    let changed = store
        .change_password(&change(&c, Some(verified.clone()), None))
        .await
        .unwrap();
    assert_eq!(changed, Written::Done);

    let grant = new_session_grant(&c.user.id);
    let stale = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        verified: None,
        link: None,
        password_hash: Some("rewritten-old".into()),
        verified_hash: Some(verified),
        end_signins: None,
        grant: grant.clone(),
    };
    assert_eq!(
        store.finish_signin(&stale).await.unwrap(),
        Completion::CredentialsChanged
    );
    assert!(
        store
            .load_session(grant.session_id())
            .await
            .unwrap()
            .is_none(),
        "nothing of the grant was written"
    );
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(std::slice::from_ref(&c.grant.signin))
    );
    assert_eq!(
        hash_of(store.as_ref(), &c.user.id).await.as_deref(),
        Some("new-hash"),
        "nor the rewrite"
    );

    // Verified against the current hash: granted, with its rewrite (an imported hash's argon2id).
    let current = SigninCompletion {
        verified_hash: Some("new-hash".into()),
        password_hash: Some("rewritten-new".into()),
        ..stale
    };
    assert_eq!(
        store.finish_signin(&current).await.unwrap(),
        Completion::Done
    );
    assert_eq!(
        hash_of(store.as_ref(), &c.user.id).await.as_deref(),
        Some("rewritten-new")
    );
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(&[c.grant.signin.clone(), grant.signin.clone()])
    );
}

async fn a_password_change_ends_the_signins_read_and_those_granted_since(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let kept = c.grant.signin.clone();
    let other = granted_elsewhere(store.as_ref(), &c.user.id).await;
    let read = store.read_signins_of_user(&c.user.id).await.unwrap();
    // Granted after the read: the change must not miss it.
    let since = granted_elsewhere(store.as_ref(), &c.user.id).await;

    let write = change(
        &c,
        c.user.password_hash.clone(),
        Some((read, Some(kept.id.clone()))),
    );
    assert_eq!(store.change_password(&write).await.unwrap(), Written::Done);
    assert_eq!(
        hash_of(store.as_ref(), &c.user.id).await.as_deref(),
        Some("new-hash")
    );
    assert_eq!(indexed(store.as_ref(), &c.user.id).await, ids(&[kept]));
    for ended in [other, since] {
        assert!(
            load(store.as_ref(), &ended.session_id)
                .await
                .signins
                .is_empty(),
            "{} ended in its session",
            ended.id
        );
    }
}

async fn a_password_change_that_lost_its_hash_ends_nothing(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let kept = c.grant.signin.clone();
    let other = granted_elsewhere(store.as_ref(), &c.user.id).await;
    let read = store.read_signins_of_user(&c.user.id).await.unwrap();
    let write = change(
        &c,
        Some("another-hash".into()),
        Some((read, Some(kept.id.clone()))),
    );
    assert_eq!(
        store.change_password(&write).await.unwrap(),
        Written::Conflict
    );
    assert_eq!(
        hash_of(store.as_ref(), &c.user.id).await,
        c.user.password_hash
    );
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(&[kept, other])
    );
}

async fn a_reset_completion_ends_every_other_signin_with_the_new_password(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let first = c.grant.signin.clone();
    let other = granted_elsewhere(store.as_ref(), &c.user.id).await;
    let read = store.read_signins_of_user(&c.user.id).await.unwrap();
    let since = granted_elsewhere(store.as_ref(), &c.user.id).await;

    // The reset signs in where `first` was, replacing it (the read lists it too).
    let attempt = signin_opened(store.as_ref(), &s, &c.user.id).await;
    let new = signin_for(&s.id, &c.user.id);
    let mut grant = after_rotation(rotate(&s, new.clone()));
    grant.removed_signins = vec![first.clone()];
    let reset = SigninCompletion {
        user_id: c.user.id.clone(),
        check: Some(AttemptCheck::Code(proof(&attempt.id, "hash-s"))),
        verified: None,
        link: None,
        password_hash: Some("reset-hash".into()),
        verified_hash: None,
        end_signins: Some(read),
        grant,
    };
    assert_eq!(store.finish_signin(&reset).await.unwrap(), Completion::Done);
    assert_eq!(
        hash_of(store.as_ref(), &c.user.id).await.as_deref(),
        Some("reset-hash")
    );
    assert_eq!(indexed(store.as_ref(), &c.user.id).await, ids(&[new]));
    for ended in [other, since] {
        assert!(
            load(store.as_ref(), &ended.session_id)
                .await
                .signins
                .is_empty()
        );
    }
}

/// More signins than one transaction can end beside the password write (two items each).
const MANY: usize = 60;

async fn many_signins(store: &dyn Store, user_id: &str) -> Vec<Signin> {
    let mut all = Vec::new();
    for _ in 0..MANY {
        all.push(granted_elsewhere(store, user_id).await);
    }
    all
}

async fn a_password_change_ends_more_signins_than_one_transaction_holds(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let kept = c.grant.signin.clone();
    many_signins(store.as_ref(), &c.user.id).await;
    let read = store.read_signins_of_user(&c.user.id).await.unwrap();
    assert_eq!(read.signins.len(), MANY + 1);
    let write = change(
        &c,
        c.user.password_hash.clone(),
        Some((read, Some(kept.id.clone()))),
    );
    assert_eq!(store.change_password(&write).await.unwrap(), Written::Done);
    assert_eq!(indexed(store.as_ref(), &c.user.id).await, ids(&[kept]));
    assert_eq!(
        hash_of(store.as_ref(), &c.user.id).await.as_deref(),
        Some("new-hash")
    );
}

async fn a_reset_completion_ends_more_signins_than_one_transaction_holds(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    many_signins(store.as_ref(), &c.user.id).await;
    let read = store.read_signins_of_user(&c.user.id).await.unwrap();
    let grant = new_session_grant(&c.user.id);
    let reset = SigninCompletion {
        user_id: c.user.id.clone(),
        check: None,
        verified: None,
        link: None,
        password_hash: Some("reset-hash".into()),
        verified_hash: None,
        end_signins: Some(read),
        grant: grant.clone(),
    };
    assert_eq!(store.finish_signin(&reset).await.unwrap(), Completion::Done);
    assert_eq!(
        indexed(store.as_ref(), &c.user.id).await,
        ids(&[grant.signin])
    );
    assert_eq!(
        hash_of(store.as_ref(), &c.user.id).await.as_deref(),
        Some("reset-hash")
    );
}
