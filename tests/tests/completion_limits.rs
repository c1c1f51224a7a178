//! Issue 12, item 2: `complete-profile` and `completeSignup` are metered per attempt and per IP,
//! charged before the uniqueness check (and so before any password is hashed). A run of
//! `USERNAME_EXISTS` / `PHONE_EXISTS` answers ends in 429, and parallel requests get no more
//! answers than sequential ones.

use futures_util::future::join_all;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::json;
use sesame_e2e::{Answer, Backend, Browser, Server, unique_email};

/// One test per backend from an `async fn(Backend)`.
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$name(super::Backend::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                super::$name(super::Backend::Moto).await;
            }
        }
    };
}

const PASSWORD: &str = "analytical engine";
/// `limits::COMPLETIONS_PER_ATTEMPT`.
const PER_ATTEMPT: usize = 10;
const WITH_USERNAME: (&str, &str) = ("REQUIRED_FIELDS", "password,username");

/// A user holding `username`.
async fn user_with_username(server: &Server, username: &str) {
    let mut browser = server.browser();
    let email = unique_email("holder");
    let opened = browser
        .post(
            "/auth/signup",
            json!({"email": email, "username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
}

/// A browser whose sign-up waits for its username at complete-profile.
async fn waiting_for_username(server: &Server) -> Browser {
    let mut browser = server.browser();
    let email = unique_email("wants-name");
    let opened = browser.post("/auth/signup", json!({"email": email})).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let verified = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(verified.status, 200, "{:#}", verified.body);
    browser
}

fn taken_username() -> String {
    format!("taken_{}", &unique_email("u")[2..10])
}

fn tally(answers: &[Answer]) -> (usize, usize, Vec<(u16, String)>) {
    let exists = answers
        .iter()
        .filter(|a| (a.status, a.error()) == (409, "USERNAME_EXISTS"))
        .count();
    let limited = answers
        .iter()
        .filter(|a| (a.status, a.error()) == (429, "RATE_LIMITED"))
        .count();
    let all = answers
        .iter()
        .map(|a| (a.status, a.error().to_string()))
        .collect();
    (exists, limited, all)
}

async fn a_run_of_taken_usernames_ends_in_429(backend: Backend) {
    let Some(server) = Server::start(backend, &[WITH_USERNAME]).await else {
        return;
    };
    let name = taken_username();
    user_with_username(&server, &name).await;
    let mut browser = waiting_for_username(&server).await;
    let mut answers = Vec::new();
    for _ in 0..PER_ATTEMPT + 3 {
        answers.push(
            browser
                .post(
                    "/auth/complete-profile",
                    json!({"username": name, "password": PASSWORD}),
                )
                .await,
        );
    }
    let (exists, limited, all) = tally(&answers);
    assert_eq!((exists, limited), (PER_ATTEMPT, 3), "{all:?}");
    assert!(
        answers[..PER_ATTEMPT]
            .iter()
            .all(|a| a.error() == "USERNAME_EXISTS"),
        "the cap comes after the allowed ones: {all:?}"
    );
    let retry = answers.last().unwrap().headers.get("retry-after");
    assert!(retry.is_some(), "a 429 says when to retry");
}
both_backends!(a_run_of_taken_usernames_ends_in_429);

async fn parallel_completions_get_no_more_answers_than_sequential_ones(backend: Backend) {
    let Some(server) = Server::start(backend, &[WITH_USERNAME]).await else {
        return;
    };
    let name = taken_username();
    user_with_username(&server, &name).await;
    let browser = waiting_for_username(&server).await;
    let answers = join_all((0..3 * PER_ATTEMPT).map(|_| {
        let mut b = browser.clone();
        let name = name.clone();
        async move {
            b.post(
                "/auth/complete-profile",
                json!({"username": name, "password": PASSWORD}),
            )
            .await
        }
    }))
    .await;
    let (exists, limited, all) = tally(&answers);
    println!(
        "parallel complete-profile: {exists} USERNAME_EXISTS, {limited} 429 of {}",
        answers.len()
    );
    assert_eq!((exists, limited), (PER_ATTEMPT, 2 * PER_ATTEMPT), "{all:?}");
}
both_backends!(parallel_completions_get_no_more_answers_than_sequential_ones);

async fn the_per_ip_cap_spans_attempts(backend: Backend) {
    let settings = [WITH_USERNAME, ("LIMIT_COMPLETIONS_PER_IP_PER_HOUR", "3")];
    let Some(server) = Server::start(backend, &settings).await else {
        return;
    };
    let name = taken_username();
    user_with_username(&server, &name).await;
    let body = json!({"username": name, "password": PASSWORD});
    let mut first = waiting_for_username(&server).await;
    let mut second = waiting_for_username(&server).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(first.post("/auth/complete-profile", body.clone()).await);
    }
    // A fresh attempt from the same IP is refused before its claims are read.
    answers.push(second.post("/auth/complete-profile", body.clone()).await);
    let (exists, limited, all) = tally(&answers);
    assert_eq!((exists, limited), (3, 1), "{all:?}");
    assert_eq!(answers[3].status, 429, "{all:?}");
}
both_backends!(the_per_ip_cap_spans_attempts);

/// completeSignup with a valid signup code.
async fn complete_signup(browser: &mut Browser, code: &str, email: &str) -> Answer {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("signupCode", code),
            ("emailAddress", email),
            ("password", PASSWORD),
            ("firstName", "Ada"),
            ("lastName", "Lovelace"),
        ])
        .finish();
    let req = browser
        .client
        .post(format!("{}/api/users/completeSignup", browser.base))
        .header(ACCEPT, "*/*")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    browser.send(req).await
}

/// A signup code whose address another account took meanwhile answers `EMAIL_EXISTS` each time,
/// after hashing the password: the run ends in 429.
async fn a_run_of_taken_emails_at_complete_signup_ends_in_429(backend: Backend) {
    let link = [("SIGNUP_LINK_URL", "https://app.example.com/complete-signup")];
    let Some(server) = Server::start(backend, &link).await else {
        return;
    };
    let email = unique_email("link");
    let mut browser = server.browser();
    let opened = browser
        .post(
            "/auth/signup",
            json!({"email": email, "strategy": "email_link"}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let message = server.messages_to(&email).await.pop().expect("an email");
    let start = message.find("signupCode=").expect("the link") + "signupCode=".len();
    let raw: String = message[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    let signup_code = url::form_urlencoded::parse(format!("c={raw}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();

    // The same address becomes an account through a code sign-up.
    let mut other = server.browser();
    let otp = other.sign_up(&email).await;
    assert_eq!(otp.status, 200, "{:#}", otp.body);
    let messages = server.messages_to(&email).await;
    let code = sesame_e2e::code_in(messages.last().expect("the code email"));
    let done = other.verify(&otp.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);

    let mut answers = Vec::new();
    for _ in 0..PER_ATTEMPT + 2 {
        answers.push(complete_signup(&mut browser, &signup_code, &email).await);
    }
    let all: Vec<(u16, String)> = answers
        .iter()
        .map(|a| (a.status, a.error().to_string()))
        .collect();
    let exists = all
        .iter()
        .filter(|(s, e)| (*s, e.as_str()) == (409, "EMAIL_EXISTS"))
        .count();
    let limited = all
        .iter()
        .filter(|(s, e)| (*s, e.as_str()) == (429, "RATE_LIMITED"))
        .count();
    assert_eq!((exists, limited), (PER_ATTEMPT, 2), "{all:?}");
}
both_backends!(a_run_of_taken_emails_at_complete_signup_ends_in_429);
