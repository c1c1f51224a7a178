//! A client that keeps its session credential the way a native app in header mode does (DESIGN
//! section 10): it sends `X-Session-Mode: header` and `Authorization: Bearer <token>`, and takes
//! the token from `X-Session-Token` (an empty value: discard it). It never keeps a cookie, and
//! every answer it gets is checked to set none.

use reqwest::header::{AUTHORIZATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::{Answer, Server, providers};

pub const SESSION_MODE: &str = "x-session-mode";
pub const SESSION_TOKEN: &str = "x-session-token";

#[derive(Clone)]
pub struct NativeApp {
    pub client: reqwest::Client,
    pub base: String,
    /// The credential, `<session id>.<secret>`, as the last `X-Session-Token` gave it.
    pub token: Option<String>,
    /// Whether requests say `X-Session-Mode: header`; a bearer credential alone also selects
    /// header mode.
    pub ask_header_mode: bool,
}

impl Server {
    pub fn native_app(&self) -> NativeApp {
        NativeApp {
            client: providers::no_redirects(),
            base: self.base.clone(),
            token: None,
            ask_header_mode: true,
        }
    }
}

impl Answer {
    /// `X-Session-Token`: `Some("")` is the instruction to discard the credential.
    pub fn session_token(&self) -> Option<&str> {
        self.headers
            .get(SESSION_TOKEN)
            .map(|v| v.to_str().expect("ASCII token"))
    }
}

impl NativeApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.client.get(self.url(path));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Answer {
        let req = self.client.post(self.url(path)).json(&body);
        self.send(req).await
    }

    pub async fn patch(&mut self, path: &str, body: Value) -> Answer {
        let req = self.client.patch(self.url(path)).json(&body);
        self.send(req).await
    }

    /// Sends any request with the mode header and the bearer credential, and takes the token the
    /// answer gives (or drops it when the answer's token is empty).
    pub async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Answer {
        if self.ask_header_mode {
            req = req.header(SESSION_MODE, "header");
        }
        if let Some(token) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
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
        assert!(
            headers.get(SET_COOKIE).is_none(),
            "a header-mode answer set a cookie: {headers:?}"
        );
        let answer = Answer {
            status,
            headers,
            body,
        };
        if let Some(token) = answer.session_token() {
            self.token = (!token.is_empty()).then(|| token.to_string());
        }
        answer
    }

    pub async fn sign_up(&mut self, email: &str) -> Answer {
        self.post(
            "/auth/signup",
            json!({"email": email, "password": "analytical engine"}),
        )
        .await
    }

    pub async fn sign_in(&mut self, identifier: &str, password: &str) -> Answer {
        self.post(
            "/auth/signin",
            json!({"identifier": identifier, "password": password}),
        )
        .await
    }

    pub async fn verify(&mut self, attempt_id: &str, code: &str) -> Answer {
        self.post(
            "/auth/attempt-verification",
            json!({"signup_attempt_id": attempt_id, "code": code}),
        )
        .await
    }
}
