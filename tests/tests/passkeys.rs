//! Passkeys over HTTP on both backends (issue 16), with a software authenticator
//! (`sesame_e2e::passkey::SoftKey`): register, list, rename, sign in without a password, and
//! every refusal: a replayed assertion, a second use of one challenge in parallel, a deleted
//! passkey, a passkey made for another relying party, a blocked user; a notice for each added or
//! removed passkey.

use serde_json::{Value, json};
use sesame_e2e::passkey::{ORIGIN, SoftKey};
use sesame_e2e::{Answer, Browser, Server, both_backends};

both_backends!(a_passkey_registers_and_signs_in_without_a_password);
both_backends!(an_assertion_is_used_once);
both_backends!(one_challenge_answered_twice_in_parallel_signs_in_once);
both_backends!(a_deleted_passkey_no_longer_signs_in);
both_backends!(a_passkey_of_another_relying_party_is_refused);
both_backends!(a_blocked_user_cannot_sign_in_with_a_passkey);
both_backends!(a_deleted_account_takes_its_passkeys_with_it);

/// Registers a passkey named `name` for the signed-in `browser`: the new passkey's view.
async fn registered(browser: &mut Browser, key: &mut SoftKey, name: &str) -> Value {
    let begun = browser.post("/me/passkeys/register/begin", json!({})).await;
    assert_eq!(begun.status, 200, "{:#}", begun.body);
    let selection = &begun.body["data"]["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "discoverable");
    assert_eq!(selection["userVerification"], "required");
    let credential = key.register(&begun.body["data"], None);
    let done = browser
        .post(
            "/me/passkeys/register/finish",
            json!({"credential": credential, "name": name}),
        )
        .await;
    assert_eq!(done.status, 201, "{:#}", done.body);
    done.body["data"].clone()
}

/// Opens a passkey sign-in attempt: its id and request options.
async fn opened(browser: &mut Browser) -> (String, Value) {
    let answer = browser
        .post("/auth/signin", json!({"strategy": "passkey"}))
        .await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    let attempt = answer.body["data"]["signin_attempts"]
        .as_array()
        .and_then(|all| all.last())
        .expect("the attempt")
        .clone();
    assert_eq!(attempt["current_step"], "verify_passkey");
    assert_eq!(attempt["method"], "passkey");
    let options = attempt["passkey_options"].clone();
    assert_eq!(options["publicKey"]["userVerification"], "required");
    (attempt["id"].as_str().unwrap().to_string(), options)
}

async fn verified(browser: &mut Browser, attempt: &str, credential: &Value) -> Answer {
    browser
        .post(
            "/auth/attempt-verification",
            json!({"signin_attempt_id": attempt, "credential": credential}),
        )
        .await
}

fn signed_in_as(answer: &Answer) -> Option<&str> {
    answer.body["data"]["active_signin"]["user_id"].as_str()
}

async fn a_passkey_registers_and_signs_in_without_a_password(server: Server) {
    let (mut owner, _, user_id) = server.new_user("passkey").await;
    let mut key = SoftKey::new(ORIGIN);
    let made = registered(&mut owner, &mut key, "laptop").await;
    assert_eq!(made["name"], "laptop");
    assert!(made["last_used_at"].is_null());
    assert!(
        made.get("credential").is_none(),
        "no key material: {made:#}"
    );

    let listed = owner.get("/me/passkeys").await;
    assert_eq!(listed.status, 200, "{:#}", listed.body);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["data"][0]["id"], made["id"]);

    let id = made["id"].as_str().unwrap();
    let req = owner
        .client
        .patch(format!("{}/me/passkeys/{id}", owner.base))
        .json(&json!({"name": "work laptop"}));
    let renamed = owner.clone().send(req).await;
    assert_eq!(renamed.status, 200, "{:#}", renamed.body);
    assert_eq!(renamed.body["data"]["name"], "work laptop");

    // Another browser, no identifier, no password, no second factor step.
    let mut elsewhere = server.browser();
    let (attempt, options) = opened(&mut elsewhere).await;
    let assertion = key.assert(&options, 0, None);
    let done = verified(&mut elsewhere, &attempt, &assertion).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(signed_in_as(&done), Some(user_id.as_str()));
    assert!(done.body["data"]["signin_attempts"][0]["completed"] == true);
    let me = elsewhere.get("/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["data"]["id"], user_id.as_str());

    let used = owner.get("/me/passkeys").await;
    assert!(
        used.body["data"][0]["last_used_at"].is_string(),
        "{:#}",
        used.body
    );
}

async fn an_assertion_is_used_once(server: Server) {
    let (mut owner, _, _) = server.new_user("passkeyreplay").await;
    let mut key = SoftKey::new(ORIGIN);
    registered(&mut owner, &mut key, "laptop").await;
    let mut thief = server.browser();
    let (attempt, options) = opened(&mut thief).await;
    let assertion = key.assert(&options, 0, None);
    assert_eq!(verified(&mut thief, &attempt, &assertion).await.status, 200);

    // The same assertion again: its attempt is completed.
    let again = verified(&mut thief, &attempt, &assertion).await;
    assert_eq!(again.status, 409, "{:#}", again.body);
    assert_eq!(again.error(), "ATTEMPT_COMPLETED");
    // Replayed on a fresh attempt: the challenge is not that attempt's.
    let mut other = server.browser();
    let (fresh, _) = opened(&mut other).await;
    let replayed = verified(&mut other, &fresh, &assertion).await;
    assert_eq!(replayed.status, 401, "{:#}", replayed.body);
    assert_eq!(replayed.error(), "INVALID_CREDENTIALS");
    assert_eq!(signed_in_as(&replayed), None);
}

async fn one_challenge_answered_twice_in_parallel_signs_in_once(server: Server) {
    let (mut owner, _, _) = server.new_user("passkeyrace").await;
    let mut key = SoftKey::new(ORIGIN);
    registered(&mut owner, &mut key, "laptop").await;
    let mut browser = server.browser();
    let (attempt, options) = opened(&mut browser).await;
    // Two valid assertions over the one challenge (counters 1 and 2), sent at once.
    let first = key.assert(&options, 0, None);
    let second = key.assert(&options, 0, None);
    let (mut a, mut b) = (browser.clone(), browser.clone());
    let (one, two) = tokio::join!(
        verified(&mut a, &attempt, &first),
        verified(&mut b, &attempt, &second)
    );
    let statuses = [one.status, two.status];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{:#} {:#}",
        one.body,
        two.body
    );
}

async fn a_deleted_passkey_no_longer_signs_in(server: Server) {
    let (mut owner, email, user_id) = server.new_user("passkeydelete").await;
    let mut key = SoftKey::new(ORIGIN);
    let before = server.messages_to(&email).await.len();
    let made = registered(&mut owner, &mut key, "laptop").await;
    // Each change is told to the account's email: a passkey signs in past every other factor.
    let told = server.messages_to(&email).await;
    assert_eq!(told.len(), before + 1, "one notice: {told:?}");
    assert!(
        told.last().unwrap().contains("passkey was just added"),
        "{told:?}"
    );
    let id = made["id"].as_str().unwrap();
    let req = owner
        .client
        .delete(format!("{}/me/passkeys/{id}", owner.base));
    let deleted = owner.clone().send(req).await;
    assert_eq!(deleted.status, 200, "{:#}", deleted.body);
    let told = server.messages_to(&email).await;
    assert_eq!(told.len(), before + 2, "one more notice: {told:?}");
    assert!(
        told.last().unwrap().contains("passkey was just removed"),
        "{told:?}"
    );
    let listed = owner.get("/me/passkeys").await;
    assert_eq!(listed.body["data"], json!([]));
    let req = owner
        .client
        .delete(format!("{}/me/passkeys/{id}", owner.base));
    assert_eq!(owner.clone().send(req).await.status, 404, "gone already");

    let mut browser = server.browser();
    let (attempt, options) = opened(&mut browser).await;
    let refused = verified(&mut browser, &attempt, &key.assert(&options, 0, None)).await;
    assert_eq!(refused.status, 401, "{:#}", refused.body);
    assert_eq!(refused.error(), "INVALID_CREDENTIALS");
    assert_eq!(signed_in_as(&refused), None);
    assert!(
        server
            .app
            .store
            .passkeys_of_user(&user_id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_passkey_of_another_relying_party_is_refused(server: Server) {
    let (mut owner, _, _) = server.new_user("passkeyrp").await;
    // Made on evil.example, for evil.example: neither registers here nor signs in.
    let mut phished = SoftKey::new("https://evil.example");
    let begun = owner.post("/me/passkeys/register/begin", json!({})).await;
    let credential = phished.register(&begun.body["data"], Some("evil.example"));
    let refused = owner
        .post(
            "/me/passkeys/register/finish",
            json!({"credential": credential, "name": "phished"}),
        )
        .await;
    assert_eq!(refused.status, 400, "{:#}", refused.body);
    assert_eq!(refused.body["errors"][0]["field"], "credential");

    // A passkey of this site, its assertion made for another relying party and origin.
    let mut key = SoftKey::new(ORIGIN);
    registered(&mut owner, &mut key, "laptop").await;
    let mut browser = server.browser();
    let (attempt, options) = opened(&mut browser).await;
    // The same authenticator asked by evil.example: it signs for that relying party.
    key.move_to("https://evil.example");
    let assertion = key.assert(&options, 0, Some("evil.example"));
    let answer = verified(&mut browser, &attempt, &assertion).await;
    assert_eq!(answer.status, 401, "{:#}", answer.body);
    assert_eq!(signed_in_as(&answer), None);
}

async fn a_blocked_user_cannot_sign_in_with_a_passkey(server: Server) {
    use sesame::domain::admin_change::{AdminChange, AdminEdit};
    use sesame::domain::ports::store::ProfileChanges;
    let (mut owner, _, user_id) = server.new_user("passkeyblocked").await;
    let mut key = SoftKey::new(ORIGIN);
    registered(&mut owner, &mut key, "laptop").await;
    let before = server.app.store.get_user(&user_id).await.unwrap().unwrap();
    let change = AdminChange {
        before: before.clone(),
        edit: AdminEdit {
            profile: ProfileChanges {
                first_name: None,
                last_name: None,
                image_url: None,
                metadata: None,
                profile: None,
                updated_at: before.updated_at,
            },
            username: None,
            email_verified: None,
            phone_verified: None,
            blocked: Some(true),
        },
    };
    server.app.store.admin_update(&change).await.unwrap();
    let mut browser = server.browser();
    let (attempt, options) = opened(&mut browser).await;
    let refused = verified(&mut browser, &attempt, &key.assert(&options, 0, None)).await;
    assert_eq!(refused.status, 403, "{:#}", refused.body);
    assert_eq!(refused.error(), "USER_BLOCKED");
    assert_eq!(signed_in_as(&refused), None);
}

async fn a_deleted_account_takes_its_passkeys_with_it(server: Server) {
    let (mut owner, _, user_id) = server.new_user("passkeyaccount").await;
    let mut key = SoftKey::new(ORIGIN);
    registered(&mut owner, &mut key, "laptop").await;
    let req = owner.client.delete(format!("{}/me", owner.base));
    let deleted = owner.clone().send(req).await;
    assert_eq!(deleted.status, 200, "{:#}", deleted.body);
    assert!(
        server
            .app
            .store
            .passkeys_of_user(&user_id)
            .await
            .unwrap()
            .is_empty()
    );
    let mut browser = server.browser();
    let (attempt, options) = opened(&mut browser).await;
    let refused = verified(&mut browser, &attempt, &key.assert(&options, 0, None)).await;
    assert_eq!(refused.status, 401, "{:#}", refused.body);
    assert_eq!(signed_in_as(&refused), None);
}

/// A registration's challenge waits 5 minutes; a sign-in's dies with its attempt (10 minutes).
mod challenges_expire {
    use std::sync::Arc;

    use sesame::adapters::clock::ManualClock;
    use sesame_e2e::{Backend, Server};
    use time::{Duration, OffsetDateTime};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        run(Backend::Embedded).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn moto() {
        run(Backend::Moto).await;
    }

    async fn run(backend: Backend) {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let Some(server) = Server::start_with_clock(backend, &[], clock.clone()).await else {
            return;
        };
        let (mut owner, _, _) = server.new_user("passkeyexpiry").await;
        let mut key = super::SoftKey::new(super::ORIGIN);
        let begun = owner
            .post("/me/passkeys/register/begin", serde_json::json!({}))
            .await;
        assert_eq!(begun.status, 200, "{:#}", begun.body);
        let credential = key.register(&begun.body["data"], None);
        clock.advance(Duration::minutes(6));
        let late = owner
            .post(
                "/me/passkeys/register/finish",
                serde_json::json!({"credential": credential, "name": "late"}),
            )
            .await;
        assert_eq!(late.status, 400, "{:#}", late.body);
        assert_eq!(late.body["errors"][0]["field"], "credential");

        super::registered(&mut owner, &mut key, "laptop").await;
        let mut browser = server.browser();
        let (attempt, options) = super::opened(&mut browser).await;
        let assertion = key.assert(&options, 0, None);
        clock.advance(Duration::minutes(11));
        let expired = super::verified(&mut browser, &attempt, &assertion).await;
        assert_eq!(expired.status, 404, "{:#}", expired.body);
        assert_eq!(expired.error(), "ATTEMPT_NOT_FOUND");
    }
}
