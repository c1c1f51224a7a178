//! Every kind of bad request gets the envelope with the right status, never a 5xx, and writes
//! nothing.

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sesame_e2e::{Answer, Server, both_backends};

async fn assert_nothing_written(server: &Server) {
    match &server.outbox {
        Some(outbox) => assert!(outbox.list().is_empty(), "nothing was sent"),
        None => assert_eq!(server.items_in_table().await, 0, "nothing was stored"),
    }
}

fn assert_envelope(answer: &Answer, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
    assert_eq!(answer.body["status"], status);
    assert_eq!(answer.body["data"], Value::Null);
    assert_eq!(answer.error(), code, "{:#}", answer.body);
    if let Some(f) = field {
        assert_eq!(answer.body["errors"][0]["field"], f, "{:#}", answer.body);
    }
    assert!(
        answer.set_cookie().is_none(),
        "no session for a bad request"
    );
}

async fn bad_requests_get_the_envelope_and_write_nothing(server: Server) {
    let b = server.browser();
    let url = |p: &str| format!("{}{p}", server.base);
    let raw = |body: &'static str| {
        b.client
            .post(url("/auth/signup"))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    };

    let malformed = b.clone().send(raw("{\"email\": ")).await;
    assert_envelope(&malformed, 400, "BAD_REQUEST_BODY", None);

    let unknown = b
        .clone()
        .send(raw(
            r#"{"email":"a@example.com","password":"analytical engine","email_verified":true}"#,
        ))
        .await;
    assert_envelope(&unknown, 400, "BAD_REQUEST_BODY", Some("email_verified"));

    for privileged in [
        "blocked",
        "phone_number_verified",
        "login_attempts",
        "hash_fn",
        "salt",
    ] {
        let body =
            json!({"email": "a@example.com", "password": "analytical engine", privileged: true});
        let answer = b.clone().post("/auth/signup", body).await;
        assert_envelope(&answer, 400, "BAD_REQUEST_BODY", Some(privileged));
    }

    let wrong_type = b
        .clone()
        .send(raw(r#"{"email":5,"password":"analytical engine"}"#))
        .await;
    assert_envelope(&wrong_type, 400, "BAD_REQUEST_BODY", Some("email"));

    let nested = b
        .clone()
        .send(raw(
            r#"{"email":"a@example.com","password":"analytical engine","profile":{"gender":[1]}}"#,
        ))
        .await;
    assert_envelope(&nested, 400, "BAD_REQUEST_BODY", Some("profile.gender"));

    let text = b
        .clone()
        .send(
            b.client
                .post(url("/auth/signup"))
                .header(CONTENT_TYPE, "text/plain")
                .body("{}"),
        )
        .await;
    assert_envelope(&text, 415, "UNSUPPORTED_MEDIA_TYPE", None);

    let no_type = b
        .clone()
        .send(b.client.post(url("/auth/attempt-verification")).body("{}"))
        .await;
    assert_envelope(&no_type, 415, "UNSUPPORTED_MEDIA_TYPE", None);

    let get_signup = b.clone().get("/auth/signup").await;
    assert_envelope(&get_signup, 405, "METHOD_NOT_ALLOWED", None);
    assert_eq!(get_signup.headers["allow"], "POST, OPTIONS");

    let delete_session = b.clone().send(b.client.delete(url("/session"))).await;
    assert_envelope(&delete_session, 405, "METHOD_NOT_ALLOWED", None);

    let unknown_path = b.clone().get("/auth/nope").await;
    assert_envelope(&unknown_path, 404, "NOT_FOUND", None);

    let big = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "x".repeat(200_000)
    );
    let too_large = b
        .clone()
        .send(
            b.client
                .post(url("/auth/signup"))
                .header(CONTENT_TYPE, "application/json")
                .body(big),
        )
        .await;
    assert_envelope(&too_large, 413, "PAYLOAD_TOO_LARGE", None);

    let no_code = b
        .clone()
        .post(
            "/auth/attempt-verification",
            json!({"signup_attempt_id": "sua_x"}),
        )
        .await;
    assert_envelope(&no_code, 400, "REQUIRED_FIELD", Some("code"));

    let both_ids = b
        .clone()
        .post(
            "/auth/prepare-verification",
            json!({"signup_attempt_id": "a", "signin_attempt_id": "b"}),
        )
        .await;
    assert_envelope(&both_ids, 400, "INVALID_FIELD", Some("signin_attempt_id"));

    let bad_strategy = b
        .clone()
        .post(
            "/auth/prepare-verification",
            json!({"signup_attempt_id": "a", "strategy": "carrier_pigeon"}),
        )
        .await;
    assert_envelope(&bad_strategy, 400, "BAD_REQUEST_BODY", Some("strategy"));

    let weak = b
        .clone()
        .post(
            "/auth/signup",
            json!({"email": "a@example.com", "password": "password123"}),
        )
        .await;
    assert_envelope(&weak, 400, "WEAK_PASSWORD", Some("password"));

    let missing = b.clone().post("/auth/signup", json!({})).await;
    assert_envelope(&missing, 400, "REQUIRED_FIELD", Some("email"));

    assert_nothing_written(&server).await;
}
both_backends!(bad_requests_get_the_envelope_and_write_nothing);

/// Every JSON endpoint, signed in so each reaches its body parsing: malformed JSON, an unknown
/// field, a wrong type, a wrong content type and an oversized body, each enveloped, none a 5xx.
async fn every_endpoint_refuses_bad_bodies_alike(server: Server) {
    let (signed_in, _, _) = server.new_user("bodies").await;
    let endpoints = [
        (reqwest::Method::POST, "/auth/signup"),
        (reqwest::Method::POST, "/auth/signin"),
        (reqwest::Method::POST, "/auth/prepare-verification"),
        (reqwest::Method::POST, "/auth/attempt-verification"),
        (reqwest::Method::POST, "/auth/complete-profile"),
        (reqwest::Method::POST, "/session/switch-sign-in"),
        (reqwest::Method::POST, "/session/sign-out"),
        (reqwest::Method::PATCH, "/me"),
    ];
    let big = format!(r#"{{"x":"{}"}}"#, "y".repeat(200_000));
    for (method, path) in endpoints {
        let url = format!("{}{path}", server.base);
        let cases: [(&str, String, u16, &str); 5] = [
            ("application/json", "{\"oops\": ".into(), 400, "BAD_REQUEST_BODY"),
            ("application/json", r#"{"email_verified": true}"#.into(), 400, "BAD_REQUEST_BODY"),
            ("application/json", r#"{"signin_id": 7, "identifier": 7, "email": 7, "first_name": 7, "signup_attempt_id": 7}"#.into(), 400, "BAD_REQUEST_BODY"),
            ("text/plain", "{}".into(), 415, "UNSUPPORTED_MEDIA_TYPE"),
            ("application/json", big.clone(), 413, "PAYLOAD_TOO_LARGE"),
        ];
        for (content_type, body, status, code) in cases {
            let mut b = signed_in.clone();
            let req = b
                .client
                .request(method.clone(), &url)
                .header(CONTENT_TYPE, content_type)
                .body(body);
            let answer = b.send(req).await;
            assert_eq!(
                (answer.status, answer.error()),
                (status, code),
                "{method} {path} with {content_type}"
            );
            assert_eq!(answer.body["status"], status);
            assert!(
                answer.body["session"].is_object(),
                "{method} {path}: the caller's session is still shown"
            );
        }
        let wrong = signed_in
            .clone()
            .send(signed_in.client.request(reqwest::Method::PUT, &url))
            .await;
        assert_eq!(
            (wrong.status, wrong.error()),
            (405, "METHOD_NOT_ALLOWED"),
            "PUT {path}"
        );
    }
    // Still signed in, still the same user: nothing above changed anything.
    let mut b = signed_in.clone();
    assert_eq!(b.get("/me").await.status, 200);
}
both_backends!(every_endpoint_refuses_bad_bodies_alike);
