//! The admin API's store operations (issue 15): an operator's edit is the pure transition
//! (`AdminChange`) or nothing, blocking ends every signin of the user in it, and the listing is
//! newest first in pages that never repeat a user.

use sesame::domain::admin_change::{AdminChange, AdminEdit, AdminOutcome, UserCursor, listed};

use super::*;

conformance!(
    an_admin_change_is_the_pure_transition_or_nothing,
    users_are_listed_newest_first_in_pages,
);

fn edit(username: Option<&str>) -> AdminEdit {
    AdminEdit {
        profile: ProfileChanges {
            first_name: Some(Some("Grace".into())),
            last_name: None,
            image_url: None,
            metadata: Some(Map::from_iter([("plan".to_string(), json!("pro"))])),
            profile: None,
            updated_at: NOW + Duration::hours(1),
        },
        username: username.map(str::to_string),
        email_verified: Some(false),
        phone_verified: None,
        blocked: Some(true),
    }
}

async fn an_admin_change_is_the_pure_transition_or_nothing(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let (_, other) = signed_up(store.as_ref()).await;
    let before = store.get_user(&c.user.id).await.unwrap().unwrap();
    let email = before.email.clone().unwrap();
    assert_eq!(store.signins_of_user(&c.user.id).await.unwrap().len(), 1);

    // Another user's username: nothing is written.
    let theirs = format!("n{}", &new_id("x")[2..12]);
    let change = AdminChange {
        before: other.user.clone(),
        edit: AdminEdit {
            blocked: None,
            email_verified: None,
            ..edit(Some(&theirs))
        },
    };
    assert!(matches!(
        store.admin_update(&change).await.unwrap(),
        AdminOutcome::Done(_)
    ));
    let taken = AdminChange {
        before: before.clone(),
        edit: edit(Some(&theirs.to_uppercase())),
    };
    assert_eq!(
        store.admin_update(&taken).await.unwrap(),
        AdminOutcome::Taken(vec![Claim::Username(theirs.to_uppercase())])
    );
    assert_eq!(store.get_user(&c.user.id).await.unwrap().unwrap(), before);
    assert_eq!(store.signins_of_user(&c.user.id).await.unwrap().len(), 1);

    let mine = format!("m{}", &new_id("x")[2..12]);
    let change = AdminChange {
        before: before.clone(),
        edit: edit(Some(&mine)),
    };
    let done = store.admin_update(&change).await.unwrap();
    assert_eq!(done, AdminOutcome::Done(Box::new(change.after())));
    let stored = store.get_user(&c.user.id).await.unwrap().unwrap();
    assert_eq!(stored, change.after());
    assert!(stored.blocked && !stored.email_verified);
    // The claims moved: the new username is the user's, the unverified email is free.
    let owner = |claim: Claim| {
        let store = store.clone();
        async move { store.claim_owner(&claim).await.unwrap() }
    };
    assert_eq!(
        owner(Claim::Username(mine.clone())).await,
        Some(c.user.id.clone())
    );
    assert_eq!(owner(Claim::Email(email.clone())).await, None);
    // Blocking ended the signin everywhere: the session has none left.
    assert!(store.signins_of_user(&c.user.id).await.unwrap().is_empty());
    assert!(load(store.as_ref(), &s.id).await.signins.is_empty());

    // An edit from the user as it was read before: stale, nothing written.
    let stale = AdminChange {
        before: before.clone(),
        edit: AdminEdit {
            blocked: Some(false),
            ..edit(None)
        },
    };
    assert_eq!(
        store.admin_update(&stale).await.unwrap(),
        AdminOutcome::Stale
    );
    assert_eq!(store.get_user(&c.user.id).await.unwrap().unwrap(), stored);

    // Unblocking and verifying the email again claims it back.
    let back = AdminChange {
        before: stored.clone(),
        edit: AdminEdit {
            email_verified: Some(true),
            blocked: Some(false),
            ..edit(None)
        },
    };
    assert_eq!(
        store.admin_update(&back).await.unwrap(),
        AdminOutcome::Done(Box::new(back.after()))
    );
    assert_eq!(owner(Claim::Email(email)).await, Some(c.user.id.clone()));
    assert_eq!(owner(Claim::Username(mine)).await, Some(c.user.id.clone()));
}

async fn users_are_listed_newest_first_in_pages(store: Arc<dyn Store>) {
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(signed_up(store.as_ref()).await.1.user);
    }
    // All created at NOW: the id breaks the tie, descending, as the cursor's sort key orders.
    made.sort_by(|a, b| b.id.cmp(&a.id));
    let want: Vec<String> = made.iter().map(|u| u.id.clone()).collect();

    let first = store.list_users(None, 2).await.unwrap();
    let ids = |page: &[User]| page.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first.users), want[..2]);
    assert_eq!(first.next, Some(UserCursor::of(&made[1])));
    // What the index projects is the user without its secrets.
    assert_eq!(first.users[0], listed(&made[0]));
    assert!(first.users[0].password_hash.is_none());

    let second = store.list_users(first.next.as_ref(), 2).await.unwrap();
    assert_eq!(ids(&second.users), want[2..4]);
    let last = store.list_users(second.next.as_ref(), 2).await.unwrap();
    assert_eq!(ids(&last.users), want[4..]);
    assert_eq!(last.next, None);
    let all = store.list_users(None, 5).await.unwrap();
    assert_eq!((ids(&all.users), all.next), (want, None));
}
