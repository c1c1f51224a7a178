//! DESIGN section 10, native apps: with `X-Session-Mode: header` (or a bearer credential) the
//! session credential comes in `X-Session-Token` and goes back as `Authorization: Bearer`, never
//! as a cookie, and the Origin check does not apply to it. Over HTTP; the flows on both backends.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, ORIGIN};
use serde_json::json;
use sesame_e2e::native::{NativeApp, SESSION_MODE, SESSION_TOKEN};
use sesame_e2e::{Backend, Server, both_backends, unique_email};

const ALLOWED: &str = "https://app.example.com";
const FOREIGN: &str = "https://evil.example";

/// A native app that signed up in header mode and verified its email: signed in.
async fn signed_up_app(server: &Server, tag: &str) -> (NativeApp, String, String) {
    let mut app = server.native_app();
    let email = unique_email(tag);
    let opened = app.sign_up(&email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let done = app.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let user_id = done.user_id().expect("signed in").to_string();
    (app, email, user_id)
}

/// The same app holding another credential (e.g. an old one).
fn with_token(app: &NativeApp, token: &str) -> NativeApp {
    NativeApp {
        token: Some(token.to_string()),
        ..app.clone()
    }
}

async fn email_sign_up_in_header_mode_answers_a_token_and_never_a_cookie(server: Server) {
    let mut app = server.native_app();
    let email = unique_email("native");
    let opened = app.sign_up(&email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    assert!(opened.set_cookie().is_none());
    let first = opened
        .session_token()
        .expect("the new session's credential")
        .to_string();
    let session_id = opened.body["session"]["id"].as_str().unwrap();
    assert!(
        first.starts_with(&format!("{session_id}.")),
        "<session id>.<secret>: {first}"
    );

    let code = server.code_for(&email).await;
    let done = app.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    assert!(done.set_cookie().is_none());
    let second = done
        .session_token()
        .expect("rotated at sign-up")
        .to_string();
    assert_ne!(second, first, "the secret is replaced at the sign-up's end");
    let user_id = done.user_id().unwrap().to_string();

    let session = app.get("/session").await;
    assert_eq!(session.status, 200);
    assert_eq!(session.user_id(), Some(user_id.as_str()));
    assert!(session.session_token().is_none(), "a read issues nothing");
    let me = app.get("/me").await;
    assert_eq!(me.status, 200, "{:#}", me.body);
    assert_eq!(me.body["data"]["email"], email.as_str());

    // A bearer credential alone selects header mode.
    let mut bare = NativeApp {
        ask_header_mode: false,
        ..app.clone()
    };
    assert_eq!(bare.get("/me").await.body["data"]["id"], user_id.as_str());

    // The credential from before the sign-up's end proves nothing now.
    let mut stale = with_token(&app, &first);
    let old = stale.get("/session").await;
    assert_eq!((old.status, &old.body["data"]), (200, &json!(null)));
    let old_me = stale.get("/me").await;
    assert_eq!((old_me.status, old_me.error()), (401, "UNAUTHENTICATED"));
}
both_backends!(email_sign_up_in_header_mode_answers_a_token_and_never_a_cookie);

async fn password_sign_in_in_header_mode_rotates_the_token(server: Server) {
    let (_, other_email, other_id) = server.new_user("browser-made").await;
    let (mut app, _, first_user) = signed_up_app(&server, "rotate").await;
    let before = app.token.clone().unwrap();

    let signed_in = app.sign_in(&other_email, "analytical engine").await;
    assert_eq!(signed_in.status, 200, "{:#}", signed_in.body);
    assert_eq!(signed_in.user_id(), Some(other_id.as_str()));
    let after = signed_in.session_token().expect("rotated").to_string();
    assert_ne!(after, before);
    let session_id = signed_in.body["session"]["id"].as_str().unwrap();
    assert!(after.starts_with(&format!("{session_id}.")), "same session");
    assert_eq!(
        signed_in.body["session"]["signins"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let old = with_token(&app, &before).get("/me").await;
    assert_eq!((old.status, old.error()), (401, "UNAUTHENTICATED"));
    let me = app.get("/me").await;
    assert_eq!(me.body["data"]["id"], other_id.as_str());
    assert_ne!(other_id, first_user);

    // A wrong password issues nothing and leaves the credential as it was.
    let wrong = app.sign_in(&other_email, "analytical engines").await;
    assert_eq!((wrong.status, wrong.session_token()), (401, None));
    assert_eq!(app.token.as_deref(), Some(after.as_str()));
}
both_backends!(password_sign_in_in_header_mode_rotates_the_token);

async fn me_reads_and_patches_with_a_bearer_credential(server: Server) {
    let (mut app, email, user_id) = signed_up_app(&server, "me").await;
    let me = app.get("/me").await;
    assert_eq!(me.status, 200, "{:#}", me.body);
    assert_eq!(
        (
            me.body["data"]["id"].as_str(),
            me.body["data"]["email"].as_str()
        ),
        (Some(user_id.as_str()), Some(email.as_str()))
    );
    let patched = app
        .patch(
            "/me",
            json!({"first_name": "Grace", "metadata": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{:#}", patched.body);
    assert_eq!(patched.body["data"]["first_name"], "Grace");
    assert!(patched.session_token().is_none());
    let read = app.get("/me").await;
    assert_eq!(
        read.body["data"], patched.body["data"],
        "stored as answered"
    );

    let mut anonymous = server.native_app();
    let refused = anonymous.patch("/me", json!({"first_name": "Eve"})).await;
    assert_eq!((refused.status, refused.error()), (401, "UNAUTHENTICATED"));
}
both_backends!(me_reads_and_patches_with_a_bearer_credential);

async fn signing_out_in_header_mode_ends_one_signin_then_all(server: Server) {
    let (_, other_email, other_id) = server.new_user("second").await;
    let (mut app, _, first_id) = signed_up_app(&server, "signout").await;
    let signed_in = app.sign_in(&other_email, "analytical engine").await;
    assert_eq!(signed_in.status, 200, "{:#}", signed_in.body);
    let other_signin = signed_in.body["session"]["active_signin"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = app.token.clone().unwrap();

    let one = app
        .post("/session/sign-out", json!({"signin_id": other_signin}))
        .await;
    assert_eq!(one.status, 200, "{:#}", one.body);
    assert!(one.session_token().is_none(), "the credential stays valid");
    assert_eq!(one.user_id(), Some(first_id.as_str()));
    assert_eq!(app.token.as_deref(), Some(token.as_str()));
    assert_eq!(app.get("/me").await.body["data"]["id"], first_id.as_str());
    assert_ne!(first_id, other_id);

    let all = app
        .send(app.client.post(app.url("/session/sign-out")))
        .await;
    assert_eq!(all.status, 200, "{:#}", all.body);
    assert_eq!(all.session_token(), Some(""), "discard the credential");
    assert_eq!(all.body["data"], json!(null));
    assert_eq!(app.token, None);

    // The session is gone: the old credential is unknown, and each answer says to discard it.
    let me = with_token(&app, &token).get("/me").await;
    assert_eq!((me.status, me.error()), (401, "UNAUTHENTICATED"));
    assert_eq!(me.session_token(), Some(""));
    let session = with_token(&app, &token).get("/session").await;
    assert_eq!(session.body["data"], json!(null));
    assert_eq!(session.session_token(), Some(""));
}
both_backends!(signing_out_in_header_mode_ends_one_signin_then_all);

async fn a_malformed_bearer_is_no_credential_and_costs_no_read(server: Server) {
    let (app, _, _) = signed_up_app(&server, "malformed").await;
    let token = app.token.clone().unwrap();
    let (id, secret) = token.split_once('.').unwrap();
    server.call_log.take();
    for bad in [
        "nonsense".to_string(),
        format!("{id}.{}", &secret[1..]),
        format!("{id}{secret}"),
        format!("{id}.{secret}.extra"),
    ] {
        let mut bad_app = with_token(&app, &bad);
        let me = bad_app.get("/me").await;
        assert_eq!((me.status, me.error()), (401, "UNAUTHENTICATED"), "{bad}");
        // Nothing was read, so nothing is known to be stale: no instruction to discard.
        assert_eq!(me.session_token(), None, "{bad}");
    }
    if server.backend == Backend::Moto {
        assert!(
            server.call_log.take().is_empty(),
            "a malformed bearer costs no DynamoDB call"
        );
    }
    // A well-formed credential of a session that does not exist is read, and discarded.
    let unknown = format!("sess_{}.{secret}", "0".repeat(32));
    let me = with_token(&app, &unknown).get("/me").await;
    assert_eq!((me.status, me.session_token()), (401, Some("")));
}
both_backends!(a_malformed_bearer_is_no_credential_and_costs_no_read);

#[tokio::test]
async fn a_bearer_from_a_foreign_origin_is_allowed_where_a_cookie_is_refused() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let (app, _, app_user) = signed_up_app(&server, "origin-app").await;
    let (mut browser, _, browser_user) = server.new_user("origin-browser").await;
    let patch = |origin: &str| {
        server
            .native_app()
            .client
            .patch(format!("{}/me", server.base))
            .header(ORIGIN, origin)
            .header(CONTENT_TYPE, "application/json")
            .body(json!({"first_name": "Ada"}).to_string())
    };

    // With the cookie: refused, as before.
    let cookie = browser.clone().send(patch(FOREIGN)).await;
    assert_eq!((cookie.status, cookie.error()), (403, "FORBIDDEN_ORIGIN"));

    // With a bearer: no ambient authority, so the foreign origin is no reason to refuse.
    let bearer = app.clone().send(patch(FOREIGN)).await;
    assert_eq!(bearer.status, 200, "{:#}", bearer.body);
    assert_eq!(bearer.body["data"]["id"], app_user.as_str());
    assert!(
        bearer.headers.get("access-control-allow-origin").is_none(),
        "still no CORS for a foreign origin"
    );

    // Bearer and cookie together: the bearer is used, the cookie ignored entirely.
    let token = app.token.clone().unwrap();
    let cookie_header = browser.cookie.clone().unwrap();
    let both = browser
        .send(patch(FOREIGN).header(AUTHORIZATION, format!("Bearer {token}")))
        .await;
    assert_eq!(both.status, 200, "{:#}", both.body);
    assert_eq!(both.body["data"]["id"], app_user.as_str());
    assert!(
        both.set_cookie().is_none(),
        "header mode never sets a cookie"
    );
    assert_eq!(browser.cookie.as_deref(), Some(cookie_header.as_str()));

    // Asking for header mode with only a cookie: the cookie is ignored, so nothing is proven.
    let asked = browser
        .send(patch(FOREIGN).header(SESSION_MODE, "header"))
        .await;
    assert_eq!((asked.status, asked.error()), (401, "UNAUTHENTICATED"));

    // The cookie still works as ever from the allowed origin, and gets no token.
    let allowed = browser.send(patch(ALLOWED)).await;
    assert_eq!(allowed.status, 200, "{:#}", allowed.body);
    assert_eq!(allowed.body["data"]["id"], browser_user.as_str());
    assert!(allowed.headers.get(SESSION_TOKEN).is_none());
}

#[tokio::test]
async fn a_cookie_mode_answer_never_carries_a_token() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let mut browser = server.browser();
    let email = unique_email("cookie");
    let opened = browser.sign_up(&email).await;
    assert!(opened.set_cookie().is_some());
    assert!(opened.headers.get(SESSION_TOKEN).is_none());
    let code = server.code_for(&email).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert!(done.set_cookie().is_some());
    assert!(done.headers.get(SESSION_TOKEN).is_none());
    // Any other `X-Session-Mode` leaves the request in cookie mode.
    let other = browser
        .send(
            browser
                .client
                .get(format!("{}/me", server.base))
                .header(SESSION_MODE, "cookie"),
        )
        .await;
    assert_eq!(other.status, 200, "{:#}", other.body);
}

#[tokio::test]
async fn cors_advertises_the_header_mode_headers() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let mut browser = server.browser();
    let preflight = browser
        .send(
            browser
                .client
                .request(reqwest::Method::OPTIONS, format!("{}/me", server.base))
                .header(ORIGIN, ALLOWED)
                .header("access-control-request-method", "PATCH")
                .header(
                    "access-control-request-headers",
                    "authorization, x-session-mode, content-type",
                ),
        )
        .await;
    assert_eq!(preflight.status, 204);
    let allow = preflight.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in ["authorization", "x-session-mode", "content-type"] {
        assert!(allow.contains(header), "{header} not in {allow}");
    }

    // An allowed origin's script may read the token.
    let mut app = server.native_app();
    let opened = app
        .send(
            app.client
                .post(format!("{}/auth/signup", server.base))
                .header(ORIGIN, ALLOWED)
                .json(&json!({"email": unique_email("cors"), "password": "analytical engine"})),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    assert!(opened.session_token().is_some());
    let exposed = opened.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-session-token"), "{exposed}");
    assert!(exposed.contains("retry-after"), "{exposed}");
}
