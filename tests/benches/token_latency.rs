//! Prints (1) the p50 and p90 latency of `POST /session/token` next to `GET /session`, over HTTP
//! on one keep-alive connection to the dev server with the embedded store, interleaved so drift on
//! a shared machine hits both alike; (2) the in-process cost of the signing step alone
//! (`KeyProvider::sign` with the key already loaded); (3) the one-off key generation (the first
//! sign). The requirement: the token's p50 at most 1 ms above `GET /session`. Figures only: the
//! bench asserts that each answer is right, never how long it took.

use std::time::{Duration as StdDuration, Instant};

use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Map, Value, json};
use sesame_e2e::{Backend, Browser, Server};
use time::OffsetDateTime;

/// The `q`-quantile (0.5 = median) by nearest rank.
fn quantile(samples: &[StdDuration], q: f64) -> StdDuration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn us(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1_000_000.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 500 } else { 3 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(runs));
}

/// One request timed from send to the last body byte (the server's work plus loopback HTTP);
/// the cookie is kept as the `Browser` keeps it, and the body parsed after the clock stops.
async fn timed(browser: &mut Browser, req: reqwest::RequestBuilder) -> (StdDuration, u16, Value) {
    let req = match &browser.cookie {
        Some(c) => req.header(COOKIE, c),
        None => req,
    };
    let t = Instant::now();
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let set_cookie = res
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = res.bytes().await.expect("body");
    let took = t.elapsed();
    if let Some(set) = set_cookie {
        let pair = set.split(';').next().unwrap_or_default();
        assert!(!pair.ends_with('=') && !set.contains("Max-Age=0"), "{set}");
        browser.cookie = Some(pair.to_string());
    }
    let body = serde_json::from_slice(&bytes).expect("a JSON answer");
    (took, status, body)
}

async fn get_session(browser: &mut Browser) -> StdDuration {
    let req = browser.client.get(format!("{}/session", browser.base));
    let (took, status, body) = timed(browser, req).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(
        body["session"]["active_signin"]["user_id"].is_string(),
        "{body:#}"
    );
    took
}

async fn post_token(browser: &mut Browser) -> StdDuration {
    let req = browser
        .client
        .post(format!("{}/session/token", browser.base))
        .json(&json!({}));
    let (took, status, body) = timed(browser, req).await;
    assert_eq!(status, 200, "{body:#}");
    let jwt = body["data"]["jwt"].as_str().expect("a jwt");
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    took
}

async fn run(runs: usize) {
    // (1) Over HTTP.
    let server = Server::start(Backend::Embedded, &[])
        .await
        .expect("the embedded store needs no emulator");
    let (mut browser, _email, _user) = server.new_user("bench").await;
    // The first token creates the signing key; that one-off cost is (3), not the endpoint's.
    post_token(&mut browser).await;
    get_session(&mut browser).await;

    let (mut session, mut token) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for i in 0..runs {
        // Alternate the order so drift on a shared machine hits both sides alike.
        if i % 2 == 0 {
            session.push(get_session(&mut browser).await);
            token.push(post_token(&mut browser).await);
        } else {
            token.push(post_token(&mut browser).await);
            session.push(get_session(&mut browser).await);
        }
    }
    let (s50, t50) = (quantile(&session, 0.5), quantile(&token, 0.5));
    let (s90, t90) = (quantile(&session, 0.9), quantile(&token, 0.9));
    println!(
        "TOKEN LATENCY p50 GET /session {:.2} ms, POST /session/token {:.2} ms ({:+.2} ms); p90 GET /session {:.2} ms, POST /session/token {:.2} ms ({:+.2} ms); {runs} runs each",
        ms(s50),
        ms(t50),
        ms(t50) - ms(s50),
        ms(s90),
        ms(t90),
        ms(t90) - ms(s90),
    );
    drop(server);

    // (2) and (3) In process: the key provider the dev server uses, alone.
    let keys = sesame::wiring::in_process_keys();
    let now = OffsetDateTime::now_utc();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!("http://127.0.0.1"));
    claims.insert("sub".into(), json!("usr_bench"));
    claims.insert("sid".into(), json!("sin_bench"));
    claims.insert("aud".into(), json!("http://127.0.0.1"));
    claims.insert("iat".into(), json!(now.unix_timestamp()));
    claims.insert("nbf".into(), json!(now.unix_timestamp()));
    claims.insert("exp".into(), json!(now.unix_timestamp() + 60));
    claims.insert("email".into(), json!("bench@example.com"));
    claims.insert("email_verified".into(), json!(true));

    let t = Instant::now();
    let first = keys.sign(&claims, now).await.expect("first sign");
    let first_took = t.elapsed();
    assert_eq!(first.split('.').count(), 3, "{first}");

    let mut signs = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let jwt = keys.sign(&claims, now).await.expect("sign");
        signs.push(t.elapsed());
        assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    }
    println!(
        "TOKEN SIGNING median {:.0} µs, p90 {:.0} µs per RS256 signature with the key loaded (in process, {runs} runs)",
        us(quantile(&signs, 0.5)),
        us(quantile(&signs, 0.9)),
    );
    println!(
        "TOKEN KEY GENERATION first sign (RSA-2048 generated, sealed, loaded) {:.1} ms, once per keyring",
        ms(first_took)
    );
}
