//! Prints the admin import's throughput against DynamoDB Local (users per second, one at a
//! time and 8 in parallel, over HTTP through the dev server), and the latency of an imported
//! bcrypt user's first password sign-in (verify bcrypt, rehash to argon2id, store it) and second
//! one (argon2id only). `cargo bench -p sesame-e2e --bench import_throughput` for the figures;
//! under `cargo test --all-targets` it makes a small smoke pass. Needs `DYNAMODB_ENDPOINT` and
//! `MOTO_ENDPOINT` (SES, SNS).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use sesame_e2e::{Backend, Browser, Server, unique_email};

const KEY: &str = "bench-admin-key-0123456789";
const PASSWORD: &str = "Analytical Engine 1843";

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(full));
}

async fn import(browser: &mut Browser, record: Value) {
    let req = browser
        .client
        .post(format!("{}/admin/users", browser.base))
        .header("x-admin-key", KEY)
        .json(&record);
    let answer = browser.send(req).await;
    assert_eq!(answer.status, 201, "{:#}", answer.body);
}

fn record(hash: &str) -> Value {
    json!({"email": unique_email("bench"), "email_verified": true, "hash_fn": "bcrypt", "password": hash})
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn run(full: bool) {
    let Some(server) = Server::start(Backend::Moto, &[("ADMIN_KEY", KEY)]).await else {
        return;
    };
    let (users, signins) = if full { (200, 15) } else { (8, 2) };
    // A bcrypt hash as a typical migration brings them (cost 10).
    let hash = bcrypt::hash(PASSWORD, 10).unwrap();

    let mut browser = server.browser();
    let t = Instant::now();
    for _ in 0..users {
        import(&mut browser, record(&hash)).await;
    }
    let sequential = users as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let per_worker = users / 8;
    join_all((0..8).map(|_| {
        let mut b = server.browser();
        let hash = hash.clone();
        async move {
            for _ in 0..per_worker {
                import(&mut b, record(&hash)).await;
            }
        }
    }))
    .await;
    let parallel = (per_worker * 8) as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    for _ in 0..users.min(50) {
        import(
            &mut browser,
            json!({"email": unique_email("plain"), "password": PASSWORD}),
        )
        .await;
    }
    let plaintext = users.min(50) as f64 / t.elapsed().as_secs_f64();
    println!(
        "IMPORT THROUGHPUT against DynamoDB Local: {sequential:.0} users/s one at a time, \
         {parallel:.0} users/s 8 in parallel (bcrypt hashes; {users} users each); {plaintext:.0} \
         users/s with plaintext passwords hashed to argon2id"
    );

    let (mut first, mut second) = (Vec::new(), Vec::new());
    for _ in 0..signins {
        let email = unique_email("signin");
        import(
            &mut browser,
            json!({"email": email, "email_verified": true, "hash_fn": "bcrypt", "password": hash}),
        )
        .await;
        for samples in [&mut first, &mut second] {
            let mut b = server.browser();
            let t = Instant::now();
            let answer = b.sign_in(&email, PASSWORD).await;
            samples.push(t.elapsed());
            assert_eq!(answer.status, 200, "{:#}", answer.body);
        }
    }
    println!(
        "IMPORTED BCRYPT SIGN-IN against DynamoDB Local, median of {signins}: first (bcrypt \
         verify + argon2id rehash + conditional write) {:.1} ms, second (argon2id) {:.1} ms",
        median(first).as_secs_f64() * 1000.0,
        median(second).as_secs_f64() * 1000.0
    );
}
