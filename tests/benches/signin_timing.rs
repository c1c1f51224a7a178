//! Prints (1) argon2id hash and verify time with Sesame's parameters on this machine; (2) the
//! median latency of a password sign-in with a wrong password for: a known identifier (Sesame's
//! own argon2id), an unknown identifier, a user imported with a strong argon2 hash (argon2-cffi's
//! defaults: argon2id m=64 MiB, t=3, p=4) and one imported with bcrypt (cost 12), and again for an
//! unknown identifier and the argon2 import with a password NFKC changes (full-width letters, so
//! an imported hash is tried twice). Each median is printed with its ratio to the unknown
//! identifier's: enumeration resistance means every ratio stays near 1.0. (3) With `--bench`,
//! what the costliest imported hashes the import accepts take to verify once, which the failure
//! floor must exceed.
//!
//! Uses the embedded store, so the figures are the service's own cost. The floor is the default
//! one under `--bench`; the smoke pass (`cargo test --all-targets`: 3 rounds) sets 50 ms.
//! `SIGNIN_TIMING_RUNS` changes the number of rounds (default 30 with `--bench`); each round
//! signs in once per kind, in a rotating order, so drift on a shared machine hits all alike.

use std::time::{Duration as StdDuration, Instant};

use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Params, Version};
use sesame::adapters::clock::ManualClock;
use sesame::domain::import::{self, ImportInput};
use sesame::domain::password::legacy::{self, HashFn};
use sesame::domain::signin::{self, SigninInput};
use sesame::domain::signup::{self, SignupInput};
use sesame::domain::verification::{self, Target};
use sesame::domain::{AuthError, Caller, Deps, password};
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
    let rounds = std::env::var("SIGNIN_TIMING_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if full { 30 } else { 3 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(rounds, full));
}

/// What a wrong password in NFKC-changing form looks like: full-width letters.
const WRONG: &str = "a wrong password";
const WRONG_FULL_WIDTH: &str = "ａ ｗｒｏｎｇ ｐａｓｓｗｏｒｄ";

async fn run(rounds: usize, full: bool) {
    // (1) argon2id with the chosen parameters.
    let hashes: Vec<StdDuration> = (0..rounds.min(30))
        .map(|_| {
            let t = Instant::now();
            password::hash("analytical engine").unwrap();
            t.elapsed()
        })
        .collect();
    let phc = password::hash("analytical engine").unwrap();
    let verifies: Vec<StdDuration> = (0..rounds.min(30))
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

    // (2) The kinds of identifier, each with a wrong password.
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let floor = if full {
        sesame::config::DEFAULT_PASSWORD_FAILURE_FLOOR_MS.to_string()
    } else {
        "50".to_string()
    };
    let config = sesame::config::Config::for_tests(&[
        ("LIMIT_SIGNINS_PER_IP_PER_HOUR", "1000000"),
        ("PASSWORD_FAILURE_FLOOR_MS", &floor),
    ]);
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
    // argon2-cffi's defaults (RFC 9106's second recommendation), hashed as another system would.
    let strong = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(64 * 1024, 3, 4, None).unwrap(),
    )
    .hash_password(b"analytical engine")
    .unwrap()
    .to_string();
    imported(&app, "argon2@example.com", HashFn::Argon2, strong).await;
    let bcrypt12 = bcrypt::hash("analytical engine", 12).unwrap();
    imported(&app, "bcrypt@example.com", HashFn::Bcrypt, bcrypt12).await;

    let kinds: [(&str, Option<&str>, &str); 6] = [
        ("known identifier", Some("known@example.com"), WRONG),
        ("unknown identifier", None, WRONG),
        (
            "imported argon2id m=64MiB,t=3,p=4",
            Some("argon2@example.com"),
            WRONG,
        ),
        ("imported bcrypt cost 12", Some("bcrypt@example.com"), WRONG),
        (
            "unknown identifier, NFKC-changing password",
            None,
            WRONG_FULL_WIDTH,
        ),
        (
            "imported argon2id, NFKC-changing password",
            Some("argon2@example.com"),
            WRONG_FULL_WIDTH,
        ),
    ];
    let mut samples: Vec<Vec<StdDuration>> = vec![Vec::new(); kinds.len()];
    for round in 0..rounds {
        // A fresh failure window each time, so the per-identifier limit never answers instead.
        clock.advance(time::Duration::minutes(16));
        for k in 0..kinds.len() {
            let k = (k + round) % kinds.len();
            let (_, identifier, wrong) = kinds[k];
            let identifier =
                identifier.map_or_else(|| format!("nobody{round}-{k}@example.com"), str::to_string);
            samples[k].push(wrong_password(&app, identifier, wrong).await);
        }
    }
    let medians: Vec<StdDuration> = samples.into_iter().map(median).collect();
    println!(
        "sign-in with a wrong password, failure floor {floor} ms (twice that when NFKC changes the \
         password), median over {rounds} runs each:"
    );
    for (k, (name, _, wrong)) in kinds.iter().enumerate() {
        // Each against the unknown identifier with the same form of password.
        let unknown = if *wrong == WRONG {
            medians[1]
        } else {
            medians[4]
        };
        println!(
            "  {name}: {:.2} ms, ratio to unknown {:.3}",
            ms(medians[k]),
            medians[k].as_secs_f64() / unknown.as_secs_f64()
        );
    }

    // (3) The ceilings: what the costliest hash the import accepts takes to verify, once.
    if full {
        ceilings();
    }
}

async fn imported(app: &Deps, email: &str, hash_fn: HashFn, hash: String) {
    let input = ImportInput {
        email: Some(email.into()),
        email_verified: Some(true),
        hash_fn: Some(hash_fn),
        password: Some(hash),
        ..ImportInput::default()
    };
    import::import_user(app, input).await.unwrap();
}

async fn wrong_password(app: &Deps, identifier: String, wrong: &str) -> StdDuration {
    let mut caller = Caller::anonymous("198.51.100.1");
    let input = SigninInput {
        identifier: Some(identifier),
        password: Some(wrong.into()),
        strategy: None,
    };
    let t = Instant::now();
    let result = signin::start(app, &mut caller, input).await;
    let took = t.elapsed();
    assert!(
        matches!(result, Err(AuthError::InvalidCredentials)),
        "{result:?}"
    );
    took
}

fn ceilings() {
    let salt = "c2FsdHNhbHRzYWx0c2FsdA";
    let argon2_max = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(
            legacy::MAX_ARGON2_MEMORY_KIB,
            legacy::MAX_ARGON2_ITERATIONS,
            legacy::MAX_ARGON2_PARALLELISM,
            None,
        )
        .unwrap(),
    )
    .hash_password(b"analytical engine")
    .unwrap()
    .to_string();
    let digest64 =
        "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
    let rounds = legacy::MAX_PBKDF2_ROUNDS;
    let cases = [
        (
            format!("bcrypt cost {}", legacy::MAX_BCRYPT_COST),
            bcrypt::hash("analytical engine", legacy::MAX_BCRYPT_COST).unwrap(),
        ),
        (
            format!("pbkdf2-sha256 {rounds} rounds, 64-byte digest"),
            format!("$pbkdf2-sha256${rounds}${salt}${digest64}"),
        ),
        (
            format!("pbkdf2-sha512 {rounds} rounds, 64-byte digest"),
            format!("$pbkdf2-sha512${rounds}${salt}${digest64}"),
        ),
        (
            format!(
                "argon2id m={} KiB, t={}, p={}",
                legacy::MAX_ARGON2_MEMORY_KIB,
                legacy::MAX_ARGON2_ITERATIONS,
                legacy::MAX_ARGON2_PARALLELISM
            ),
            argon2_max,
        ),
    ];
    println!(
        "the costliest imported hashes the import accepts, one wrong-password verification each:"
    );
    for (name, stored) in cases {
        let t = Instant::now();
        assert!(!legacy::verify(WRONG, &stored), "{name}");
        println!("  {name}: {:.0} ms", ms(t.elapsed()));
    }
}
