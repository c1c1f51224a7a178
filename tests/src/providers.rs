//! OpenID providers for the OAuth tests.
//!
//! - [`OidcMock`]: the real provider process (`oidc-provider-mock` from PyPI) the README's test
//!   command starts, found through `OIDC_ENDPOINT`. Users and their claims are set with
//!   `PUT /users/{sub}`; signing in is a `POST` of `sub` to the authorization URL.
//! - [`TestProvider`]: a provider served in-process whose ID tokens the test writes, so it can
//!   sign one with a key its JWKS does not publish, or get the nonce or audience wrong. Its
//!   UserInfo endpoint answers what the test sets, so it can act as a provider that releases
//!   the `email` and `profile` claims only there (OpenID Connect Core 5.4). It also records the
//!   PKCE verifier and the access token it receives and counts every request. Keys come from
//!   the `openssl` command line.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::header::ACCEPT;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Answer, Browser};

/// The mock provider's address, or `None` (skip) outside CI.
pub fn oidc_endpoint() -> Option<String> {
    match std::env::var("OIDC_ENDPOINT") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("OIDC_ENDPOINT is not set: under CI=true the OAuth tests must run, not skip")
        }
        _ => {
            eprintln!("OIDC_ENDPOINT is not set: skipping an OAuth test (run ./scripts/test)");
            None
        }
    }
}

/// Where the tests' providers send the browser back to. Nothing listens there: the test reads
/// the code and state from the provider's redirect and calls the server itself.
pub const CALLBACK_URL: &str = "http://sesame.test/auth/oauth2/callback";
/// The one frontend URL the test servers allow.
pub const APP_REDIRECT: &str = "https://app.example.com/signed-in";

/// The settings that point a test server at a provider named `name` at `issuer`.
pub fn settings(name: &str, issuer: &str) -> Vec<(String, String)> {
    let providers = json!([{
        "name": name,
        "issuer": issuer,
        "client_id": "sesame-test",
        "client_secret": "sesame-test-secret",
    }]);
    vec![
        ("OIDC_PROVIDERS".into(), providers.to_string()),
        ("OIDC_CALLBACK_URL".into(), CALLBACK_URL.into()),
        ("ALLOWED_REDIRECT_URIS".into(), APP_REDIRECT.into()),
    ]
}

pub struct OidcMock {
    pub endpoint: String,
    http: reqwest::Client,
}

impl OidcMock {
    pub fn new() -> Option<Self> {
        Some(Self {
            endpoint: oidc_endpoint()?,
            http: no_redirects(),
        })
    }

    /// Creates or replaces the provider's user `sub` with these claims.
    pub async fn set_user(&self, sub: &str, claims: Value) {
        let res = self
            .http
            .put(format!("{}/users/{sub}", self.endpoint))
            .json(&claims)
            .send()
            .await
            .expect("the mock provider answers");
        assert_eq!(res.status().as_u16(), 204, "PUT /users/{sub}");
    }

    /// Signs `sub` in at the authorization URL; returns the query the provider redirected to
    /// the callback with (`code` and `state`, or `error`).
    pub async fn authorize(&self, oauth_url: &str, sub: &str) -> String {
        self.submit(oauth_url, &[("sub", sub)]).await
    }

    async fn submit(&self, oauth_url: &str, form: &[(&str, &str)]) -> String {
        let res = self
            .http
            .post(oauth_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .expect("the mock provider answers");
        assert_eq!(res.status().as_u16(), 302, "the provider redirects back");
        callback_query(res.headers())
    }
}

pub async fn get_json(browser: &mut Browser, path_and_query: &str) -> Answer {
    let req = browser
        .client
        .get(format!("{}{path_and_query}", browser.base))
        .header(ACCEPT, "application/json");
    browser.send(req).await
}

pub async fn get_html(browser: &mut Browser, path_and_query: &str) -> Answer {
    let req = browser
        .client
        .get(format!("{}{path_and_query}", browser.base))
        .header(ACCEPT, "text/html");
    browser.send(req).await
}

pub fn init_path(provider: &str, redirect_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("provider", provider)
        .append_pair("redirect_uri", redirect_uri)
        .finish();
    format!("/auth/oauth2/init?{query}")
}

/// `init` as a single-page app calls it: the provider URL comes back in the envelope.
pub async fn oauth_url(browser: &mut Browser) -> String {
    let started = get_json(browser, &init_path("mock", APP_REDIRECT)).await;
    assert_eq!(started.status, 200, "{:#}", started.body);
    started.body["data"]["oauth_url"]
        .as_str()
        .expect("oauth_url")
        .to_string()
}

/// The whole flow for `sub`: init, sign in at the provider, callback (answered as JSON).
pub async fn sign_in(browser: &mut Browser, mock: &OidcMock, sub: &str) -> Answer {
    let url = oauth_url(browser).await;
    let query = mock.authorize(&url, sub).await;
    get_json(browser, &format!("/auth/oauth2/callback?{query}")).await
}

/// The query of a redirect to [`CALLBACK_URL`].
pub fn callback_query(headers: &reqwest::header::HeaderMap) -> String {
    let location = headers["location"].to_str().expect("ASCII location");
    let url = url::Url::parse(location).expect("an absolute location");
    assert_eq!(
        url.as_str().split('?').next(),
        Some(CALLBACK_URL),
        "back to Sesame's callback"
    );
    url.query().unwrap_or_default().to_string()
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// An RSA key made by `openssl`, able to sign a JWT and show itself as a JWK.
pub struct RsaKey {
    pem: PathBuf,
    pub kid: String,
    modulus: Vec<u8>,
}

impl RsaKey {
    pub fn generate(kid: &str) -> Self {
        let pem = std::env::temp_dir().join(format!("{}.pem", sesame::ids::new_id("sesame-key")));
        let made = Command::new("openssl")
            .args(["genrsa", "-traditional", "-out"])
            .arg(&pem)
            .arg("2048")
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed");
        assert!(made.success(), "openssl genrsa");
        let out = Command::new("openssl")
            .args(["rsa", "-noout", "-modulus", "-in"])
            .arg(&pem)
            .output()
            .expect("openssl rsa");
        let text = String::from_utf8(out.stdout).expect("ASCII");
        let hex = text.trim().trim_start_matches("Modulus=");
        Self {
            pem,
            kid: kid.to_string(),
            modulus: hex::decode(hex).expect("hex modulus"),
        }
    }

    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": B64.encode(&self.modulus), "e": "AQAB",
        })
    }

    /// An RS256 JWT of `claims`, naming `kid` in its header.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.pem)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("openssl dgst");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("signature");
        assert!(out.status.success(), "openssl dgst");
        format!("{input}.{}", B64.encode(out.stdout))
    }
}

impl Drop for RsaKey {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pem);
    }
}

/// The ID token the next token request gets: its claims, and which key signs it.
pub struct NextToken {
    pub claims: Value,
    /// `true`: the published key; `false`: a key of the same `kid` that the JWKS lacks.
    pub published_key: bool,
}

#[derive(Default)]
pub struct Seen {
    pub discovery: usize,
    pub jwks: usize,
    pub token: usize,
    pub userinfo: usize,
    /// The `code_verifier` of the last token request.
    pub code_verifier: Option<String>,
    /// The `Authorization` header of the last UserInfo request.
    pub userinfo_authorization: Option<String>,
}

/// The access token the token endpoint issues.
pub const ACCESS_TOKEN: &str = "test-access-token";

struct Shared {
    issuer: String,
    published: RsaKey,
    forged: RsaKey,
    next: Mutex<Option<NextToken>>,
    /// What UserInfo answers (`None`: a 500).
    user_info: Mutex<Option<Value>>,
    seen: Mutex<Seen>,
}

/// An in-process provider whose ID tokens the test writes.
pub struct TestProvider {
    pub issuer: String,
    shared: Arc<Shared>,
}

impl TestProvider {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            published: RsaKey::generate("key-1"),
            forged: RsaKey::generate("key-1"),
            next: Mutex::new(None),
            user_info: Mutex::new(None),
            seen: Mutex::new(Seen::default()),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { issuer, shared }
    }

    /// Standard claims for this provider and client, valid for an hour, with `nonce`.
    pub fn claims(&self, sub: &str, nonce: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "iss": self.issuer, "aud": "sesame-test", "sub": sub, "nonce": nonce,
            "iat": now, "exp": now + 3600,
            "email": format!("{sub}@example.com"), "email_verified": true,
            "given_name": "Grace", "family_name": "Hopper",
        })
    }

    /// An ID token as a provider releasing the scope claims only from UserInfo writes it: `sub`
    /// and the protocol claims, no `email`, `email_verified` or names.
    pub fn protocol_claims(&self, sub: &str, nonce: &str) -> Value {
        let mut claims = self.claims(sub, nonce);
        let map = claims.as_object_mut().expect("an object");
        for scope_claim in ["email", "email_verified", "given_name", "family_name"] {
            map.remove(scope_claim);
        }
        claims
    }

    /// What the UserInfo endpoint answers from now on (`None`: `500`).
    pub fn user_info(&self, claims: Option<Value>) {
        *self.shared.user_info.lock().unwrap() = claims;
    }

    /// The claims of the token last set, with another nonce (the same user signing in again).
    pub fn last_claims_with_nonce(&self, nonce: &str) -> Value {
        let next = self.shared.next.lock().unwrap();
        let mut claims = next.as_ref().expect("a token was set").claims.clone();
        claims["nonce"] = json!(nonce);
        claims
    }

    pub fn next_token(&self, next: NextToken) {
        *self.shared.next.lock().unwrap() = Some(next);
    }

    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.shared.seen.lock().unwrap())
    }
}

/// `BASE64URL(SHA256(verifier))`, the S256 PKCE challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

async fn discovery(State(s): State<Arc<Shared>>) -> axum::Json<Value> {
    s.seen.lock().unwrap().discovery += 1;
    let i = &s.issuer;
    axum::Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(s): State<Arc<Shared>>) -> axum::Json<Value> {
    s.seen.lock().unwrap().jwks += 1;
    axum::Json(json!({"keys": [s.published.jwk()]}))
}

async fn token(State(s): State<Arc<Shared>>, body: bytes::Bytes) -> axum::Json<Value> {
    let verifier = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "code_verifier")
        .map(|(_, v)| v.into_owned());
    {
        let mut seen = s.seen.lock().unwrap();
        seen.token += 1;
        seen.code_verifier = verifier;
    }
    // The token stays set, so parallel exchanges all get one.
    let (claims, published_key) = {
        let next = s.next.lock().unwrap();
        let next = next.as_ref().expect("the test set the next token");
        (next.claims.clone(), next.published_key)
    };
    let key = if published_key {
        &s.published
    } else {
        &s.forged
    };
    axum::Json(json!({
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": key.sign(&s.published.kid, &claims),
    }))
}

async fn userinfo(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, StatusCode> {
    {
        let mut seen = s.seen.lock().unwrap();
        seen.userinfo += 1;
        seen.userinfo_authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
    }
    let answer = s.user_info.lock().unwrap().clone();
    answer
        .map(axum::Json)
        .ok_or(StatusCode::INTERNAL_SERVER_ERROR)
}
