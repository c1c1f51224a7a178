//! Issue 11 over HTTP on both backends: `GET /me/sessions`, revoking one signin or all the others
//! across browsers and a phone (header mode), the stolen-cookie scenario, and `DELETE /me`.

use futures_util::future::join_all;
use serde_json::{Value, json};
use sesame_e2e::{Browser, Server, both_backends};

const PASSWORD: &str = "analytical engine";

/// The ids in a `GET /me/sessions` answer, and which one is `current`.
fn listed(answer: &Value) -> (Vec<String>, Option<String>) {
    let list = answer["data"].as_array().expect("a list");
    let ids = list
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    let current: Vec<String> = list
        .iter()
        .filter(|d| d["current"] == true)
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert!(current.len() <= 1, "one current at most: {answer:#}");
    (ids, current.into_iter().next())
}

fn active_signin(answer: &sesame_e2e::Answer) -> String {
    answer.body["session"]["active_signin"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("signed in: {:#}", answer.body))
        .to_string()
}

/// Signs in as `email` in a fresh browser that says it is `agent`.
async fn browser_signed_in(server: &Server, email: &str, agent: &str) -> (Browser, String) {
    let mut browser = server.browser();
    let req = browser
        .client
        .post(format!("{}/auth/signin", server.base))
        .header("user-agent", agent)
        .json(&json!({"identifier": email, "password": PASSWORD}));
    let answer = browser.send(req).await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    let id = active_signin(&answer);
    (browser, id)
}

async fn two_browsers_and_a_phone_see_and_revoke_each_other(server: Server) {
    let (mut laptop, email, _) = server.new_user("devices").await;
    let laptop_signin = active_signin(&laptop.get("/session").await);
    let (mut desktop, desktop_signin) =
        browser_signed_in(&server, &email, "Firefox/140 desktop").await;
    let mut phone = server.native_app();
    let signed_in = phone.sign_in(&email, PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{:#}", signed_in.body);
    let phone_signin = active_signin(&signed_in);

    let seen = laptop.get("/me/sessions").await;
    assert_eq!(seen.status, 200, "{:#}", seen.body);
    let (mut ids, current) = listed(&seen.body);
    ids.sort();
    let mut expected = vec![
        laptop_signin.clone(),
        desktop_signin.clone(),
        phone_signin.clone(),
    ];
    expected.sort();
    assert_eq!(ids, expected, "every device of the user");
    assert_eq!(current.as_deref(), Some(laptop_signin.as_str()));
    let desktop_entry = seen.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == desktop_signin.as_str())
        .unwrap()
        .clone();
    assert_eq!(desktop_entry["user_agent"], "Firefox/140 desktop");
    assert_eq!(desktop_entry["ip"], "127.0.0.1");
    for field in ["created_at", "last_active_at"] {
        assert!(
            desktop_entry[field].is_string(),
            "{field}: {desktop_entry:#}"
        );
    }
    let (_, phone_current) = listed(&phone.get("/me/sessions").await.body);
    assert_eq!(phone_current.as_deref(), Some(phone_signin.as_str()));

    // The laptop revokes the desktop: its very next request is unauthenticated.
    let revoked = laptop
        .post(&format!("/me/sessions/{desktop_signin}/revoke"), json!({}))
        .await;
    assert_eq!(revoked.status, 200, "{:#}", revoked.body);
    let (left, _) = listed(&revoked.body);
    assert!(!left.contains(&desktop_signin), "{:#}", revoked.body);
    assert_eq!(desktop.get("/me").await.status, 401);
    assert_eq!(
        desktop.get("/session").await.body["data"]["active_signin"],
        Value::Null
    );
    let again = laptop
        .post(&format!("/me/sessions/{desktop_signin}/revoke"), json!({}))
        .await;
    assert_eq!((again.status, again.error()), (400, "INVALID_FIELD"));
    let (ids, _) = listed(&phone.get("/me/sessions").await.body);
    assert_eq!(ids.len(), 2, "the laptop and the phone");

    // Revoking one's own signin is signing it out; the other devices are what is left.
    let (mut spare, spare_signin) = browser_signed_in(&server, &email, "spare").await;
    let own = spare
        .post(&format!("/me/sessions/{spare_signin}/revoke"), json!({}))
        .await;
    assert_eq!(own.status, 200, "{:#}", own.body);
    let (left, current) = listed(&own.body);
    assert_eq!(current, None);
    assert!(
        !left.contains(&spare_signin) && left.len() == 2,
        "{:#}",
        own.body
    );
    assert_eq!(spare.get("/me").await.status, 401);

    // The phone ends every other signin: only it is left.
    let others = phone.post("/me/sessions/revoke-others", json!({})).await;
    assert_eq!(others.status, 200, "{:#}", others.body);
    assert_eq!(listed(&others.body).0, vec![phone_signin.clone()]);
    assert_eq!(laptop.get("/me").await.status, 401);
    assert_eq!(phone.get("/me").await.status, 200);
    assert_eq!(
        listed(&phone.get("/me/sessions").await.body).0,
        vec![phone_signin]
    );
}
both_backends!(two_browsers_and_a_phone_see_and_revoke_each_other);

async fn a_signin_of_another_user_cannot_be_revoked(server: Server) {
    let (mut mine, _, _) = server.new_user("mine").await;
    let (theirs, _, _) = server.new_user("theirs").await;
    let mut theirs = theirs;
    let their_signin = active_signin(&theirs.get("/session").await);
    let refused = mine
        .post(&format!("/me/sessions/{their_signin}/revoke"), json!({}))
        .await;
    assert_eq!((refused.status, refused.error()), (400, "INVALID_FIELD"));
    assert_eq!(theirs.get("/me").await.status, 200, "untouched");
    let anonymous = server
        .browser()
        .post("/me/sessions/revoke-others", json!({}))
        .await;
    assert_eq!(
        (anonymous.status, anonymous.error()),
        (401, "UNAUTHENTICATED")
    );
    let body = mine
        .post("/me/sessions/revoke-others", json!({"all": true}))
        .await;
    assert_eq!(body.status, 400, "no fields are taken");
}
both_backends!(a_signin_of_another_user_cannot_be_revoked);

async fn parallel_revocations_of_one_signin_succeed_once(server: Server) {
    let (laptop, email, _) = server.new_user("parallel").await;
    let (_, target) = browser_signed_in(&server, &email, "target").await;
    let answers = join_all((0..6).map(|_| {
        let mut b = laptop.clone();
        let path = format!("/me/sessions/{target}/revoke");
        async move { b.post(&path, json!({})).await }
    }))
    .await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .all(|a| a.status == 200 || a.error() == "INVALID_FIELD")
    );
}
both_backends!(parallel_revocations_of_one_signin_succeed_once);

/// A thief copies the victim's cookie and signs into their own account with it, which rotates
/// the secret and carries the victim's signin along. The victim's stale cookie can no longer
/// sign out (401, not a silent 200), but the victim sees the unknown device and ends it.
async fn a_stolen_cookie_is_ended_from_the_victims_device_list(server: Server) {
    let (mut victim, victim_email, victim_id) = server.new_user("victim").await;
    let (_, thief_email, thief_id) = server.new_user("thief").await;
    let stolen_signin = active_signin(&victim.get("/session").await);

    let mut thief = server.browser();
    thief.cookie = victim.cookie.clone();
    let own = thief.sign_in(&thief_email, PASSWORD).await;
    assert_eq!(own.status, 200, "{:#}", own.body);
    assert_eq!(own.user_id(), Some(thief_id.as_str()));
    let switched = thief
        .post(
            "/session/switch-sign-in",
            json!({"signin_id": stolen_signin}),
        )
        .await;
    assert_eq!(switched.status, 200, "{:#}", switched.body);
    assert_eq!(
        thief.get("/me").await.body["data"]["id"],
        victim_id.as_str()
    );

    // The victim's cookie is stale now: it proves nothing, and its sign-out says so.
    assert_eq!(victim.get("/me").await.status, 401);
    let out = victim.post("/session/sign-out", json!({})).await;
    assert_eq!((out.status, out.error()), (401, "UNAUTHENTICATED"));

    // Signed in again elsewhere, the victim finds the unknown device and ends it.
    let (mut fresh, fresh_signin) = browser_signed_in(&server, &victim_email, "victim's").await;
    let seen = fresh.get("/me/sessions").await;
    let (ids, current) = listed(&seen.body);
    assert_eq!(current.as_deref(), Some(fresh_signin.as_str()));
    assert!(ids.contains(&stolen_signin), "{:#}", seen.body);
    let revoked = fresh
        .post(&format!("/me/sessions/{stolen_signin}/revoke"), json!({}))
        .await;
    assert_eq!(revoked.status, 200, "{:#}", revoked.body);

    let me = thief.get("/me").await;
    assert_eq!((me.status, me.error()), (401, "UNAUTHENTICATED"));
    let back = thief
        .post(
            "/session/switch-sign-in",
            json!({"signin_id": stolen_signin}),
        )
        .await;
    assert_eq!(
        back.status, 400,
        "the victim's signin is gone from the thief's session"
    );
    assert_eq!(fresh.get("/me").await.status, 200);
}
both_backends!(a_stolen_cookie_is_ended_from_the_victims_device_list);

async fn deleting_the_account_frees_its_email_and_ends_every_device(server: Server) {
    let (mut laptop, email, user_id) = server.new_user("delete").await;
    let (mut desktop, _) = browser_signed_in(&server, &email, "desktop").await;
    let mut phone = server.native_app();
    assert_eq!(phone.sign_in(&email, PASSWORD).await.status, 200);

    let deleted = laptop
        .send(laptop.client.delete(format!("{}/me", server.base)))
        .await;
    assert_eq!(deleted.status, 200, "{:#}", deleted.body);
    assert_eq!(deleted.body["data"], Value::Null);
    assert_eq!(deleted.body["session"]["active_signin"], Value::Null);
    for answer in [
        laptop.get("/me").await,
        desktop.get("/me").await,
        phone.get("/me").await,
    ] {
        assert_eq!((answer.status, answer.error()), (401, "UNAUTHENTICATED"));
    }
    let again = laptop
        .send(laptop.client.delete(format!("{}/me", server.base)))
        .await;
    assert_eq!(again.status, 401);

    // The same email signs up afresh as a new user.
    let mut newcomer = server.browser();
    let opened = newcomer.sign_up(&email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let done = newcomer.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let new_id = done.user_id().unwrap().to_string();
    assert_ne!(new_id, user_id);
    let old = server.browser().sign_in(&email, PASSWORD).await;
    assert_eq!(old.status, 200);
    assert_eq!(old.user_id(), Some(new_id.as_str()));
}
both_backends!(deleting_the_account_frees_its_email_and_ends_every_device);

/// `DELETE /me` racing a username change: the deletion requires that no claim moved since it
/// read the user's claims, so the new name is either the (still existing) user's or free.
async fn deleting_the_account_while_its_username_changes_leaves_no_claim_behind(server: Server) {
    let store = server.app.store.clone();
    for round in 0..10 {
        let (mut laptop, email, user_id) = server.new_user("gone").await;
        let (mut desktop, _) = browser_signed_in(&server, &email, "desktop").await;
        let name = format!("n{}", &sesame::ids::new_id("x")[2..14]);
        let rename = desktop
            .client
            .patch(format!("{}/me", server.base))
            .json(&json!({"username": name}));
        let delete = laptop.client.delete(format!("{}/me", server.base));
        let (renamed, deleted) = tokio::join!(desktop.send(rename), laptop.send(delete));
        assert_eq!(deleted.status, 200, "round {round}: {:#}", deleted.body);
        assert!(
            [200, 401].contains(&renamed.status),
            "round {round}: {:#}",
            renamed.body
        );
        assert!(store.get_user(&user_id).await.unwrap().is_none());
        let claim = sesame::domain::model::Claim::Username(name.clone());
        assert_eq!(
            store.claim_owner(&claim).await.unwrap(),
            None,
            "round {round}: the rename answered {}, and its name outlived the user",
            renamed.status
        );
    }
}
both_backends!(deleting_the_account_while_its_username_changes_leaves_no_claim_behind);

/// A signin granted before the user index existed has no entry under its user: not listed, not
/// ended by "every signin". The one-off backfill writes its entry (and only once), after which
/// it is listed and revoke-others ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signin_older_than_the_user_index_is_ended_after_the_backfill() {
    let Some(server) = Server::start(sesame_e2e::Backend::Moto, &[]).await else {
        return;
    };
    let moto = server.moto.as_ref().expect("the emulators");
    let dynamo = moto.store(None).await;
    let (mut old_device, email, user_id) = server.new_user("legacy").await;
    let legacy = active_signin(&old_device.get("/session").await);
    let (mut new_device, current) = browser_signed_in(&server, &email, "new").await;
    // As stored before the index: the signin without its entry under the user.
    let key = |pk: String, sk: String| {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        std::collections::HashMap::from([("pk".to_string(), S(pk)), ("sk".to_string(), S(sk))])
    };
    dynamo
        .client()
        .delete_item()
        .table_name(&moto.table)
        .set_key(Some(key(
            format!("USER#{user_id}"),
            format!("SIGNIN#{legacy}"),
        )))
        .send()
        .await
        .expect("delete the index entry");
    let before = new_device.get("/me/sessions").await;
    assert_eq!(listed(&before.body).0, vec![current.clone()], "not indexed");

    let done = dynamo.backfill_user_index().await.expect("backfill");
    assert_eq!((done.indexed, done.present, done.skipped), (1, 1, 0));
    let again = dynamo.backfill_user_index().await.expect("backfill again");
    assert_eq!((again.indexed, again.present), (0, 2), "idempotent");

    let mut after = listed(&new_device.get("/me/sessions").await.body).0;
    after.sort();
    let mut both = vec![legacy, current];
    both.sort();
    assert_eq!(after, both);
    let ended = new_device
        .post("/me/sessions/revoke-others", json!({}))
        .await;
    assert_eq!(ended.status, 200, "{:#}", ended.body);
    assert_eq!(old_device.get("/me").await.status, 401);
    assert_eq!(new_device.get("/me").await.status, 200);
}
