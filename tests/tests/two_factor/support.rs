#![allow(dead_code)] // shared by several test files, each using a part
//! What the second-factor tests share: servers on a manual clock, TOTP codes computed by `pyotp`,
//! enrollment, and the first factor of a sign-in that then waits for the second.

use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use sesame::adapters::clock::ManualClock;
use sesame::domain::ports::Clock;
use sesame_e2e::{Answer, Backend, Browser, Server};
use time::{Duration, OffsetDateTime};

macro_rules! with_clock {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$name(Backend::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                super::$name(Backend::Moto).await;
            }
        }
    };
}

pub(crate) const PASSWORD: &str = "analytical engine";

pub(crate) async fn server(backend: Backend) -> Option<(Server, Arc<ManualClock>)> {
    server_with(backend, &[]).await
}

pub(crate) async fn server_with(
    backend: Backend,
    overrides: &[(&str, &str)],
) -> Option<(Server, Arc<ManualClock>)> {
    // `TEST_PYTHON` is needed by every test here: check it before starting anything.
    python_path()?;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let server = Server::start_with_clock(backend, overrides, clock.clone()).await?;
    Some((server, clock))
}

pub(crate) fn python_path() -> Option<String> {
    match std::env::var("TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("TEST_PYTHON is not set: under CI=true the second-factor tests must run")
        }
        _ => {
            eprintln!("TEST_PYTHON is not set: skipping (run ./scripts/test)");
            None
        }
    }
}

/// The code `pyotp` computes from `uri` for the time `at`.
pub(crate) fn totp_at(uri: &str, at: OffsetDateTime) -> String {
    let python = python_path().expect("checked when the server started");
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
            uri,
            &at.unix_timestamp().to_string(),
        ])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub(crate) async fn delete(b: &mut Browser, path: &str) -> Answer {
    let req = b.client.delete(format!("{}{path}", b.base));
    b.send(req).await
}

pub(crate) async fn two_factor_enabled(b: &mut Browser) -> bool {
    let me = b.get("/me").await;
    assert_eq!(me.status, 200, "{:#}", me.body);
    me.body["data"]["two_factor_enabled"].as_bool().unwrap()
}

/// Enrolls TOTP for the browser's user; answers the `otpauth://` URI and the backup codes.
pub(crate) async fn enroll(b: &mut Browser, clock: &ManualClock) -> (String, Vec<String>) {
    let started = b.post("/me/totp", json!({})).await;
    assert_eq!(started.status, 200, "{:#}", started.body);
    let uri = started.body["data"]["otpauth_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let code = totp_at(&uri, clock.now());
    let done = b.post("/me/totp/verify", json!({"code": code})).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let codes = done.body["data"]["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (uri, codes)
}

pub(crate) fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// Signs in by password in a new browser: the attempt waits at `verify_second_factor`.
pub(crate) async fn password_first(server: &Server, email: &str) -> (Browser, String) {
    let mut b = server.browser();
    let opened = b.sign_in(email, PASSWORD).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    assert!(
        opened.body["session"]["active_signin"].is_null(),
        "nothing granted yet"
    );
    let attempt = &opened.body["session"]["signin_attempts"][0];
    assert_eq!(attempt["current_step"], "verify_second_factor");
    assert_eq!(
        strings(&attempt["remaining_steps"]),
        ["verify_second_factor"]
    );
    (b, attempt["id"].as_str().unwrap().to_string())
}

pub(crate) async fn second(b: &mut Browser, attempt: &str, code: &str, strategy: &str) -> Answer {
    b.post(
        "/auth/attempt-verification",
        json!({"signin_attempt_id": attempt, "code": code, "strategy": strategy}),
    )
    .await
}

/// Verifies a new phone number for the browser's user; answers it.
pub(crate) async fn verify_phone(server: &Server, b: &mut Browser) -> String {
    let phone = sesame_e2e::unique_phone();
    let asked = b
        .post("/me/phone_number", json!({"phone_number": phone}))
        .await;
    assert_eq!(asked.status, 200, "{:#}", asked.body);
    let code = server.code_for(&phone).await;
    let moved = b
        .post("/me/phone_number/verify", json!({"code": code}))
        .await;
    assert_eq!(moved.status, 200, "{:#}", moved.body);
    phone
}

pub(crate) async fn sms_factor_on(b: &mut Browser) {
    let on = b
        .post("/me/two-factor/phone", json!({"enabled": true}))
        .await;
    assert_eq!(on.status, 200, "{:#}", on.body);
}

/// A code sign-in (`strategy`) of `identifier` in a new browser, its code given: the attempt
/// then waits at `verify_second_factor`. Answers the browser, the attempt and its strategies.
pub(crate) async fn code_first(
    server: &Server,
    identifier: &str,
    strategy: &str,
) -> (Browser, String, Vec<String>) {
    let mut b = server.browser();
    let opened = b
        .post(
            "/auth/signin",
            json!({"identifier": identifier, "strategy": strategy}),
        )
        .await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let attempt = opened.signin_attempt_id();
    let code = server.code_for(identifier).await;
    let first = b.verify_signin(&attempt, &code).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    let view = &first.body["session"]["signin_attempts"][0];
    assert_eq!(
        view["current_step"], "verify_second_factor",
        "{:#}",
        first.body
    );
    let strategies = strings(&view["second_factor_strategies"])
        .into_iter()
        .map(str::to_string)
        .collect();
    (b, attempt, strategies)
}

/// A fresh TOTP code (the clock moves past the step any earlier code used).
pub(crate) fn next_totp(uri: &str, clock: &ManualClock) -> String {
    clock.advance(Duration::seconds(30));
    totp_at(uri, clock.now())
}
