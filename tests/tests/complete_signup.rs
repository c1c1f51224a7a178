//! Seed 002 over HTTP: `email_link` sign-ups finished by `POST /api/users/completeSignup` with a
//! signup code (form body, query string, or both), and the third-party path after an OAuth
//! sign-in that needs completion.

use std::sync::Arc;

use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN};
use serde_json::json;
use sesame::adapters::clock::ManualClock;
use sesame_e2e::providers::{OidcMock, settings, sign_in};
use sesame_e2e::{Answer, Backend, Browser, Server, unique_email};
use time::Duration;

const LINK: &str = "https://app.example.com/complete-signup";
const PASSWORD: &str = "Apollo guidance 1969";

fn link_settings<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("SIGNUP_LINK_URL", LINK)];
    all.extend_from_slice(extra);
    all
}

/// Signs up by email link; returns the browser and the signup code from the email.
async fn link_signup(server: &Server, email: &str) -> (Browser, Answer, String) {
    link_signup_with(server, json!({"email": email, "strategy": "email_link"})).await
}

async fn link_signup_with(server: &Server, body: serde_json::Value) -> (Browser, Answer, String) {
    let email = body["email"].as_str().unwrap().to_string();
    let email = email.as_str();
    let mut browser = server.browser();
    let opened = browser.post("/auth/signup", body.clone()).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = signup_code_in(&server.messages_to(email).await.pop().expect("an email"));
    (browser, opened, code)
}

/// The `signupCode` of the link in a message.
fn signup_code_in(text: &str) -> String {
    let start = text.find(&format!("{LINK}?signupCode=")).expect("the link") + LINK.len() + 12;
    let raw: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    url::form_urlencoded::parse(format!("c={raw}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// POSTs seed 002's request the way an Akana client does: form body and/or query string.
async fn complete(browser: &mut Browser, query: &[(&str, &str)], body: &[(&str, &str)]) -> Answer {
    let mut url = format!("{}/api/users/completeSignup", browser.base);
    if !query.is_empty() {
        url = format!("{url}?{}", form(query));
    }
    let req = browser
        .client
        .post(url)
        .header(ACCEPT, "*/*")
        .header(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(form(body));
    browser.send(req).await
}

fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

fn fields<'a>(code: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("signupCode", code),
        ("password", PASSWORD),
        ("firstName", "Margaret"),
        ("lastName", "Hamilton"),
        ("emailAddress", email),
        ("signupAgreementsAccepted", "true"),
    ]
}

async fn a_signup_link_completes_in_another_browser(backend: Backend) {
    let Some(server) = Server::start(backend, &link_settings(&[])).await else {
        return;
    };
    let email = unique_email("akana");
    // Anyone may start a sign-up for any address, choosing other fields too.
    let starter_pick = format!("pick{}", &email[6..14]);
    let (mut starter, opened, code) = link_signup_with(
        &server,
        json!({"email": email, "strategy": "email_link", "username": starter_pick,
               "metadata": {"role": "admin"}}),
    )
    .await;
    let attempt = &opened.body["data"]["signup_attempts"][0];
    assert_eq!(attempt["method"], "email_link");
    assert_eq!(attempt["current_step"], "verify_email_link");

    // At least 128 random bits, and stored only as a keyed hash.
    let (session_id, attempt_id, secret) = sesame::domain::codes::parse_link_code(&code).unwrap();
    assert!(secret.len() >= 43, "256 bits in base64url: {secret}");
    let stored = server
        .app
        .store
        .load_session(session_id)
        .await
        .unwrap()
        .unwrap();
    let pending = stored
        .signup_attempt(attempt_id)
        .unwrap()
        .codes
        .code
        .clone()
        .unwrap();
    assert!(!pending.hash.contains(secret) && pending.hash.len() == 64);
    assert!(pending.expires_at - stored.signup_attempts[0].created_at >= Duration::hours(24));

    // The link is opened on another device: the user is signed in there.
    let mut phone = server.browser();
    let done = complete(&mut phone, &[], &fields(&code, &email)).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.body, serde_json::Value::Null, "no body");
    assert!(done.set_cookie().is_some());
    let me = phone.get("/me").await;
    assert_eq!(me.status, 200, "{:#}", me.body);
    assert_eq!(
        (
            &me.body["data"]["email"],
            &me.body["data"]["email_verified"]
        ),
        (&json!(email), &json!(true))
    );
    assert_eq!(me.body["data"]["last_name"], "Hamilton");
    // Completed in another browser, nothing the starter chose is kept...
    assert_eq!(me.body["data"]["username"], serde_json::Value::Null);
    assert_eq!(me.body["data"]["metadata"], json!({}));
    // ...and the starter's session learns nothing of who completed it.
    let seen = starter.get("/session").await;
    let theirs = &seen.body["data"]["signup_attempts"][0];
    assert_eq!(theirs["completed"], true);
    assert_eq!(
        (&theirs["first_name"], &theirs["last_name"]),
        (&serde_json::Value::Null, &serde_json::Value::Null)
    );
    assert_eq!(seen.user_id(), None);
    let signed_in = server.browser().sign_in(&email, PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{:#}", signed_in.body);

    let again = complete(&mut server.browser(), &[], &fields(&code, &email)).await;
    assert_eq!((again.status, again.error()), (409, "ATTEMPT_COMPLETED"));
    let later = server.browser().sign_up(&email).await;
    assert_eq!((later.status, later.error()), (409, "EMAIL_EXISTS"));
}

mod a_signup_link_completes_in_another_browser {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        super::a_signup_link_completes_in_another_browser(sesame_e2e::Backend::Embedded).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn moto() {
        super::a_signup_link_completes_in_another_browser(sesame_e2e::Backend::Moto).await;
    }
}

#[tokio::test]
async fn when_parameters_come_in_the_query_or_both_they_are_read_alike() {
    let server = Server::start(Backend::Embedded, &link_settings(&[]))
        .await
        .unwrap();
    let email = unique_email("query");
    let (mut browser, _, code) = link_signup(&server, &email).await;
    let all = fields(&code, &email);
    let conflicting = complete(&mut browser, &all[..2], &[("password", "another one 123")]).await;
    assert_eq!(
        (conflicting.status, conflicting.error()),
        (400, "BAD_REQUEST_BODY")
    );
    let unknown = complete(&mut browser, &all, &[("admin", "true")]).await;
    assert_eq!(unknown.body["errors"][0]["field"], "admin");
    let by_query = complete(&mut browser, &all, &[]).await;
    assert_eq!(by_query.status, 200, "{:#}", by_query.body);
    assert_eq!(browser.get("/me").await.status, 200);

    let email = unique_email("mixed");
    let (mut browser, _, code) = link_signup(&server, &email).await;
    let all = fields(&code, &email);
    let mixed = complete(&mut browser, &all[..2], &all[2..]).await;
    assert_eq!(mixed.status, 200, "{:#}", mixed.body);
}

#[tokio::test]
async fn when_the_code_or_fields_are_wrong_nothing_is_created() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let extra = [
        ("SIGNUP_AGREEMENTS_REQUIRED", "true"),
        ("REQUIRED_FIELDS", "password,phone_number"),
    ];
    let server = Server::start_with_clock(Backend::Embedded, &link_settings(&extra), clock.clone())
        .await
        .unwrap();
    let email = unique_email("wrong");
    let (mut browser, _, code) = link_signup(&server, &email).await;
    let mut all: Vec<(String, String)> = fields(&code, &email)
        .into_iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    all.push(("countryCode".into(), "1".into()));
    all.push(("phoneNumber".into(), "415 555 0123".into()));
    let without = |name: &str| -> Vec<(String, String)> {
        all.iter().filter(|(n, _)| n != name).cloned().collect()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        all.iter()
            .map(|(n, v)| {
                (
                    n.clone(),
                    if n == name {
                        value.to_string()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    };
    let cases = vec![
        (
            with("emailAddress", "someone.else@example.com"),
            400,
            "INVALID_FIELD",
            "emailAddress",
        ),
        (
            with("signupAgreementsAccepted", "false"),
            400,
            "INVALID_FIELD",
            "signupAgreementsAccepted",
        ),
        (without("phoneNumber"), 400, "REQUIRED_FIELD", "phoneNumber"),
        (
            with("countryCode", "USA"),
            400,
            "INVALID_FIELD",
            "countryCode",
        ),
        (
            with("password", "password"),
            400,
            "WEAK_PASSWORD",
            "password",
        ),
        (without("lastName"), 400, "REQUIRED_FIELD", "lastName"),
        (
            with("signupCode", "nonsense"),
            400,
            "INVALID_CODE",
            "signupCode",
        ),
    ];
    for (params, status, error, field) in cases {
        let refused = complete(&mut browser, &refs(&params), &[]).await;
        assert_eq!(
            (refused.status, refused.error()),
            (status, error),
            "{field}: {:#}",
            refused.body
        );
        assert_eq!(refused.body["errors"][0]["field"], field);
        assert_eq!(
            browser.get("/me").await.status,
            401,
            "{field}: nobody signed in"
        );
    }
    let forged = format!("{}x", &code[..code.len() - 1]);
    let forged_all = with("signupCode", &forged);
    let all = refs(&all);
    let refused = complete(&mut browser, &refs(&forged_all), &[]).await;
    assert_eq!((refused.status, refused.error()), (400, "INVALID_CODE"));

    // An Accept outside seed 002's list, and a JSON body.
    let html = browser
        .send(
            browser
                .client
                .post(format!("{}/api/users/completeSignup", browser.base))
                .header(ACCEPT, "text/html"),
        )
        .await;
    assert_eq!((html.status, html.error()), (406, "NOT_ACCEPTABLE"));
    let json_body = browser
        .send(
            browser
                .client
                .post(format!("{}/api/users/completeSignup", browser.base))
                .json(&json!({"signupCode": code})),
        )
        .await;
    assert_eq!(json_body.status, 415);

    // After 24 hours the link has expired.
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    let expired = complete(&mut browser, &all, &[]).await;
    assert_eq!((expired.status, expired.error()), (400, "CODE_EXPIRED"));
    clock.advance(-(Duration::hours(24) + Duration::seconds(1)));

    // Everything right, with a vendor media type: signed in, phone stored in E.164.
    let req = browser
        .client
        .post(format!(
            "{}/api/users/completeSignup?{}",
            browser.base,
            form(&all)
        ))
        .header(ACCEPT, "application/vnd.soa.v81+json");
    let done = browser.send(req).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let me = browser.get("/me").await;
    assert_eq!(me.body["data"]["phone_number"], "+14155550123");
    assert_eq!(me.body["data"]["phone_verified"], false);
}

#[tokio::test]
async fn when_a_form_post_comes_from_a_foreign_origin_it_is_refused() {
    let server = Server::start(Backend::Embedded, &link_settings(&[]))
        .await
        .unwrap();
    let email = unique_email("csrf");
    let (mut browser, _, code) = link_signup(&server, &email).await;
    let req = browser
        .client
        .post(format!("{}/api/users/completeSignup", browser.base))
        .header(ORIGIN, "https://evil.example.com")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&fields(&code, &email)));
    let refused = browser.send(req).await;
    assert_eq!((refused.status, refused.error()), (403, "FORBIDDEN_ORIGIN"));
    assert_eq!(browser.get("/me").await.status, 401);

    // Without a cookie too: a foreign page must not sign its visitor into an account it chose.
    let mut visitor = server.browser();
    let req = visitor
        .client
        .post(format!("{}/api/users/completeSignup", visitor.base))
        .header(ORIGIN, "https://evil.example.com")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&fields(&code, &email)));
    let refused = visitor.send(req).await;
    assert_eq!((refused.status, refused.error()), (403, "FORBIDDEN_ORIGIN"));
    assert!(refused.set_cookie().is_none());

    // From the app's own origin it goes through.
    let req = visitor
        .client
        .post(format!("{}/api/users/completeSignup", visitor.base))
        .header(ORIGIN, "https://app.example.com")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&fields(&code, &email)));
    assert_eq!(visitor.send(req).await.status, 200);
}

#[tokio::test]
async fn when_no_signup_code_is_given_the_pending_oauth_signup_is_completed() {
    let Some(mock) = OidcMock::new() else { return };
    let owned = settings("mock", &mock.endpoint);
    let mut overrides: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    overrides.push(("REQUIRED_FIELDS", "first_name,last_name"));
    let server = Server::start(Backend::Embedded, &overrides).await.unwrap();

    let nothing = complete(
        &mut server.browser(),
        &[("signupCode", "")],
        &[("lastName", "X")],
    )
    .await;
    assert_eq!(
        (nothing.status, nothing.error()),
        (404, "ATTEMPT_NOT_FOUND")
    );

    let sub = sesame::ids::new_id("sub");
    let email = unique_email("thirdparty");
    mock.set_user(
        &sub,
        json!({"email": email, "email_verified": true, "given_name": "Ada"}),
    )
    .await;
    let mut browser = server.browser();
    let opened = sign_in(&mut browser, &mock, &sub).await;
    assert_eq!(
        opened.body["data"]["signup_attempts"][0]["missing_fields"],
        json!(["last_name"])
    );
    let params = [
        ("signupCode", ""),
        ("firstName", "Augusta"),
        ("lastName", "Lovelace"),
        ("emailAddress", email.as_str()),
        ("signupAgreementsAccepted", "true"),
    ];
    let done = complete(&mut browser, &[], &params).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.body, serde_json::Value::Null);
    let me = browser.get("/me").await;
    // The provider's first name stands; the missing last name came from the form.
    assert_eq!(
        (
            &me.body["data"]["first_name"],
            &me.body["data"]["last_name"]
        ),
        (&json!("Ada"), &json!("Lovelace"))
    );
    let again = sign_in(&mut server.browser(), &mock, &sub).await;
    assert_eq!(again.user_id(), me.body["data"]["id"].as_str());
}
