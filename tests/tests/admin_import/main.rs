//! `POST /admin/users` (seed 003's import) over HTTP: the admin key, every rule at its boundary,
//! duplicates reported together, and password hashes made by other implementations (Python's
//! bcrypt, argon2-cffi, passlib and hashlib) that sign in and are upgraded to argon2id
//! (`foreign_hashes.rs`).

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sesame_e2e::providers::{APP_REDIRECT, OidcMock, get_json, init_path, settings};
use sesame_e2e::{Answer, Backend, Browser, Server, unique_email, unique_phone};

const KEY: &str = "test-admin-key-0123456789";

async fn admin_server(backend: Backend, extra: &[(&str, &str)]) -> Option<Server> {
    let mut all = vec![("ADMIN_KEY", KEY)];
    all.extend_from_slice(extra);
    Server::start(backend, &all).await
}

async fn import(browser: &mut Browser, record: &Value, key: Option<&str>) -> Answer {
    let mut req = browser
        .client
        .post(format!("{}/admin/users", browser.base))
        .header(CONTENT_TYPE, "application/json")
        .body(record.to_string());
    if let Some(k) = key {
        req = req.header("x-admin-key", k);
    }
    browser.send(req).await
}

mod foreign_hashes;

async fn the_full_record_imports_and_signs_in(backend: Backend) {
    let Some(server) = admin_server(backend, &[]).await else {
        return;
    };
    let mut admin = server.browser();
    let email = unique_email("import");
    let phone = unique_phone();
    let username = format!("imp{}", &email[6..14]);
    let record = json!({
        "email": email, "email_verified": true,
        "phone_number": phone, "phone_number_verified": true,
        "username": username, "password": "Analytical Engine 1843",
        "name": "Ada King", "picture": "https://img.example.com/ada.png",
        "login_attempts": 7, "blocked": false, "verify_email": false,
        "metadata": {"plan": "pro", "seats": 3, "trial": null, "beta": true},
        "profile": {
            "given_name": "Ada", "family_name": "King", "birthdate": "1815-12-10",
            "gender": "2", "locale": "en-GB", "zoneinfo": "Europe/London",
            "addresses": [{"id": "Home", "is_primary": true, "street_address": "12 St James's Square\nLondon",
                           "city": "London", "zip_code": "SW1Y 4JH", "country": "UK"}],
        },
        "identities": [{"connection": "google-oauth2", "provider": "google", "type": "social",
                        "id": "109876", "details": {"hd": "example.com"}}],
    });
    let created = import(&mut admin, &record, Some(KEY)).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    let user = &created.body["data"];
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["phone_number"], phone.as_str());
    assert_eq!(
        (&user["first_name"], &user["last_name"]),
        (&json!("Ada"), &json!("King"))
    );
    assert_eq!(user["image_url"], "https://img.example.com/ada.png");
    assert_eq!(user["profile"]["gender"], 2);
    assert_eq!(user["profile"]["name"], "Ada King");
    assert_eq!(user["metadata"]["trial"], Value::Null);
    assert!(user.get("password_hash").is_none() && user.get("login_attempts").is_none());
    let id = user["id"].as_str().unwrap().to_string();
    let stored = server.app.store.get_user(&id).await.unwrap().unwrap();
    assert_eq!(stored.login_attempts, 7);
    assert!(stored.password_hash.unwrap().starts_with("$argon2id$"));

    for identifier in [email.as_str(), phone.as_str(), username.as_str()] {
        let signed_in = server
            .browser()
            .sign_in(identifier, "Analytical Engine 1843")
            .await;
        assert_eq!(signed_in.user_id(), Some(id.as_str()), "{identifier}");
    }

    // Every claim it holds is reported at once.
    let again = import(&mut admin, &record, Some(KEY)).await;
    assert_eq!(again.status, 409);
    let mut codes = again.error_codes();
    codes.sort();
    assert_eq!(
        codes,
        [
            "EMAIL_EXISTS",
            "IDENTITY_EXISTS",
            "PHONE_NUMBER_EXISTS",
            "USERNAME_EXISTS"
        ]
    );
}

mod the_full_record_imports_and_signs_in {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        super::the_full_record_imports_and_signs_in(sesame_e2e::Backend::Embedded).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn moto() {
        super::the_full_record_imports_and_signs_in(sesame_e2e::Backend::Moto).await;
    }
}

#[tokio::test]
async fn when_the_admin_key_is_missing_or_wrong_or_unset_nothing_is_imported() {
    let server = admin_server(Backend::Embedded, &[]).await.unwrap();
    let record = json!({"email": unique_email("nokey")});
    let mut browser = server.browser();
    for key in [None, Some("wrong"), Some("")] {
        let refused = import(&mut browser, &record, key).await;
        assert_eq!(
            (refused.status, refused.error()),
            (401, "UNAUTHENTICATED"),
            "{key:?}"
        );
    }
    let off = Server::start(Backend::Embedded, &[]).await.unwrap();
    let refused = import(&mut off.browser(), &record, Some(KEY)).await;
    assert_eq!((refused.status, refused.error()), (404, "NOT_FOUND"));
    let created = import(&mut browser, &record, Some(KEY)).await;
    assert_eq!(created.status, 201, "only now: {:#}", created.body);
}

#[tokio::test]
async fn each_rule_holds_at_its_boundary() {
    let server = admin_server(Backend::Embedded, &[]).await.unwrap();
    let mut admin = server.browser();
    let keys = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let long = |n: usize| "x".repeat(n);
    // (what, the record's extra fields, the refused field (its start) or None when accepted)
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("10 metadata keys", json!({"metadata": keys(10)}), None),
        (
            "11 metadata keys",
            json!({"metadata": keys(11)}),
            Some("metadata"),
        ),
        (
            "1024-char value",
            json!({"metadata": {"note": long(1024)}}),
            None,
        ),
        (
            "1025-char value",
            json!({"metadata": {"note": long(1025)}}),
            Some("metadata.note"),
        ),
        ("1024-char key", json!({"metadata": {long(1024): 1}}), None),
        (
            "1025-char key",
            json!({"metadata": {long(1025): 1}}),
            Some("metadata"),
        ),
        ("gender 10", json!({"profile": {"gender": 10}}), None),
        ("gender -10", json!({"profile": {"gender": "-10"}}), None),
        (
            "gender 11",
            json!({"profile": {"gender": 11}}),
            Some("profile.gender"),
        ),
        (
            "login_attempts 20000",
            json!({"login_attempts": 20000}),
            None,
        ),
        (
            "login_attempts 20001",
            json!({"login_attempts": 20001}),
            Some("login_attempts"),
        ),
        (
            "login_attempts -1",
            json!({"login_attempts": -1}),
            Some("login_attempts"),
        ),
        (
            "birthdate YYYY-MM-DD",
            json!({"profile": {"birthdate": "1990-05-17"}}),
            None,
        ),
        (
            "birthdate YYYY",
            json!({"profile": {"birthdate": "1990"}}),
            None,
        ),
        (
            "birthdate 0000-MM-DD",
            json!({"profile": {"birthdate": "0000-02-29"}}),
            None,
        ),
        (
            "birthdate 1990-13-01",
            json!({"profile": {"birthdate": "1990-13-01"}}),
            Some("profile.birthdate"),
        ),
        (
            "birthdate 90",
            json!({"profile": {"birthdate": "90"}}),
            Some("profile.birthdate"),
        ),
        (
            "phone E.164",
            json!({"phone_number": "+44 20 7946 0958"}),
            None,
        ),
        (
            "phone leading 0",
            json!({"phone_number": "+0123456789"}),
            Some("phone_number"),
        ),
        (
            "phone no +",
            json!({"phone_number": "12345"}),
            Some("phone_number"),
        ),
        (
            "known provider",
            json!({"identities": [{"connection": "c", "provider": "github", "type": "social", "id": "1", "details": {}}]}),
            None,
        ),
        (
            "unknown provider",
            json!({"identities": [{"connection": "c", "provider": "myspace", "type": "social", "id": "1", "details": {}}]}),
            Some("identities[0].provider"),
        ),
        (
            "unknown type",
            json!({"identities": [{"connection": "c", "provider": "github", "type": "carrier-pigeon", "id": "1", "details": {}}]}),
            Some("identities[0].type"),
        ),
        (
            "identity without details",
            json!({"identities": [{"connection": "c", "provider": "github", "type": "social", "id": "1"}]}),
            Some("identities[0].details"),
        ),
        (
            "U-label email",
            json!({"email": "imp@bücher.example"}),
            None,
        ),
        (
            "IP-literal email",
            json!({"email": "imp@[127.0.0.1]"}),
            Some("email"),
        ),
        (
            "quoted email",
            json!({"email": "\"imp\"@example.com"}),
            Some("email"),
        ),
        (
            "details with an empty key",
            json!({"identities": [{"connection": "c", "provider": "github", "type": "social", "id": "1", "details": {"": 1}}]}),
            Some("identities[0].details"),
        ),
        (
            "weak plaintext password",
            json!({"password": "password1"}),
            Some("password"),
        ),
        (
            "salt without hash_fn",
            json!({"password": "Analytical Engine 1843", "salt": "x"}),
            Some("salt"),
        ),
        (
            "unknown hash_fn",
            json!({"password": "x", "hash_fn": "md5"}),
            Some("hash_fn"),
        ),
        (
            "end-user field",
            json!({"first_name": "Ada"}),
            Some("first_name"),
        ),
    ];
    for (what, extra, refused) in cases {
        let mut record = json!({"email": unique_email("rule")});
        for (k, v) in extra.as_object().unwrap() {
            record[k] = v.clone();
        }
        if what.starts_with("phone") {
            record.as_object_mut().unwrap().remove("email");
        }
        let answer = import(&mut admin, &record, Some(KEY)).await;
        match refused {
            None => assert_eq!(answer.status, 201, "{what}: {:#}", answer.body),
            Some(field) => {
                assert_eq!(answer.status, 400, "{what}: {:#}", answer.body);
                let got = answer.body["errors"][0]["field"]
                    .as_str()
                    .unwrap_or_default();
                assert!(got.starts_with(field), "{what}: {got}");
            }
        }
    }
}

/// `details` `levels` deep (the object itself is the first), padded to about `bytes` as JSON.
fn details(levels: usize, bytes: usize) -> Value {
    let mut v = json!("x".repeat(bytes.saturating_sub(6 * levels + 12)));
    for _ in 1..levels {
        v = json!({ "a": v });
    }
    json!({ "b": v })
}

/// An identity's `details` is stored as given, so it is bounded where DynamoDB would otherwise
/// refuse the item with a 500 (32 levels of nesting, 400 KB): 8 levels and 4 KiB at most. An
/// email is normalized at import as everywhere.
async fn identity_details_are_bounded_and_emails_normalized(backend: Backend) {
    let Some(server) = admin_server(backend, &[]).await else {
        return;
    };
    let mut admin = server.browser();
    let identity = |id: &str, details: Value| json!([{"connection": "github", "provider": "github", "type": "social", "id": id, "details": details}]);
    let id = sesame::ids::new_id("gh");
    let local = unique_email("details")
        .split('@')
        .next()
        .unwrap()
        .to_string();
    let at_bounds = details(8, 4096);
    assert!(
        at_bounds.to_string().len() <= 4096,
        "{}",
        at_bounds.to_string().len()
    );
    let record = json!({"email": format!("{local}@ＢÜＣＨＥＲ．example"), "identities": identity(&id, at_bounds.clone())});
    let created = import(&mut admin, &record, Some(KEY)).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    assert_eq!(
        created.body["data"]["email"],
        format!("{local}@xn--bcher-kva.example")
    );
    let user_id = created.body["data"]["id"].as_str().unwrap();
    let stored = server.app.store.get_user(user_id).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(stored.identities[0].details.clone()),
        at_bounds
    );

    for (what, past) in [
        ("9 levels", details(9, 100)),
        ("40 levels", details(40, 100)),
        ("4 KiB and more", details(2, 4200)),
        ("a number DynamoDB cannot hold", json!({"n": 1e200})),
    ] {
        let other = sesame::ids::new_id("gh");
        let record = json!({"identities": identity(&other, past)});
        let refused = import(&mut admin, &record, Some(KEY)).await;
        assert_eq!(
            (
                refused.status,
                refused.error(),
                &refused.body["errors"][0]["field"]
            ),
            (400, "INVALID_FIELD", &json!("identities[0].details")),
            "{what}: {:#}",
            refused.body
        );
    }
}

mod identity_details_are_bounded_and_emails_normalized {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        super::identity_details_are_bounded_and_emails_normalized(sesame_e2e::Backend::Embedded)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn moto() {
        super::identity_details_are_bounded_and_emails_normalized(sesame_e2e::Backend::Moto).await;
    }
}

#[tokio::test]
async fn when_a_user_is_blocked_or_asked_to_verify_the_import_says_so() {
    let server = admin_server(Backend::Embedded, &[]).await.unwrap();
    let mut admin = server.browser();
    let blocked = unique_email("blocked");
    let record = json!({"email": blocked, "email_verified": true, "blocked": true,
                        "password": "Analytical Engine 1843"});
    assert_eq!(import(&mut admin, &record, Some(KEY)).await.status, 201);
    let refused = server
        .browser()
        .sign_in(&blocked, "Analytical Engine 1843")
        .await;
    assert_eq!((refused.status, refused.error()), (403, "USER_BLOCKED"));

    // An unverified email: the notice goes out now, and the first sign-in proves the address.
    let unverified = unique_email("verify");
    let record =
        json!({"email": unverified, "verify_email": true, "password": "Analytical Engine 1843"});
    assert_eq!(import(&mut admin, &record, Some(KEY)).await.status, 201);
    let notice = server.messages_to(&unverified).await;
    assert_eq!(notice.len(), 1);
    let mut browser = server.browser();
    let signing_in = browser.sign_in(&unverified, "Analytical Engine 1843").await;
    assert_eq!(signing_in.status, 200, "{:#}", signing_in.body);
    assert_eq!(
        signing_in.body["data"]["signin_attempts"][0]["current_step"],
        "verify_email_otp"
    );
    let code = server.code_for(&unverified).await;
    let done = browser
        .verify_signin(&signing_in.signin_attempt_id(), &code)
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(
        browser.get("/me").await.body["data"]["email_verified"],
        true
    );
}

#[tokio::test]
async fn when_an_imported_identity_signs_in_with_its_provider_it_finds_the_user() {
    let Some(mock) = OidcMock::new() else { return };
    let owned = settings("google", &mock.endpoint);
    let mut overrides: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    overrides.push(("ADMIN_KEY", KEY));
    let server = Server::start(Backend::Embedded, &overrides).await.unwrap();
    let sub = sesame::ids::new_id("sub");
    let record = json!({
        "username": format!("g{}", &sub[4..14]),
        "identities": [{"connection": "google-oauth2", "provider": "google", "type": "social",
                        "id": sub, "details": {}}],
    });
    let created = import(&mut server.browser(), &record, Some(KEY)).await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    mock.set_user(
        &sub,
        json!({"email": unique_email("g"), "email_verified": true}),
    )
    .await;
    let mut browser = server.browser();
    // The OpenID provider is configured under seed 003's provider name, "google".
    let started = get_json(&mut browser, &init_path("google", APP_REDIRECT)).await;
    let url = started.body["data"]["oauth_url"]
        .as_str()
        .unwrap()
        .to_string();
    let query = mock.authorize(&url, &sub).await;
    let done = get_json(&mut browser, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!(
        done.user_id(),
        created.body["data"]["id"].as_str(),
        "{:#}",
        done.body
    );
}
