//! Prints the resident memory of a process serving the dev server (embedded store, in process)
//! at start, after 100 parallel sign-ups over HTTP (each hashes a password with argon2id,
//! 19 MiB), and after 60 s idle: `VmRSS` (resident now) and `VmHWM` (the peak) from
//! `/proc/self/status`. Figures only: the bench asserts each sign-up succeeded, never a size.
//!
//! `cargo bench -p sesame-e2e --bench signup_memory`; under `cargo test --all-targets` a smoke
//! pass runs 3 sign-ups and idles 1 s.

use std::time::{Duration, Instant};

use sesame_e2e::{Backend, Server, unique_email};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (signups, idle) = if full {
        (100, Duration::from_secs(60))
    } else {
        (3, Duration::from_secs(1))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(signups, idle));
}

/// `VmRSS` and `VmHWM` in MiB, or `None` off Linux.
fn memory() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn report(when: &str) {
    match memory() {
        Some((rss, hwm)) => println!("{when}: resident {rss:.0} MiB (peak so far {hwm:.0} MiB)"),
        None => println!("{when}: /proc/self/status is not readable here"),
    }
}

async fn run(signups: usize, idle: Duration) {
    let server = Server::start(Backend::Embedded, &[])
        .await
        .expect("the embedded backend needs no emulator");
    report("dev server started");

    let t = Instant::now();
    let all = (0..signups).map(|i| {
        let mut browser = server.browser();
        async move { browser.sign_up(&unique_email(&format!("mem{i}"))).await }
    });
    let answers = futures_util::future::join_all(all).await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{:#}", answer.body);
    }
    println!(
        "{signups} parallel sign-ups answered in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    report(&format!("after {signups} parallel sign-ups"));

    tokio::time::sleep(idle).await;
    report(&format!("after {} s idle", idle.as_secs()));
}
