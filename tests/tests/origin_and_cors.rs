//! DESIGN section 4: a cookie-carrying unsafe request from an origin outside ALLOWED_ORIGINS is
//! refused; CORS answers only allowed origins, with credentials.

use reqwest::header::{CONTENT_TYPE, ORIGIN};
use serde_json::json;
use sesame_e2e::{Backend, Server, unique_email};

const ALLOWED: &str = "https://app.example.com";

#[tokio::test]
async fn when_a_cookie_carrying_post_comes_from_another_origin_it_is_refused() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let mut browser = server.browser();
    let opened = browser.sign_up(&unique_email("origin")).await;
    let id = opened.signup_attempt_id();
    let post = |origin: &str| {
        browser
            .client
            .post(format!("{}/auth/prepare-verification", server.base))
            .header(CONTENT_TYPE, "application/json")
            .header(ORIGIN, origin)
            .body(json!({"signup_attempt_id": id}).to_string())
    };

    let evil = browser.clone().send(post("https://evil.example")).await;
    assert_eq!((evil.status, evil.error()), (403, "FORBIDDEN_ORIGIN"));
    assert!(evil.headers.get("access-control-allow-origin").is_none());

    // From the allowed origin the same request reaches the endpoint (the cooldown answers).
    let ok = browser.clone().send(post(ALLOWED)).await;
    assert_eq!((ok.status, ok.error()), (429, "RATE_LIMITED"));
    assert_eq!(ok.headers["access-control-allow-origin"], ALLOWED);
    assert_eq!(ok.headers["access-control-allow-credentials"], "true");

    // Without a cookie there is no session to ride on, so any origin may start a sign-up.
    let mut stranger = server.browser();
    let fresh = stranger
        .send(
            stranger
                .client
                .post(format!("{}/auth/signup", server.base))
                .header(ORIGIN, "https://evil.example")
                .json(&json!({"email": unique_email("fresh"), "password": "analytical engine"})),
        )
        .await;
    assert_eq!(fresh.status, 200);
    assert!(
        fresh.headers.get("access-control-allow-origin").is_none(),
        "no CORS for other origins"
    );
}

#[tokio::test]
async fn when_a_preflight_comes_only_allowed_origins_get_permission() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let mut browser = server.browser();
    let preflight = |origin: &str| {
        browser
            .client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/auth/signup", server.base),
            )
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
    };
    let allowed = browser.clone().send(preflight(ALLOWED)).await;
    assert_eq!(allowed.status, 204);
    assert_eq!(allowed.headers["access-control-allow-origin"], ALLOWED);
    assert_eq!(allowed.headers["access-control-allow-credentials"], "true");
    assert!(
        allowed.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    let other = browser.send(preflight("https://evil.example")).await;
    assert_eq!((other.status, other.error()), (403, "FORBIDDEN_ORIGIN"));
    assert!(other.headers.get("access-control-allow-origin").is_none());
}
