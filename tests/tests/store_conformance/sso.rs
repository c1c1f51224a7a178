//! Single sign-on: a first callback continues as a sign-up once, a sign-in links an identity once and
//! only to its owner, and an `sso` sign-up creates the user with its identity once.

use super::*;

conformance!(
    an_sso_callback_continues_as_a_signup_once,
    an_sso_continuation_whose_charge_is_refused_writes_nothing,
    an_sso_signin_links_the_identity_once_and_only_to_its_owner,
    an_sso_signup_creates_the_user_with_its_identity_once,
);

async fn an_sso_callback_continues_as_a_signup_once(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let signup = sso_signup(&s, &email(), "sub-1");
    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &signup, &admission, None)
            .await
            .unwrap(),
        Opened::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(
        state.signup_attempts,
        vec![signup.clone()],
        "read back field for field"
    );
    assert!(state.signin_attempts[0].completed);
    assert_eq!(state.signin_attempts[0].sso, sso.sso, "the request is kept");

    let mut replay = sso_signup(&s, &email(), "sub-1");
    replay.id = new_id(prefix::SIGNUP_ATTEMPT);
    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &replay, &admission, None)
            .await
            .unwrap(),
        Opened::Conflict,
        "a replayed callback"
    );
    assert_eq!(load(store.as_ref(), &s.id).await.signup_attempts.len(), 1);
}

async fn an_sso_continuation_whose_charge_is_refused_writes_nothing(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let key = new_id("limit");
    let window_ends = NOW + Duration::hours(1);
    assert_eq!(store.hit(&key, window_ends, 1).await.unwrap(), Hit::Allowed);
    let charge = Charge {
        key: &key,
        window_ends,
        max: 1,
    };
    let signup = sso_signup(&s, &email(), "sub-2");
    let admission = signup_admission(store.as_ref(), &s.id).await;
    assert_eq!(
        store
            .continue_as_signup(&sso.id, &signup, &admission, Some(charge))
            .await
            .unwrap(),
        Opened::Limited { window_ends }
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signup_attempts.is_empty());
    assert!(
        !state.signin_attempts[0].completed,
        "still open for a retry"
    );
}

async fn an_sso_signin_links_the_identity_once_and_only_to_its_owner(store: Arc<dyn Store>) {
    let (_, other) = signed_up(store.as_ref()).await;
    let (_, owner) = signed_up(store.as_ref()).await;
    let linked = Claim::Identity(identity(&new_id("sub")));
    // Someone else holds the identity: refused, nothing written.
    let (s, sso) = sso_opened(store.as_ref()).await;
    let (os, osso) = sso_opened(store.as_ref()).await;
    let for_other = SigninCompletion {
        user_id: other.user.id.clone(),
        check: Some(AttemptCheck::Sso {
            attempt_id: osso.id.clone(),
        }),
        verified: None,
        link: Some(linked.clone()),
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        grant: rotate(&os, signin_for(&os.id, &other.user.id)),
    };
    assert_eq!(
        store.finish_signin(&for_other).await.unwrap(),
        Completion::Done
    );
    let for_owner = SigninCompletion {
        user_id: owner.user.id.clone(),
        check: Some(AttemptCheck::Sso {
            attempt_id: sso.id.clone(),
        }),
        verified: None,
        link: Some(linked.clone()),
        password_hash: None,
        verified_hash: None,
        end_signins: None,
        grant: rotate(&s, signin_for(&s.id, &owner.user.id)),
    };
    assert_eq!(
        store.finish_signin(&for_owner).await.unwrap(),
        Completion::Taken(vec![linked.clone()])
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signins.is_empty() && !state.signin_attempts[0].completed);
    assert_eq!(
        store.claim_owner(&linked).await.unwrap(),
        Some(other.user.id.clone())
    );

    // The holder again, through the same (now completed) attempt: single use.
    let replay = SigninCompletion {
        grant: after_rotation(rotate(&os, signin_for(&os.id, &other.user.id))),
        ..for_other
    };
    assert_eq!(
        store.finish_signin(&replay).await.unwrap(),
        Completion::AttemptChanged
    );
}

async fn an_sso_signup_creates_the_user_with_its_identity_once(store: Arc<dyn Store>) {
    let (s, sso) = sso_opened(store.as_ref()).await;
    let signup = sso_signup(&s, &email(), &new_id("sub"));
    let mut c = completion(&s, &signup, "unused");
    c.check = AttemptCheck::Sso {
        attempt_id: sso.id.clone(),
    };
    let held = Claim::Identity(signup.identity.clone().unwrap());
    c.claims.push(held.clone());
    assert_eq!(store.finish_signup(&c).await.unwrap(), Completion::Done);
    assert_eq!(
        store.claim_owner(&held).await.unwrap(),
        Some(c.user.id.clone())
    );
    let state = load(store.as_ref(), &s.id).await;
    assert!(state.signin_attempts[0].completed);
    assert!(
        state.signup_attempts.is_empty(),
        "no sign-up attempt was stored"
    );
    assert_eq!(state.signins, vec![c.grant.signin.clone()]);

    let mut again = completion(&s, &signup, "unused");
    again.check = c.check.clone();
    again.claims = vec![Claim::Identity(identity(&new_id("sub")))];
    again.grant = after_rotation(again.grant);
    assert_eq!(
        store.finish_signup(&again).await.unwrap(),
        Completion::AttemptChanged,
        "one user per callback"
    );
    assert!(store.get_user(&again.user.id).await.unwrap().is_none());
}
