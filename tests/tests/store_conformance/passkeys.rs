//! Passkeys (issue 16): a credential is claimed by one user; a registration is used once; a
//! rename and a sign-in store the pure transitions (`StoredPasskey::renamed` / `used`); a
//! passkey sign-in completes its attempt once, refuses a deleted passkey, a blocked user, and
//! goes with its user.

use sesame::domain::passkeys::{PendingRegistration, StoredPasskey, passkey_id};
use sesame::domain::ports::passkeys::{PasskeyAdd, PasskeyAdded, PasskeySignin};

use super::*;

conformance!(
    a_passkey_credential_is_claimed_once_and_its_registration_used_once,
    a_renamed_or_deleted_passkey_is_stored_as_the_transition_says,
    a_users_passkeys_and_their_claims_go_with_the_user,
    a_passkey_signin_completes_its_attempt_once,
    parallel_passkey_signins_on_one_challenge_succeed_once,
);

fn registration(c: &SignupCompletion) -> PendingRegistration {
    PendingRegistration {
        signin_id: c.grant.signin.id.clone(),
        user_id: c.user.id.clone(),
        state: format!("state-{}", new_id("reg")),
        notify_to: c.user.email.clone(),
        expires_at: NOW + Duration::minutes(5),
    }
}

fn passkey(user_id: &str, credential_id: &[u8]) -> StoredPasskey {
    StoredPasskey {
        id: passkey_id(credential_id),
        user_id: user_id.to_string(),
        name: "laptop".into(),
        credential: "{\"counter\":0}".into(),
        created_at: NOW,
        last_used_at: None,
    }
}

/// A passkey added for the user, with its registration begun and used.
async fn added(store: &dyn Store, c: &SignupCompletion, credential_id: &[u8]) -> StoredPasskey {
    let r = registration(c);
    store.put_passkey_registration(&r).await.unwrap();
    let p = passkey(&c.user.id, credential_id);
    let add = PasskeyAdd {
        registration: r,
        passkey: p.clone(),
    };
    assert_eq!(store.add_passkey(&add).await.unwrap(), PasskeyAdded::Done);
    p
}

async fn a_passkey_credential_is_claimed_once_and_its_registration_used_once(
    store: Arc<dyn Store>,
) {
    let (_, a) = signed_up(store.as_ref()).await;
    let (_, b) = signed_up(store.as_ref()).await;
    let credential = new_id("cred").into_bytes();
    let r = registration(&a);
    store.put_passkey_registration(&r).await.unwrap();
    assert_eq!(
        store.passkey_registration(&r.signin_id).await.unwrap(),
        Some(r.clone())
    );
    let p = passkey(&a.user.id, &credential);
    let add = PasskeyAdd {
        registration: r.clone(),
        passkey: p.clone(),
    };
    assert_eq!(store.add_passkey(&add).await.unwrap(), PasskeyAdded::Done);
    assert_eq!(
        store.passkey_registration(&r.signin_id).await.unwrap(),
        None,
        "used up"
    );
    assert_eq!(
        store.add_passkey(&add).await.unwrap(),
        PasskeyAdded::RegistrationGone,
        "a registration is used once"
    );
    assert_eq!(
        store.passkeys_of_user(&a.user.id).await.unwrap(),
        vec![p.clone()]
    );
    assert_eq!(
        store.passkey(&a.user.id, &p.id).await.unwrap(),
        Some(p.clone())
    );

    // The same credential for another user: refused, nothing written.
    let rb = registration(&b);
    store.put_passkey_registration(&rb).await.unwrap();
    let theirs = PasskeyAdd {
        registration: rb.clone(),
        passkey: passkey(&b.user.id, &credential),
    };
    assert_eq!(
        store.add_passkey(&theirs).await.unwrap(),
        PasskeyAdded::Taken
    );
    assert!(store.passkeys_of_user(&b.user.id).await.unwrap().is_empty());
    assert_eq!(
        store.passkey_registration(&rb.signin_id).await.unwrap(),
        Some(rb),
        "a refused add keeps the registration"
    );
    assert_eq!(store.passkey(&b.user.id, &p.id).await.unwrap(), None);
}

async fn a_renamed_or_deleted_passkey_is_stored_as_the_transition_says(store: Arc<dyn Store>) {
    let (_, c) = signed_up(store.as_ref()).await;
    let p = added(store.as_ref(), &c, new_id("cred").as_bytes()).await;
    let renamed = store
        .rename_passkey(&c.user.id, &p.id, "phone")
        .await
        .unwrap();
    assert_eq!(renamed, Written::Done);
    assert_eq!(
        store.passkey(&c.user.id, &p.id).await.unwrap(),
        Some(p.renamed("phone"))
    );
    assert_eq!(
        store
            .rename_passkey(&c.user.id, "pk_none", "x")
            .await
            .unwrap(),
        Written::Conflict
    );
    assert_eq!(
        store.delete_passkey(&c.user.id, &p.id).await.unwrap(),
        Written::Done
    );
    assert_eq!(store.passkey(&c.user.id, &p.id).await.unwrap(), None);
    assert_eq!(
        store.delete_passkey(&c.user.id, &p.id).await.unwrap(),
        Written::Conflict
    );
}

async fn a_users_passkeys_and_their_claims_go_with_the_user(store: Arc<dyn Store>) {
    let (_, a) = signed_up(store.as_ref()).await;
    let (_, b) = signed_up(store.as_ref()).await;
    let credential = new_id("cred").into_bytes();
    added(store.as_ref(), &a, &credential).await;
    assert_eq!(store.delete_user(&a.user.id).await.unwrap(), Written::Done);
    assert!(store.passkeys_of_user(&a.user.id).await.unwrap().is_empty());
    // Its claim went too: the credential is free for another account.
    let p = added(store.as_ref(), &b, &credential).await;
    assert_eq!(store.passkeys_of_user(&b.user.id).await.unwrap(), vec![p]);
}

/// A passkey sign-in attempt stored in `s`.
async fn passkey_attempt(store: &dyn Store, s: &Session) -> SigninAttempt {
    let mut attempt = signin_attempt(&s.id, "");
    attempt.method = SigninMethod::Passkey;
    attempt.user_id = None;
    attempt.destination = None;
    attempt.remaining_steps = vec![Step::VerifyPasskey];
    attempt.codes = CodeState::default();
    attempt.passkey = Some(sesame::domain::passkeys::PasskeyChallenge {
        state: "{}".into(),
        options: "{}".into(),
    });
    let touch = touch(
        store,
        &s.id,
        AttemptKind::Signin,
        NOW,
        NOW + Duration::days(7),
    )
    .await;
    store
        .open_attempt(&touch, NewAttempt::Signin(&attempt), None)
        .await
        .unwrap();
    attempt
}

fn passkey_signin(
    s: &Session,
    c: &SignupCompletion,
    attempt: &SigninAttempt,
    p: &StoredPasskey,
) -> (PasskeySignin, Signin) {
    let signin = signin_for(&s.id, &c.user.id);
    let mut grant = after_rotation(rotate(s, signin.clone()));
    grant.removed_signins = vec![c.grant.signin.clone()];
    let write = PasskeySignin {
        user_id: c.user.id.clone(),
        attempt_id: attempt.id.clone(),
        expected_credential: p.credential.clone(),
        after: p.used("{\"counter\":1}".into(), NOW + Duration::minutes(1)),
        grant,
    };
    (write, signin)
}

async fn a_passkey_signin_completes_its_attempt_once(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let p = added(store.as_ref(), &c, new_id("cred").as_bytes()).await;

    // A passkey that changed since it was read (another sign-in moved its counter): refused.
    let attempt = passkey_attempt(store.as_ref(), &s).await;
    let (mut stale, _) = passkey_signin(&s, &c, &attempt, &p);
    stale.expected_credential = "{\"counter\":7}".into();
    assert_eq!(
        store.finish_passkey_signin(&stale).await.unwrap(),
        Completion::CredentialsChanged
    );
    assert!(!load(store.as_ref(), &s.id).await.signin_attempts[0].completed);

    let (write, signin) = passkey_signin(&s, &c, &attempt, &p);
    assert_eq!(
        store.finish_passkey_signin(&write).await.unwrap(),
        Completion::Done
    );
    let state = load(store.as_ref(), &s.id).await;
    assert_eq!(state.signins, vec![signin.clone()]);
    assert_eq!(state.session.active_signin_id, Some(signin.id));
    assert!(state.signin_attempts[0].completed);
    assert_eq!(
        store.passkey(&c.user.id, &p.id).await.unwrap(),
        Some(write.after.clone()),
        "the stored passkey is StoredPasskey::used"
    );
    assert_eq!(
        store.finish_passkey_signin(&write).await.unwrap(),
        Completion::AttemptChanged,
        "single use"
    );

    // A deleted passkey no longer signs in; nothing is written.
    let next = passkey_attempt(store.as_ref(), &s).await;
    let (mut gone, _) = passkey_signin(&s, &c, &next, &write.after);
    gone.grant.removed_signins = vec![];
    assert_eq!(
        store.delete_passkey(&c.user.id, &p.id).await.unwrap(),
        Written::Done
    );
    assert_eq!(
        store.finish_passkey_signin(&gone).await.unwrap(),
        Completion::CredentialsChanged
    );
}

async fn parallel_passkey_signins_on_one_challenge_succeed_once(store: Arc<dyn Store>) {
    let (s, c) = signed_up(store.as_ref()).await;
    let p = added(store.as_ref(), &c, new_id("cred").as_bytes()).await;
    let attempt = passkey_attempt(store.as_ref(), &s).await;
    let writes: Vec<PasskeySignin> = (0..4)
        .map(|_| passkey_signin(&s, &c, &attempt, &p).0)
        .collect();
    let answers = join_all(writes.iter().map(|w| store.finish_passkey_signin(w))).await;
    let done = answers
        .iter()
        .filter(|a| matches!(a, Ok(Completion::Done)))
        .count();
    assert_eq!(done, 1, "{answers:?}");
}
