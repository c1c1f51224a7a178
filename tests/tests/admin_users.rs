//! The admin API on users (issue 15, DESIGN section 14) over HTTP on both backends: lookup,
//! listing across pages while users sign up, reading, editing, blocking (a live session's next
//! request is 401), deleting (the email is free again), signing out everywhere, and who may call.

use std::collections::HashSet;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use sesame_e2e::{Answer, Backend, Browser, Server, unique_email, unique_phone};

const KEY: &str = "test-admin-key-0123456789";

async fn admin_server(backend: Backend) -> Option<Server> {
    Server::start(backend, &[("ADMIN_KEY", KEY)]).await
}

/// One test per backend, on a server with `ADMIN_KEY` set.
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                if let Some(server) = super::admin_server(sesame_e2e::Backend::Embedded).await {
                    super::$name(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                if let Some(server) = super::admin_server(sesame_e2e::Backend::Moto).await {
                    super::$name(server).await;
                }
            }
        }
    };
}

/// An admin request with `key` (`None`: no `X-Admin-Key` header).
async fn call(
    server: &Server,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> Answer {
    let mut browser = server.browser();
    let mut req = browser
        .client
        .request(method, format!("{}{path}", browser.base));
    if let Some(body) = body {
        req = req.json(&body);
    }
    if let Some(k) = key {
        req = req.header("x-admin-key", k);
    }
    browser.send(req).await
}

async fn admin(server: &Server, method: Method, path: &str, body: Option<Value>) -> Answer {
    call(server, method, path, body, Some(KEY)).await
}

async fn get(server: &Server, path: &str) -> Answer {
    admin(server, Method::GET, path, None).await
}

async fn patch(server: &Server, path: &str, body: Value) -> Answer {
    admin(server, Method::PATCH, path, Some(body)).await
}

async fn import(server: &Server, record: Value) -> String {
    let created = admin(server, Method::POST, "/admin/users", Some(record)).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    created.body["data"]["id"].as_str().unwrap().to_string()
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["data"]["users"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {:#}", answer.body))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

async fn me_status(browser: &mut Browser) -> u16 {
    browser.get("/me").await.status
}

async fn finding_reading_and_editing_a_user(server: Server) {
    let email = unique_email("adm");
    let phone = unique_phone();
    let username = format!("adm{}", &email[4..12]);
    let id = import(
        &server,
        json!({"email": email, "email_verified": true, "phone_number": phone,
               "phone_number_verified": true, "username": username, "name": "Ada King"}),
    )
    .await;
    for query in [
        format!("email={}", email.to_uppercase()),
        format!("phone_number={}", phone.replace('+', "%2B")),
        format!("username={}", username.to_uppercase()),
    ] {
        let found = get(&server, &format!("/admin/users?{query}")).await;
        assert_eq!(found.status, 200, "{query}: {:#}", found.body);
        assert_eq!(ids(&found), std::slice::from_ref(&id), "{query}");
        assert_eq!(found.body["data"]["next_cursor"], Value::Null);
    }
    let user = get(&server, &format!("/admin/users/{id}")).await;
    assert_eq!(user.status, 200);
    let data = &user.body["data"];
    assert_eq!(
        (data["email"].as_str(), data["blocked"].as_bool()),
        (Some(email.as_str()), Some(false))
    );
    assert_eq!(data["profile"]["name"], "Ada King");
    for secret in ["password_hash", "password", "identities"] {
        assert!(data.get(secret).is_none(), "{secret} is never shown");
    }

    let nobody = get(
        &server,
        &format!("/admin/users?email={}", unique_email("none")),
    )
    .await;
    assert_eq!((nobody.status, ids(&nobody).len()), (200, 0));

    // The user's own fields, checked by PATCH /me's rules.
    let path = format!("/admin/users/{id}");
    let edit = json!({"first_name": "Augusta", "last_name": null, "metadata": {"plan": "pro"},
                      "username": format!("new{}", &email[4..12])});
    let edited = patch(&server, &path, edit).await;
    assert_eq!(edited.status, 200, "{:#}", edited.body);
    assert_eq!(edited.body["data"]["first_name"], "Augusta");
    assert_eq!(edited.body["data"]["last_name"], Value::Null);
    assert_eq!(edited.body["data"]["metadata"], json!({"plan": "pro"}));
    // The old username is free, the new one found.
    let old = get(&server, &format!("/admin/users?username={username}")).await;
    assert!(ids(&old).is_empty());
    let stored = get(&server, &path).await;
    assert_eq!(
        stored.body["data"]["username"],
        format!("new{}", &email[4..12])
    );

    let bad = patch(
        &server,
        &path,
        json!({"username": "a b", "first_name": "\u{0}"}),
    )
    .await;
    assert_eq!(bad.status, 400, "{:#}", bad.body);
    assert_eq!(bad.error_codes(), ["INVALID_FIELD", "INVALID_FIELD"]);
    let unknown = patch(&server, &path, json!({"password_hash": "x"})).await;
    assert_eq!((unknown.status, unknown.error()), (400, "BAD_REQUEST_BODY"));

    // Another user's username is a conflict, and nothing of the edit is written.
    let other = format!("oth{}", &email[4..12]);
    import(
        &server,
        json!({"email": unique_email("oth"), "username": other}),
    )
    .await;
    let taken = patch(
        &server,
        &path,
        json!({"username": other.to_uppercase(), "first_name": "Nope"}),
    )
    .await;
    assert_eq!((taken.status, taken.error()), (409, "USERNAME_EXISTS"));
    let unchanged = get(&server, &path).await;
    assert_eq!(unchanged.body["data"]["first_name"], "Augusta");

    // Marking a contact unverified frees it; verifying one another user holds is a conflict.
    let unverify = patch(&server, &path, json!({"email_verified": false})).await;
    assert_eq!(unverify.status, 200, "{:#}", unverify.body);
    assert_eq!(unverify.body["data"]["email_verified"], false);
    let gone = get(&server, &format!("/admin/users?email={email}")).await;
    assert!(ids(&gone).is_empty());
    let rival = import(&server, json!({"email": email, "email_verified": true})).await;
    let clash = patch(&server, &path, json!({"email_verified": true})).await;
    assert_eq!((clash.status, clash.error()), (409, "EMAIL_EXISTS"));
    let found = get(&server, &format!("/admin/users?email={email}")).await;
    assert_eq!(ids(&found), [rival]);
    let no_phone = import(&server, json!({"email": unique_email("nophone")})).await;
    let nothing = patch(
        &server,
        &format!("/admin/users/{no_phone}"),
        json!({"phone_number_verified": true}),
    )
    .await;
    assert_eq!((nothing.status, nothing.error()), (400, "INVALID_FIELD"));

    // The query takes one lookup, or a page.
    for query in [
        "email=a@example.com&username=abc",
        "username=abc&limit=2",
        "limit=0",
        "limit=101",
        "cursor=bm9wZQ",
        "limit=x",
        "color=red",
    ] {
        let refused = get(&server, &format!("/admin/users?{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {:#}", refused.body);
    }

    // An unknown id is 404 USER_NOT_FOUND on every route that names one.
    let missing = "usr_00000000000000000000000000000000";
    for (method, path, body) in [
        (Method::GET, format!("/admin/users/{missing}"), None),
        (
            Method::PATCH,
            format!("/admin/users/{missing}"),
            Some(json!({"first_name": "X"})),
        ),
        (Method::DELETE, format!("/admin/users/{missing}"), None),
        (
            Method::POST,
            format!("/admin/users/{missing}/sign-out"),
            None,
        ),
    ] {
        let answer = admin(&server, method.clone(), &path, body).await;
        assert_eq!(
            (answer.status, answer.error()),
            (404, "USER_NOT_FOUND"),
            "{method} {path}"
        );
    }
}
both_backends!(finding_reading_and_editing_a_user);

async fn blocking_ends_every_live_signin_at_once(server: Server) {
    let (mut laptop, email, id) = server.new_user("block").await;
    let mut phone = server.browser();
    let signed_in = phone.sign_in(&email, "analytical engine").await;
    assert_eq!(signed_in.status, 200, "{:#}", signed_in.body);
    assert_eq!(
        (me_status(&mut laptop).await, me_status(&mut phone).await),
        (200, 200)
    );
    // A bystander's session is untouched.
    let (mut bystander, _, _) = server.new_user("bystander").await;

    let path = format!("/admin/users/{id}");
    let blocked = patch(&server, &path, json!({"blocked": true})).await;
    assert_eq!(blocked.status, 200, "{:#}", blocked.body);
    assert_eq!(blocked.body["data"]["blocked"], true);
    assert_eq!(
        (me_status(&mut laptop).await, me_status(&mut phone).await),
        (401, 401)
    );
    assert!(
        server
            .app
            .store
            .signins_of_user(&id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(me_status(&mut bystander).await, 200);
    let refused = server.browser().sign_in(&email, "analytical engine").await;
    assert_eq!((refused.status, refused.error()), (403, "USER_BLOCKED"));

    // Unblocking revives no signin; signing in works again.
    let unblocked = patch(&server, &path, json!({"blocked": false})).await;
    assert_eq!(unblocked.body["data"]["blocked"], false);
    assert_eq!(me_status(&mut laptop).await, 401);
    let mut again = server.browser();
    assert_eq!(again.sign_in(&email, "analytical engine").await.status, 200);
    assert_eq!(me_status(&mut again).await, 200);
}
both_backends!(blocking_ends_every_live_signin_at_once);

async fn signing_a_user_out_everywhere(server: Server) {
    let (mut laptop, email, id) = server.new_user("signout").await;
    let mut phone = server.browser();
    assert_eq!(phone.sign_in(&email, "analytical engine").await.status, 200);
    let out = admin(
        &server,
        Method::POST,
        &format!("/admin/users/{id}/sign-out"),
        None,
    )
    .await;
    assert_eq!(out.status, 200, "{:#}", out.body);
    assert_eq!(out.body["data"]["signins_ended"], 2);
    assert_eq!(
        (me_status(&mut laptop).await, me_status(&mut phone).await),
        (401, 401)
    );
    // Not blocked: the user signs in again.
    assert_eq!(
        server
            .browser()
            .sign_in(&email, "analytical engine")
            .await
            .status,
        200
    );
}
both_backends!(signing_a_user_out_everywhere);

async fn deleting_a_user_frees_its_email(server: Server) {
    let (mut browser, email, id) = server.new_user("delete").await;
    let path = format!("/admin/users/{id}");
    let deleted = admin(&server, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, 200, "{:#}", deleted.body);
    assert_eq!(me_status(&mut browser).await, 401);
    let gone = get(&server, &path).await;
    assert_eq!((gone.status, gone.error()), (404, "USER_NOT_FOUND"));
    let again = admin(&server, Method::DELETE, &path, None).await;
    assert_eq!((again.status, again.error()), (404, "USER_NOT_FOUND"));
    let lookup = get(&server, &format!("/admin/users?email={email}")).await;
    assert!(ids(&lookup).is_empty());

    // The same email signs up again, as a new user.
    let mut newcomer = server.browser();
    let opened = newcomer.sign_up(&email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let done = newcomer.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let new_id = done.user_id().unwrap().to_string();
    assert_ne!(new_id, id);
    let found = get(&server, &format!("/admin/users?email={email}")).await;
    assert_eq!(ids(&found), [new_id]);
}
both_backends!(deleting_a_user_frees_its_email);

async fn listing_pages_are_stable_while_users_sign_up(server: Server) {
    let server = Arc::new(server);
    let mut before = HashSet::new();
    for i in 0..9 {
        before.insert(import(&server, json!({"email": unique_email(&format!("list{i}"))})).await);
    }
    // Sign-ups running in parallel with the listing, from start to finish...
    let parallel: Vec<_> = (0..4)
        .map(|i| {
            let server = server.clone();
            tokio::spawn(async move { server.new_user(&format!("parallel{i}")).await.2 })
        })
        .collect();
    // ...and, so that some surely land mid-listing, one finished between each two pages.
    let mut opened = Vec::new();
    for i in 0..4 {
        let mut b = server.browser();
        let email = unique_email(&format!("between{i}"));
        let answer = b.sign_up(&email).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        opened.push((email, answer.signup_attempt_id(), b));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut finished = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/users?limit=2&cursor={c}"),
            None => "/admin/users?limit=2".to_string(),
        };
        let page = get(&server, &path).await;
        assert_eq!(page.status, 200, "{:#}", page.body);
        let got = ids(&page);
        assert!(got.len() <= 2);
        seen.extend(got);
        pages += 1;
        if let Some((email, attempt, mut b)) = opened.pop() {
            let code = server.code_for(&email).await;
            let done = b.verify(&attempt, &code).await;
            assert_eq!(done.status, 200, "{:#}", done.body);
            finished.push(done.user_id().unwrap().to_string());
        }
        match page.body["data"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 50, "the listing never ends");
    }
    for task in parallel {
        finished.push(task.await.unwrap());
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no user twice: {seen:?}");
    for id in &before {
        assert!(
            unique.contains(id),
            "{id} existed before the first page and was skipped"
        );
    }
    // Whatever was listed exists; afterwards every user is listed, newest first.
    let all = get(&server, "/admin/users?limit=100").await;
    let everyone: HashSet<String> = ids(&all).into_iter().collect();
    assert!(unique.iter().all(|id| everyone.contains(*id)));
    assert_eq!(everyone.len(), before.len() + finished.len());
    assert!(finished.iter().all(|id| everyone.contains(id)));
    let times: Vec<String> = all.body["data"]["users"]
        .as_array()
        .unwrap()
        .iter()
        // To the second, as the listing orders them (then by id).
        .map(|u| u["created_at"].as_str().unwrap()[..19].to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
}
both_backends!(listing_pages_are_stable_while_users_sign_up);

#[tokio::test]
async fn without_the_right_admin_key_no_admin_route_answers() {
    let server = admin_server(Backend::Embedded).await.unwrap();
    let id = import(&server, json!({"email": unique_email("auth")})).await;
    let routes = [
        (Method::GET, "/admin/users".to_string(), None),
        (
            Method::GET,
            format!("/admin/users?email={}", unique_email("x")),
            None,
        ),
        (Method::GET, format!("/admin/users/{id}"), None),
        (
            Method::PATCH,
            format!("/admin/users/{id}"),
            Some(json!({"blocked": true})),
        ),
        (Method::DELETE, format!("/admin/users/{id}"), None),
        (Method::POST, format!("/admin/users/{id}/sign-out"), None),
    ];
    for (method, path, body) in &routes {
        for key in [None, Some("wrong"), Some(""), Some(&KEY[..KEY.len() - 1])] {
            let answer = call(&server, method.clone(), path, body.clone(), key).await;
            assert_eq!(
                (answer.status, answer.error()),
                (401, "UNAUTHENTICATED"),
                "{method} {path} with {key:?}"
            );
        }
    }
    // Nothing happened: the user is there, unblocked.
    let user = get(&server, &format!("/admin/users/{id}")).await;
    assert_eq!(user.body["data"]["blocked"], false);

    // Without ADMIN_KEY the admin routes do not exist.
    let closed = Server::start(Backend::Embedded, &[]).await.unwrap();
    for (method, path, body) in &routes {
        let answer = call(&closed, method.clone(), path, body.clone(), Some(KEY)).await;
        assert_eq!(
            (answer.status, answer.error()),
            (404, "NOT_FOUND"),
            "{method} {path}"
        );
    }
}

/// Users created before the admin listing's index carry no `list_pk`/`list_sk` and are never
/// listed. The one-off backfill gives each its place as a creation writes it, once even when two
/// runs overlap, beside an edit of the same user (neither undoes the other); afterwards the
/// listing shows every user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_older_than_the_listing_are_listed_after_the_backfill() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    use sesame::domain::admin_change::UserCursor;

    let Some(server) = admin_server(Backend::Moto).await else {
        return;
    };
    let moto = server.moto.as_ref().expect("the emulators");
    let dynamo = moto.store(None).await;
    let key = |id: &str| {
        std::collections::HashMap::from([
            ("pk".to_string(), S(format!("USER#{id}"))),
            ("sk".to_string(), S("USER".to_string())),
        ])
    };
    let list_sk = |id: String| {
        let get = dynamo
            .client()
            .get_item()
            .table_name(&moto.table)
            .set_key(Some(key(&id)))
            .consistent_read(true)
            .send();
        async move {
            let item = get.await.expect("get the user item").item.expect("stored");
            item.get("list_sk").map(|v| v.as_s().unwrap().clone())
        }
    };
    let mut legacy = Vec::new();
    for i in 0..3 {
        legacy.push(import(&server, json!({"email": unique_email(&format!("old{i}"))})).await);
    }
    let current = import(&server, json!({"email": unique_email("current")})).await;
    // As stored before the index: the user items without their place in it.
    for id in &legacy {
        dynamo
            .client()
            .update_item()
            .table_name(&moto.table)
            .set_key(Some(key(id)))
            .update_expression("REMOVE list_pk, list_sk")
            .send()
            .await
            .expect("remove the listing keys");
    }
    let before = get(&server, "/admin/users?limit=100").await;
    assert_eq!(
        ids(&before),
        std::slice::from_ref(&current),
        "only the new user is listed"
    );

    let path = format!("/admin/users/{}", legacy[0]);
    let (first, second, edited) = tokio::join!(
        dynamo.backfill_user_listing(),
        dynamo.backfill_user_listing(),
        patch(&server, &path, json!({"first_name": "Augusta"})),
    );
    let (first, second) = (first.expect("backfill"), second.expect("backfill"));
    assert_eq!(first.listed + second.listed, 3, "{first:?} {second:?}");
    assert_eq!(
        first.present + second.present + first.skipped + second.skipped,
        5,
        "the current user twice, and each legacy user once for the run that lost: {first:?} {second:?}"
    );
    assert_eq!(edited.status, 200, "{:#}", edited.body);
    let again = dynamo
        .backfill_user_listing()
        .await
        .expect("backfill again");
    assert_eq!((again.listed, again.present, again.skipped), (0, 4, 0));

    for id in &legacy {
        let user = server.app.store.get_user(id).await.unwrap().unwrap();
        assert_eq!(
            list_sk(id.clone()).await,
            Some(UserCursor::of(&user).sort_key()),
            "placed as a creation places it"
        );
    }
    assert!(list_sk(current.clone()).await.is_some());
    let after = get(&server, "/admin/users?limit=100").await;
    let mut listed = ids(&after);
    listed.sort();
    let mut everyone = [legacy.clone(), vec![current]].concat();
    everyone.sort();
    assert_eq!(listed, everyone);
    let stored = get(&server, &path).await;
    assert_eq!(
        stored.body["data"]["first_name"], "Augusta",
        "the edit stands"
    );
}
