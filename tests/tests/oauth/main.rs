//! OpenID Connect sign-in over HTTP, against a real provider process (`oidc-provider-mock`,
//! started by the test command) on both backends, and against an in-process provider
//! (`test_provider.rs`) for the ID tokens a real provider would never issue (a key outside its
//! JWKS, a wrong nonce) and for a provider that releases the scope claims only from UserInfo.

use futures_util::future::join_all;
use serde_json::{Value, json};
use sesame_e2e::providers::{
    ACCESS_TOKEN, APP_REDIRECT, NextToken, OidcMock, TestProvider, get_html, get_json, init_path,
    oauth_url, param, pkce_challenge, settings, sign_in,
};
use sesame_e2e::{Answer, Backend, Browser, Server, unique_email};

/// Generates one test per backend from an `async fn(Backend)`.
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$name(sesame_e2e::Backend::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                super::$name(sesame_e2e::Backend::Moto).await;
            }
        }
    };
}

/// A server that knows the provider `mock` at `issuer`, plus `extra` settings.
async fn server(backend: Backend, issuer: &str, extra: &[(&str, &str)]) -> Option<Server> {
    let owned = settings("mock", issuer);
    let mut all: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend_from_slice(extra);
    Server::start(backend, &all).await
}

fn sub() -> String {
    sesame::ids::new_id("sub")
}

fn me_of(answer: &Answer) -> String {
    answer.user_id().expect("signed in").to_string()
}

mod test_provider;

async fn a_new_user_with_every_claim_is_signed_in(backend: Backend) {
    let Some(mock) = OidcMock::new() else { return };
    let Some(server) = server(backend, &mock.endpoint, &[]).await else {
        return;
    };
    let (sub, email) = (sub(), unique_email("oidc"));
    mock.set_user(
        &sub,
        json!({"email": email, "email_verified": true, "given_name": "Grace",
               "family_name": "Hopper", "picture": "https://img.example.com/grace.png"}),
    )
    .await;
    let mut browser = server.browser();
    let url = oauth_url(&mut browser).await;
    for p in ["state", "nonce", "code_challenge"] {
        assert!(
            param(&url, p).is_some_and(|v| v.len() >= 22),
            "{p} in {url}"
        );
    }
    assert_eq!(
        param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        param(&url, "redirect_uri").as_deref(),
        Some(sesame_e2e::providers::CALLBACK_URL)
    );

    // A browser gets a redirect back to the app, with the new session cookie.
    let query = mock.authorize(&url, &sub).await;
    let done = get_html(&mut browser, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!(done.status, 302, "{:#}", done.body);
    assert_eq!(done.headers["location"], APP_REDIRECT);
    assert!(done.set_cookie().is_some(), "the secret is rotated");
    let attempt = &done.body["session"]["signin_attempts"][0];
    assert_eq!(
        (attempt["method"].as_str(), attempt["completed"].as_bool()),
        (Some("sso"), Some(true))
    );
    assert_eq!(done.body["session"]["signup_attempts"], json!([]));

    let me = browser.get("/me").await;
    assert_eq!(me.status, 200, "{:#}", me.body);
    let user = &me.body["data"];
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["first_name"], "Grace");
    assert_eq!(user["last_name"], "Hopper");
    assert_eq!(user["image_url"], "https://img.example.com/grace.png");

    // The address is claimed: a password sign-up with it is refused.
    let again = server.browser().sign_up(&email).await;
    assert_eq!(again.error(), "EMAIL_EXISTS");
}
on_both_backends!(a_new_user_with_every_claim_is_signed_in);

async fn a_returning_user_gets_the_same_account(backend: Backend) {
    let Some(mock) = OidcMock::new() else { return };
    let Some(server) = server(backend, &mock.endpoint, &[]).await else {
        return;
    };
    let sub = sub();
    mock.set_user(
        &sub,
        json!({"email": unique_email("back"), "email_verified": true}),
    )
    .await;
    let first = sign_in(&mut server.browser(), &mock, &sub).await;
    assert_eq!(first.status, 200, "{:#}", first.body);

    // Another browser, and a changed email at the provider: the identity decides.
    mock.set_user(
        &sub,
        json!({"email": unique_email("moved"), "email_verified": true}),
    )
    .await;
    let second = sign_in(&mut server.browser(), &mock, &sub).await;
    assert_eq!(second.status, 200, "{:#}", second.body);
    assert_eq!(me_of(&second), me_of(&first));
}
on_both_backends!(a_returning_user_gets_the_same_account);

async fn a_verified_email_links_but_an_unverified_one_never_does(backend: Backend) {
    let Some(mock) = OidcMock::new() else { return };
    let Some(server) = server(backend, &mock.endpoint, &[]).await else {
        return;
    };
    let (_, email, existing) = server.new_user("owner").await;

    // The provider does not vouch for the address: no link, a new sign-up that must prove it.
    let stranger = sub();
    mock.set_user(&stranger, json!({"email": email, "email_verified": false}))
        .await;
    let mut browser = server.browser();
    let unlinked = sign_in(&mut browser, &mock, &stranger).await;
    assert_eq!(unlinked.status, 200, "{:#}", unlinked.body);
    assert_eq!(unlinked.user_id(), None, "not signed in as the owner");
    let signup = &unlinked.body["data"]["signup_attempts"][0];
    assert_eq!(signup["method"], "sso");
    assert_eq!(signup["current_step"], "verify_email_otp");
    assert_eq!(signup["unverified_fields"], json!(["email"]));
    assert_eq!(browser.get("/me").await.status, 401);

    // The provider vouches for it: the identity is linked to the owner's account.
    let owner_elsewhere = sub();
    mock.set_user(
        &owner_elsewhere,
        json!({"email": email, "email_verified": true}),
    )
    .await;
    let linked = sign_in(&mut server.browser(), &mock, &owner_elsewhere).await;
    assert_eq!(linked.status, 200, "{:#}", linked.body);
    assert_eq!(me_of(&linked), existing);
    // And from now on the identity alone finds it, whatever the email says.
    mock.set_user(&owner_elsewhere, json!({"email": unique_email("other")}))
        .await;
    let again = sign_in(&mut server.browser(), &mock, &owner_elsewhere).await;
    assert_eq!(me_of(&again), existing);
}
on_both_backends!(a_verified_email_links_but_an_unverified_one_never_does);

async fn an_unverified_email_is_proven_by_code_then_the_profile_completes(backend: Backend) {
    let Some(mock) = OidcMock::new() else { return };
    let required = [("REQUIRED_FIELDS", "first_name,last_name,username")];
    let Some(server) = server(backend, &mock.endpoint, &required).await else {
        return;
    };
    let (sub, email) = (sub(), unique_email("unproven"));
    mock.set_user(&sub, json!({"email": email, "given_name": "Ada"}))
        .await;
    let mut browser = server.browser();
    let opened = sign_in(&mut browser, &mock, &sub).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let signup = &opened.body["data"]["signup_attempts"][0];
    assert_eq!(
        signup["remaining_steps"],
        json!(["verify_email_otp", "complete_profile"])
    );
    assert_eq!(signup["requires_completion"], true);
    assert_eq!(signup["missing_fields"], json!(["last_name", "username"]));
    // Nothing is asked of a provider user's password.
    let id = opened.signup_attempt_id();

    let code = server.code_for(&email).await;
    let verified = browser.verify(&id, &code).await;
    assert_eq!(verified.status, 200, "{:#}", verified.body);
    assert_eq!(
        verified.body["data"]["signup_attempts"][0]["current_step"],
        "complete_profile"
    );
    let username = format!("u{}", &sub[4..16]);
    let done = browser
        .post(
            "/auth/complete-profile",
            json!({"last_name": "Lovelace", "username": username}),
        )
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert!(done.user_id().is_some());
    let me = browser.get("/me").await;
    assert_eq!(me.body["data"]["email_verified"], true);
    assert_eq!(me.body["data"]["first_name"], "Ada");

    // The identity was claimed with the user: signing in again finds them.
    let again = sign_in(&mut server.browser(), &mock, &sub).await;
    assert_eq!(me_of(&again), me_of(&done));
}
on_both_backends!(an_unverified_email_is_proven_by_code_then_the_profile_completes);

async fn a_new_user_lacking_required_fields_completes_the_profile(backend: Backend) {
    let Some(mock) = OidcMock::new() else { return };
    let required = [("REQUIRED_FIELDS", "first_name,last_name,username")];
    let Some(server) = server(backend, &mock.endpoint, &required).await else {
        return;
    };
    let sub = sub();
    mock.set_user(
        &sub,
        json!({"email": unique_email("partial"), "email_verified": true,
               "given_name": "John", "family_name": "Doe"}),
    )
    .await;
    let mut browser = server.browser();
    let opened = sign_in(&mut browser, &mock, &sub).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let signup = &opened.body["data"]["signup_attempts"][0];
    assert_eq!(signup["current_step"], "complete_profile");
    assert_eq!(signup["requires_completion"], true);
    assert_eq!(signup["missing_fields"], json!(["username"]));
    assert_eq!(opened.user_id(), None);

    let missing = browser.post("/auth/complete-profile", json!({})).await;
    assert_eq!((missing.status, missing.error()), (400, "REQUIRED_FIELD"));

    let done = browser
        .post(
            "/auth/complete-profile",
            json!({"username": format!("j{}", &sub[4..16])}),
        )
        .await;
    // Seed 000's answer: the envelope with the session, the attempt completed, nothing missing,
    // and the new signin active.
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert_eq!(done.body["status"], 200);
    assert_eq!(done.body["message"], "");
    assert_eq!(done.body["errors"], json!([]));
    assert_eq!(done.body["data"], done.body["session"]);
    let completed = &done.body["data"]["signup_attempts"][0];
    assert_eq!(
        (
            &completed["completed"],
            &completed["requires_completion"],
            &completed["missing_fields"]
        ),
        (&json!(true), &json!(false), &json!([]))
    );
    assert_eq!(done.body["data"]["signin_attempts"][0]["method"], "sso");
    assert_eq!(done.body["data"]["signin_attempts"][0]["completed"], true);
    let active = &done.body["data"]["active_signin"];
    assert_eq!(active["id"], done.body["data"]["signins"][0]["id"]);
    assert_eq!(browser.get("/me").await.body["data"]["first_name"], "John");
}
on_both_backends!(a_new_user_lacking_required_fields_completes_the_profile);

async fn a_forged_state_or_a_replayed_callback_is_refused(backend: Backend) {
    let Some(mock) = OidcMock::new() else { return };
    let Some(server) = server(backend, &mock.endpoint, &[]).await else {
        return;
    };
    let sub = sub();
    mock.set_user(
        &sub,
        json!({"email": unique_email("replay"), "email_verified": true}),
    )
    .await;
    let mut browser = server.browser();
    let url = oauth_url(&mut browser).await;
    let query = mock.authorize(&url, &sub).await;
    let code = param(&format!("http://x/?{query}"), "code").unwrap();

    // A state this session never issued: refused, and no redirect (nothing vouches for one).
    let forged = get_html(
        &mut browser,
        &format!("/auth/oauth2/callback?code={code}&state=forged-state"),
    )
    .await;
    assert_eq!((forged.status, forged.error()), (400, "INVALID_FIELD"));
    assert_eq!(forged.body["errors"][0]["field"], "state");
    assert!(forged.headers.get("location").is_none());

    // The real callback, seen by another browser (no session): the state is not theirs.
    let mut thief = server.browser();
    let stolen = get_json(&mut thief, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!((stolen.status, stolen.error()), (400, "INVALID_FIELD"));
    assert_eq!(stolen.user_id(), None);

    let done = get_json(&mut browser, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let user = me_of(&done);

    // Replayed: the attempt is spent; a browser is sent back to the app with the error code.
    let replayed = get_html(&mut browser, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!(replayed.status, 302);
    assert_eq!(
        replayed.headers["location"],
        format!("{APP_REDIRECT}?error=ATTEMPT_COMPLETED").as_str()
    );
    let replayed = get_json(&mut browser, &format!("/auth/oauth2/callback?{query}")).await;
    assert_eq!(
        (replayed.status, replayed.error()),
        (409, "ATTEMPT_COMPLETED")
    );
    assert_eq!(replayed.user_id(), Some(user.as_str()), "still signed in");

    // A user who declines at the provider comes back with its error and our state (RFC 6749
    // 4.1.2.1; the mock provider leaves the state out of its error redirect, so it is sent here
    // as a compliant provider would).
    let url = oauth_url(&mut browser).await;
    let state = param(&url, "state").unwrap();
    let denied = format!("error=access_denied&state={state}");
    let back = get_html(&mut browser, &format!("/auth/oauth2/callback?{denied}")).await;
    assert_eq!(back.status, 302);
    assert_eq!(
        back.headers["location"],
        format!("{APP_REDIRECT}?error=OAUTH_FAILED").as_str()
    );
}
on_both_backends!(a_forged_state_or_a_replayed_callback_is_refused);

#[tokio::test]
async fn when_the_redirect_uri_or_provider_is_not_configured_init_is_refused() {
    let Some(mock) = OidcMock::new() else { return };
    let server = server(Backend::Embedded, &mock.endpoint, &[])
        .await
        .unwrap();
    let mut browser = server.browser();
    let cases = [
        (
            init_path("mock", "https://evil.example.com/steal"),
            "redirect_uri",
        ),
        (
            init_path("mock", &format!("{APP_REDIRECT}/deeper")),
            "redirect_uri",
        ),
        (init_path("mock", "https://app.example.com"), "redirect_uri"),
        (init_path("github", APP_REDIRECT), "provider"),
        ("/auth/oauth2/init".to_string(), "provider"),
    ];
    for (path, field) in cases {
        let refused = get_html(&mut browser, &path).await;
        assert_eq!(
            (refused.status, refused.error()),
            (
                400,
                if path.contains('?') {
                    "INVALID_FIELD"
                } else {
                    "REQUIRED_FIELD"
                }
            ),
            "{path}"
        );
        assert_eq!(refused.body["errors"][0]["field"], field, "{path}");
        assert!(
            refused.headers.get("location").is_none(),
            "no open redirect: {path}"
        );
        assert!(refused.set_cookie().is_none(), "nothing opened: {path}");
    }
    let unknown = get_html(&mut browser, "/auth/oauth2/init?provider=mock&next=x").await;
    assert_eq!((unknown.status, unknown.error()), (400, "BAD_REQUEST_BODY"));

    // The allowed URI: a browser is sent to the provider.
    let started = get_html(&mut browser, &init_path("mock", APP_REDIRECT)).await;
    assert_eq!(started.status, 302, "{:#}", started.body);
    let location = started.headers["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{}/oauth2/authorize?", mock.endpoint)));
    assert!(
        started.set_cookie().is_some(),
        "the session is created lazily"
    );
}

#[tokio::test]
async fn when_the_provider_cannot_be_reached_init_says_so_and_opens_nothing() {
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let server = server(Backend::Embedded, &closed, &[]).await.unwrap();
    let mut browser = server.browser();
    let refused = get_json(&mut browser, &init_path("mock", APP_REDIRECT)).await;
    assert_eq!(
        (refused.status, refused.error()),
        (502, "PROVIDER_UNAVAILABLE")
    );
    assert!(refused.set_cookie().is_none(), "no session was created");
}
