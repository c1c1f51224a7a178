//! Harness for the end-to-end tests: a dev server started in-process on a free loopback port,
//! backed by the embedded store and outbox or by the AWS emulators (DynamoDB in Amazon's DynamoDB
//! Local, SES v2 and SNS in `moto`), a client that keeps its session cookie like a browser, and
//! one that keeps its credential like a native app in header mode (`native.rs`).
//!
//! The emulators are found through `DYNAMODB_ENDPOINT` and `MOTO_ENDPOINT` (the README's test
//! command starts both). Without them the emulator tests skip with a note, except under `CI=true`,
//! where they fail instead.

pub mod emulators;
pub mod events;
pub mod native;
pub mod passkey;
pub mod providers;
pub mod verifiers;

use std::sync::Arc;

use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use serde_json::Value;
use sesame::Deps;
use sesame::adapters::dynamo::CallLog;
use sesame::adapters::outbox::Outbox;
use sesame::config::Config;
use sesame::ids::new_id;
use tokio::sync::oneshot;

pub use emulators::{Moto, create_secret, dynamodb_endpoint, fresh_dynamo_store, moto_endpoint};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    /// The AWS adapters: DynamoDB in DynamoDB Local, SES v2 and SNS in moto.
    Moto,
}

/// Generates one test per backend from an `async fn(Server)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                if let Some(server) = $crate::Server::start($crate::Backend::Embedded, &[]).await {
                    super::$name(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                if let Some(server) = $crate::Server::start($crate::Backend::Moto, &[]).await {
                    super::$name(server).await;
                }
            }
        }
    };
}

/// Test defaults: generous per-IP limits (every test client is 127.0.0.1) and a fixed code key.
pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    let mut all: Vec<(&str, &str)> = vec![
        ("LIMIT_SIGNUPS_PER_IP_PER_HOUR", "100000"),
        ("LIMIT_COMPLETIONS_PER_IP_PER_HOUR", "100000"),
        ("LIMIT_SMS_PER_PREFIX_PER_HOUR", "100000"),
        ("ALLOWED_ORIGINS", "https://app.example.com"),
    ];
    all.extend_from_slice(overrides);
    Config::for_tests(&all)
}

/// A dev server on a free port, stopped when dropped.
pub struct Server {
    pub base: String,
    pub backend: Backend,
    pub outbox: Option<Arc<Outbox>>,
    pub moto: Option<Moto>,
    pub app: Deps,
    pub call_log: CallLog,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    pub async fn start(backend: Backend, overrides: &[(&str, &str)]) -> Option<Self> {
        Self::start_with(backend, overrides, true).await
    }

    /// `verify_sender: false` leaves the SES sender unverified, so moto refuses to send.
    pub async fn start_with(
        backend: Backend,
        overrides: &[(&str, &str)],
        verify_sender: bool,
    ) -> Option<Self> {
        let call_log = CallLog::new();
        let (app, outbox, moto) = match backend {
            Backend::Embedded => {
                let (app, outbox) = sesame::wiring::embedded(test_config(overrides));
                (app, Some(outbox), None)
            }
            Backend::Moto => {
                let moto = Moto::new(verify_sender).await?;
                let app = sesame::wiring::aws(moto.config(overrides), Some(call_log.clone()))
                    .await
                    .expect("wired");
                (app, None, Some(moto))
            }
        };
        Some(Self::serve(app, outbox, moto, call_log, backend).await)
    }

    /// Serves an app built by the test (own clock, own notifier).
    pub async fn serve(
        app: Deps,
        outbox: Option<Arc<Outbox>>,
        moto: Option<Moto>,
        call_log: CallLog,
        backend: Backend,
    ) -> Self {
        let router = sesame_dev::router(
            app.clone(),
            outbox.clone(),
            sesame_dev::AllowedHosts::loopback(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(sesame_dev::serve(listener, router, async {
            let _ = stopped.await;
        }));
        Self {
            base,
            backend,
            outbox,
            moto,
            app,
            call_log,
            stop: Some(stop),
        }
    }

    /// A server whose clock the test moves.
    pub async fn start_with_clock(
        backend: Backend,
        overrides: &[(&str, &str)],
        clock: Arc<sesame::adapters::clock::ManualClock>,
    ) -> Option<Self> {
        let call_log = CallLog::new();
        let (mut app, outbox, moto) = match backend {
            Backend::Embedded => {
                let (app, outbox) = sesame::wiring::embedded(test_config(overrides));
                (app, Some(outbox), None)
            }
            Backend::Moto => {
                let moto = Moto::new(true).await?;
                let app = sesame::wiring::aws(moto.config(overrides), Some(call_log.clone()))
                    .await
                    .expect("wired");
                (app, None, Some(moto))
            }
        };
        app.clock = clock;
        Some(Self::serve(app, outbox, moto, call_log, backend).await)
    }

    /// A user signed up and verified through the API, and the browser signed in as them.
    pub async fn new_user(&self, tag: &str) -> (Browser, String, String) {
        let mut browser = self.browser();
        let email = unique_email(tag);
        let opened = browser.sign_up(&email).await;
        assert_eq!(opened.status, 200, "{:#}", opened.body);
        let code = self.code_for(&email).await;
        let done = browser.verify(&opened.signup_attempt_id(), &code).await;
        assert_eq!(done.status, 200, "{:#}", done.body);
        let user_id = done.body["data"]["active_signin"]["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        (browser, email, user_id)
    }

    pub fn browser(&self) -> Browser {
        Browser {
            // Like a test of a browser's requests, not of where they lead: redirects are answers.
            client: providers::no_redirects(),
            base: self.base.clone(),
            cookie: None,
        }
    }

    /// Every message sent to `to`, oldest first, from the outbox or from moto.
    pub async fn messages_to(&self, to: &str) -> Vec<String> {
        match (&self.outbox, &self.moto) {
            (Some(_), _) => {
                let list: Value = reqwest::get(format!("{}/dev/outbox", self.base))
                    .await
                    .expect("outbox")
                    .json()
                    .await
                    .expect("outbox is JSON");
                let mut texts: Vec<String> = list
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m["to"] == to)
                    .map(|m| m["body"].as_str().unwrap_or_default().to_string())
                    .collect();
                texts.reverse(); // the outbox lists newest first
                texts
            }
            (None, Some(moto)) => moto
                .messages()
                .await
                .into_iter()
                .filter(|(dest, _)| dest == to)
                .map(|(_, text)| text)
                .collect(),
            (None, None) => unreachable!("every backend records messages"),
        }
    }

    /// The code in the newest message to `to`.
    pub async fn code_for(&self, to: &str) -> String {
        let text = self
            .messages_to(to)
            .await
            .pop()
            .unwrap_or_else(|| panic!("no message to {to}"));
        code_in(&text)
    }

    /// How many items the table in DynamoDB Local holds; for "nothing was written" checks.
    pub async fn items_in_table(&self) -> usize {
        let moto = self.moto.as_ref().expect("only for the emulators");
        let out = moto
            .store(None)
            .await
            .client()
            .scan()
            .table_name(&moto.table)
            .send()
            .await
            .expect("scan");
        out.count as usize
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn code_in(text: &str) -> String {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5))
        .find(|&i| {
            bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i + 6 == bytes.len() || !bytes[i + 6].is_ascii_digit())
        })
        .map(|i| text[i..i + 6].to_string())
        .unwrap_or_else(|| panic!("no 6-digit code in {text:?}"))
}

/// An answer: status, headers and the parsed envelope.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The first error code, e.g. `"EMAIL_EXISTS"`.
    pub fn error(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or("")
    }

    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["code"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn set_cookie(&self) -> Option<&str> {
        self.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok())
    }

    /// The newest sign-in attempt's id in the session.
    pub fn signin_attempt_id(&self) -> String {
        let attempts = self.body["session"]["signin_attempts"]
            .as_array()
            .expect("attempts");
        attempts.last().expect("an attempt")["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The active signin's user id, if signed in.
    pub fn user_id(&self) -> Option<&str> {
        self.body["session"]["active_signin"]["user_id"].as_str()
    }

    /// The newest sign-up attempt's id in the session.
    pub fn signup_attempt_id(&self) -> String {
        let attempts = self.body["session"]["signup_attempts"]
            .as_array()
            .expect("attempts");
        attempts.last().expect("an attempt")["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// A client that keeps the session cookie the way a browser would (set, replace, clear).
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
}

impl Browser {
    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Answer {
        let req = self.client.post(format!("{}{path}", self.base)).json(&body);
        self.send(req).await
    }

    /// Sends any request with the cookie attached, and takes the cookie the answer sets.
    pub async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Answer {
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        if let Some(set) = headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default();
            let cleared = pair.ends_with('=') || set.contains("Max-Age=0");
            self.cookie = (!cleared).then(|| pair.to_string());
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Signs up and returns the answer; the code is then in the server's messages.
    pub async fn sign_up(&mut self, email: &str) -> Answer {
        self.post(
            "/auth/signup",
            serde_json::json!({"email": email, "password": "analytical engine"}),
        )
        .await
    }

    pub async fn sign_in(&mut self, identifier: &str, password: &str) -> Answer {
        self.post(
            "/auth/signin",
            serde_json::json!({"identifier": identifier, "password": password}),
        )
        .await
    }

    pub async fn verify_signin(&mut self, attempt_id: &str, code: &str) -> Answer {
        self.post(
            "/auth/attempt-verification",
            serde_json::json!({"signin_attempt_id": attempt_id, "code": code}),
        )
        .await
    }

    pub async fn verify(&mut self, attempt_id: &str, code: &str) -> Answer {
        self.post(
            "/auth/attempt-verification",
            serde_json::json!({"signup_attempt_id": attempt_id, "code": code}),
        )
        .await
    }
}

/// A unique address per test, so tests sharing the emulator never read each other's codes.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}.{}@example.com", &new_id("x")[2..14])
}

/// A unique E.164 number in the +1 555 range.
pub fn unique_phone() -> String {
    let n = sesame::ids::random_below(10_000_000);
    format!("+1555{n:07}")
}
