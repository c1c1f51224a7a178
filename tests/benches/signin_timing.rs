//! Prints (1) argon2id hash and verify time with Sesame's parameters on this machine, and (2) the
//! median latency of a password sign-in for a known identifier with a wrong password and for an
//! unknown identifier, over 200 runs each, with their ratio. Enumeration resistance means the
//! ratio stays near 1.0. Uses the embedded store, so the figures are the service's own cost.

use std::time::{Duration as StdDuration, Instant};

use sesame::adapters::clock::ManualClock;
use sesame::domain::signin::{self, SigninInput};
use sesame::domain::signup::{self, SignupInput};
use sesame::domain::verification::{self, Target};
use sesame::domain::{AuthError, Caller, password};
use std::sync::Arc;
use time::OffsetDateTime;

fn median(mut samples: Vec<StdDuration>) -> StdDuration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 200 } else { 3 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(runs));
}

async fn run(runs: usize) {
    // (1) argon2id with the chosen parameters.
    let hashes: Vec<StdDuration> = (0..runs.min(30))
        .map(|_| {
            let t = Instant::now();
            password::hash("analytical engine").unwrap();
            t.elapsed()
        })
        .collect();
    let phc = password::hash("analytical engine").unwrap();
    let verifies: Vec<StdDuration> = (0..runs.min(30))
        .map(|_| {
            let t = Instant::now();
            assert!(password::verify("analytical engine", &phc));
            t.elapsed()
        })
        .collect();
    println!(
        "argon2id m={} KiB t={} p={}: hash median {:.1} ms, verify median {:.1} ms ({} runs)",
        password::ARGON2_MEMORY_KIB,
        password::ARGON2_ITERATIONS,
        password::ARGON2_PARALLELISM,
        ms(median(hashes.clone())),
        ms(median(verifies)),
        hashes.len()
    );

    // (2) known vs unknown identifier.
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let config = sesame::config::Config::for_tests(&[("LIMIT_SIGNINS_PER_IP_PER_HOUR", "1000000")]);
    let (mut app, outbox) = sesame::wiring::embedded(config);
    app.clock = clock.clone();
    let mut caller = Caller::anonymous("198.51.100.1");
    let input = SignupInput {
        email: Some("known@example.com".into()),
        password: Some("analytical engine".into()),
        ..SignupInput::default()
    };
    signup::start(&app, &mut caller, input).await.unwrap();
    let attempt = caller.session.as_ref().unwrap().signup_attempts[0]
        .id
        .clone();
    let body = outbox.list()[0].body.clone();
    let code: String = body.chars().filter(char::is_ascii_digit).take(6).collect();
    verification::attempt(&app, &mut caller, &Target::Signup(attempt), &code)
        .await
        .unwrap();

    let attempt_once = |identifier: String| {
        let app = app.clone();
        async move {
            let mut caller = Caller::anonymous("198.51.100.1");
            let input = SigninInput {
                identifier: Some(identifier),
                password: Some("a wrong password".into()),
                strategy: None,
            };
            let t = Instant::now();
            let result = signin::start(&app, &mut caller, input).await;
            let took = t.elapsed();
            assert!(
                matches!(result, Err(AuthError::InvalidCredentials)),
                "{result:?}"
            );
            took
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // A fresh failure window each time, so the per-identifier limit never answers instead.
        clock.advance(time::Duration::minutes(16));
        // Alternate the order so drift on a shared machine hits both sides alike.
        if i % 2 == 0 {
            known.push(attempt_once("known@example.com".into()).await);
            unknown.push(attempt_once(format!("nobody{i}@example.com")).await);
        } else {
            unknown.push(attempt_once(format!("nobody{i}@example.com")).await);
            known.push(attempt_once("known@example.com".into()).await);
        }
    }
    let (k, u) = (median(known), median(unknown));
    println!(
        "sign-in with a wrong password, median over {runs} runs: known identifier {:.2} ms, unknown identifier {:.2} ms, ratio known/unknown {:.3}",
        ms(k),
        ms(u),
        k.as_secs_f64() / u.as_secs_f64()
    );
}
