//! `POST /auth/complete-profile` (seed 000) over HTTP on both backends.

use futures_util::future::join_all;
use serde_json::json;
use sesame_e2e::{Backend, Server, unique_email};

async fn at_profile(server: &Server) -> (sesame_e2e::Browser, String) {
    let mut browser = server.browser();
    let email = unique_email("partial");
    let opened = browser.post("/auth/signup", json!({"email": email})).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = &opened.body["data"]["signup_attempts"][0];
    assert_eq!(attempt["requires_completion"], true);
    assert_eq!(
        attempt["remaining_steps"],
        json!(["verify_email_otp", "complete_profile"])
    );
    let code = server.code_for(&email).await;
    let verified = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(verified.status, 200, "{:#}", verified.body);
    assert_eq!(
        verified.body["data"]["signup_attempts"][0]["current_step"],
        "complete_profile"
    );
    assert_eq!(verified.body["data"]["active_signin"], json!(null));
    (browser, email)
}

async fn completes_as_seed_000_shows(backend: Backend) {
    let required = [("REQUIRED_FIELDS", "password,first_name,last_name")];
    let Some(server) = Server::start(backend, &required).await else {
        return;
    };
    let (mut browser, email) = at_profile(&server).await;

    let missing = browser
        .post("/auth/complete-profile", json!({"first_name": "John"}))
        .await;
    assert_eq!(missing.status, 400);
    let mut named: Vec<&str> = missing.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    named.sort();
    assert_eq!(named, ["last_name", "password"]);
    assert!(missing.error_codes().iter().all(|c| c == "REQUIRED_FIELD"));

    let done = browser
        .post(
            "/auth/complete-profile",
            json!({"first_name": "John", "last_name": "Doe", "password": "analytical engine"}),
        )
        .await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    // Seed 000: the envelope, data = session, the attempt completed and nothing missing.
    assert_eq!(
        (done.body["status"].as_u64(), done.body["message"].as_str()),
        (Some(200), Some(""))
    );
    assert_eq!(done.body["data"], done.body["session"]);
    assert_eq!(done.body["errors"], json!([]));
    let attempt = &done.body["data"]["signup_attempts"][0];
    assert_eq!(attempt["completed"], true);
    assert_eq!(attempt["requires_completion"], false);
    assert_eq!(attempt["missing_fields"], json!([]));
    assert_eq!(
        done.body["data"]["active_signin"],
        done.body["data"]["signins"][0]
    );
    assert!(done.set_cookie().is_some(), "the cookie secret is replaced");

    // As stored, too: a later read shows the finished attempt with the names it took.
    let read = browser.get("/session").await.body["data"]["signup_attempts"][0].clone();
    assert_eq!(
        (
            read["requires_completion"].as_bool(),
            read["first_name"].as_str()
        ),
        (Some(false), Some("John"))
    );

    let again = browser
        .post("/auth/complete-profile", json!({"first_name": "John"}))
        .await;
    assert_eq!((again.status, again.error()), (404, "ATTEMPT_NOT_FOUND"));
    let signed_in = server.browser().sign_in(&email, "analytical engine").await;
    assert_eq!(
        signed_in.status, 200,
        "the completed account signs in by password"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn completes_as_seed_000_shows_embedded() {
    completes_as_seed_000_shows(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn completes_as_seed_000_shows_moto() {
    completes_as_seed_000_shows(Backend::Moto).await;
}

async fn parallel_completions_create_one_user(backend: Backend) {
    let Some(server) = Server::start(backend, &[]).await else {
        return;
    };
    let (browser, _) = at_profile(&server).await;
    let answers = join_all((0..10).map(|_| {
        let mut b = browser.clone();
        async move {
            b.post(
                "/auth/complete-profile",
                json!({"password": "analytical engine"}),
            )
            .await
        }
    }))
    .await;
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "{:?}",
        answers
            .iter()
            .map(|a| (a.status, a.error().to_string()))
            .collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        let refusal = (a.status, a.error());
        assert!(
            refusal == (409, "ATTEMPT_COMPLETED")
                || refusal == (404, "ATTEMPT_NOT_FOUND")
                || refusal == (401, "UNAUTHENTICATED"),
            "{refusal:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_completions_create_one_user_embedded() {
    parallel_completions_create_one_user(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_completions_create_one_user_moto() {
    parallel_completions_create_one_user(Backend::Moto).await;
}
