//! Issue 12, item 5: in AWS the code key comes from Secrets Manager (moto here), read once when
//! the app is wired, and codes hashed under it verify. A bad secret stops the start naming the
//! setting. The cold-start cost of the read is printed.

use std::time::Instant;

use serde_json::json;
use sesame::adapters::dynamo::CallLog;
use sesame::config::{CodeHashKey, Config};
use sesame_e2e::{Backend, Moto, Server, create_secret, moto_endpoint, unique_email};

const ARN_VAR: &str = "CODE_HASH_KEY_SECRET_ARN";

fn random_hex_key() -> String {
    hex::encode(sesame::ids::random_bytes::<32>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_hashed_under_the_secret_key_verify() {
    let Some(moto) = moto_endpoint() else {
        return;
    };
    let key = random_hex_key();
    let arn = create_secret(&moto, &key).await;
    let Some(server) = Server::start(Backend::Moto, &[(ARN_VAR, &arn)]).await else {
        return;
    };
    assert_eq!(
        server.app.config.code_hash_key,
        CodeHashKey::Key(hex::decode(&key).unwrap()),
        "the key is the secret's value"
    );
    let mut browser = server.browser();
    let email = unique_email("secret-key");
    let opened = browser.sign_up(&email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let code = server.code_for(&email).await;
    let wrong = browser
        .post(
            "/auth/attempt-verification",
            json!({"signup_attempt_id": opened.signup_attempt_id(), "code": if code == "000000" { "000001" } else { "000000" }}),
        )
        .await;
    assert_eq!((wrong.status, wrong.error()), (400, "INVALID_CODE"));
    let done = browser.verify(&opened.signup_attempt_id(), &code).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
}

/// The configuration a code function gets in Lambda: the secret's ARN, no key.
async fn lambda_like(moto: &Moto, arn: &str) -> Config {
    moto.config(&[(ARN_VAR, arn)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_or_missing_secret_stops_the_start_naming_the_setting() {
    let Some(moto) = Moto::new(false).await else {
        return;
    };
    let short = create_secret(&moto.endpoint, "abcd").await;
    let not_hex = create_secret(&moto.endpoint, &"zz".repeat(32)).await;
    let missing = short.replace("sesame-code-key", "sesame-no-such-secret");
    for arn in [short, not_hex, missing] {
        let config = lambda_like(&moto, &arn).await;
        let err = sesame::wiring::aws(config, None)
            .await
            .err()
            .unwrap_or_else(|| panic!("{arn} was accepted"));
        assert_eq!(err.name, ARN_VAR, "{err}");
        assert!(
            !err.reason.contains("zzzz"),
            "the value is never shown: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cold_start_makes_one_secrets_manager_call_and_only_with_a_secret() {
    let Some(moto) = Moto::new(false).await else {
        return;
    };
    let arn = create_secret(&moto.endpoint, &random_hex_key()).await;
    let secrets_calls = |log: &CallLog| {
        log.take()
            .iter()
            .filter(|c| c.operation == "GetSecretValue")
            .count()
    };

    let log = CallLog::new();
    sesame::wiring::aws(lambda_like(&moto, &arn).await, Some(log.clone()))
        .await
        .expect("wired");
    assert_eq!(secrets_calls(&log), 1, "a code function: one read");

    let key = random_hex_key();
    let log = CallLog::new();
    let config = moto.config(&[("CODE_HASH_KEY", &key)]);
    sesame::wiring::aws(config, Some(log.clone()))
        .await
        .expect("wired");
    assert_eq!(secrets_calls(&log), 0, "a key given directly: no read");

    // The cost of the read alone (what a code function's cold start adds), against moto.
    let config = lambda_like(&moto, &arn).await;
    let sdk = sesame::wiring::sdk_config(&config).await;
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        sesame::wiring::read_code_key(&sdk, &config, &arn, None)
            .await
            .expect("read");
        times.push(started.elapsed());
    }
    let first = times[0];
    times.sort();
    println!(
        "code key read from Secrets Manager (moto): first {:.2} ms (new client and connection), \
         median {:.2} ms of {}",
        first.as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times.len()
    );
}
