//! The OpenID Connect relying party: each configured provider's discovery document and JWKS,
//! fetched on first use and kept for the life of the container; the authorization URL (code flow
//! with PKCE, state and nonce); the code exchange with every ID token check (signature
//! against the JWKS, `iss`, `aud`, `exp`, `nonce`), done by the `openidconnect` crate; and, when
//! the ID token lacks a requested scope's claims, the UserInfo request (`claims.rs`).

mod claims;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJsonWebKeySet,
    CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    SubjectIdentifier, TokenResponse, UserInfoError,
};

use async_trait::async_trait;

use crate::config::oidc::{OidcSettings, ProviderSettings};
use crate::domain::ports::identity::{Authorization, IdentityProviders, OidcError, ProviderClaims};
use claims::{ScopeClaims, id_token_refusal, scope_claims, user_info_refusal};

/// How long a provider may take to answer one request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// An ID token signed by a key the cached JWKS lacks refetches it (keys rotate), at most this often.
const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

struct Provider {
    settings: ProviderSettings,
    metadata: RwLock<Option<Arc<CoreProviderMetadata>>>,
    jwks_refreshed_at: Mutex<Option<Instant>>,
}

pub struct Oidc {
    http: reqwest::Client,
    callback_url: Option<RedirectUrl>,
    providers: HashMap<String, Provider>,
    /// Requests made to providers, for the budget tests.
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl IdentityProviders for Oidc {
    fn has_provider(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    fn provider_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.providers.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    async fn authorize(&self, name: &str) -> Result<Authorization, OidcError> {
        self.start_authorization(name).await
    }

    async fn redeem(
        &self,
        name: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<ProviderClaims, OidcError> {
        self.exchange(name, code, pkce_verifier, nonce).await
    }
}

impl Oidc {
    pub fn new(settings: &OidcSettings) -> Self {
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer point us anywhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("the HTTP client's settings are static");
        let providers = settings
            .providers
            .iter()
            .map(|p| {
                let provider = Provider {
                    settings: p.clone(),
                    metadata: RwLock::new(None),
                    jwks_refreshed_at: Mutex::new(None),
                };
                (p.name.clone(), provider)
            })
            .collect();
        Self {
            http,
            callback_url: settings
                .callback_url
                .as_ref()
                .and_then(|u| RedirectUrl::new(u.clone()).ok()),
            providers,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    /// HTTP requests made to providers so far (discovery, JWKS, token endpoint, UserInfo).
    pub fn external_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn start_authorization(&self, name: &str) -> Result<Authorization, OidcError> {
        let provider = self.providers.get(name).ok_or(OidcError::UnknownProvider)?;
        let client = self.client(provider, self.metadata(provider).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in provider.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn exchange(
        &self,
        name: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<ProviderClaims, OidcError> {
        let provider = self.providers.get(name).ok_or(OidcError::UnknownProvider)?;
        let metadata = self.metadata(provider).await?;
        let client = self.client(provider, metadata.clone())?;
        let http = self.http_client();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Unavailable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => OidcError::Rejected(format!(
                    "the provider refused the authorization code ({})",
                    r.error()
                )),
                other => OidcError::Unavailable(format!("token endpoint: {}", chain(&other))),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Rejected("the provider sent no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());

        let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refresh_jwks(provider, &metadata).await? => {
                let client = self.client(provider, self.metadata(provider).await?)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map(|c| (c.subject().clone(), scope_claims!(c)))
            }
            other => other.map(|c| (c.subject().clone(), scope_claims!(c))),
        };
        let (subject, from_token) =
            verified.map_err(|e| OidcError::Rejected(id_token_refusal(&e)))?;
        let scope = if from_token.lacks_requested(&provider.settings.scopes) {
            let info = self
                .user_info(provider, response.access_token(), &subject)
                .await?;
            from_token.completed_by(info)
        } else {
            from_token
        };
        Ok(scope.into_provider_claims(subject.to_string()))
    }

    /// The UserInfo answer for the access token, which must be about `subject` (the verified ID
    /// token's; the crate compares them). Nothing when the provider lists no UserInfo endpoint.
    async fn user_info(
        &self,
        provider: &Provider,
        access_token: &AccessToken,
        subject: &SubjectIdentifier,
    ) -> Result<ScopeClaims, OidcError> {
        // The current metadata: its JWKS checks a signed answer.
        let metadata = self.metadata(provider).await?;
        if metadata.userinfo_endpoint().is_none() {
            return Ok(ScopeClaims::default());
        }
        let client = self.client(provider, metadata)?;
        let Ok(request) = client.user_info(access_token.clone(), Some(subject.clone())) else {
            return Ok(ScopeClaims::default());
        };
        let answer: CoreUserInfoClaims =
            request
                .request_async(&self.http_client())
                .await
                .map_err(|e| match e {
                    UserInfoError::ClaimsVerification(e) => {
                        OidcError::Rejected(user_info_refusal(&e))
                    }
                    other => OidcError::Unavailable(format!("userinfo: {}", chain(&other))),
                })?;
        Ok(scope_claims!(&answer))
    }

    fn client(
        &self,
        provider: &Provider,
        metadata: Arc<CoreProviderMetadata>,
    ) -> Result<PreparedClient, OidcError> {
        let callback = self
            .callback_url
            .clone()
            .ok_or_else(|| OidcError::Unavailable("OIDC_CALLBACK_URL is not set".into()))?;
        // client_secret_basic unless the provider only takes the secret in the body.
        let post_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|m| {
                m.contains(&CoreClientAuthMethod::ClientSecretPost)
                    && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
            });
        let s = &provider.settings;
        let client = CoreClient::from_provider_metadata(
            (*metadata).clone(),
            ClientId::new(s.client_id.clone()),
            s.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(callback);
        Ok(if post_only {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }

    /// The discovery document with its JWKS: fetched once, then kept.
    async fn metadata(&self, provider: &Provider) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        if let Some(m) = provider.metadata.read().expect("not poisoned").clone() {
            return Ok(m);
        }
        let issuer = IssuerUrl::new(provider.settings.issuer.clone())
            .map_err(|e| OidcError::Unavailable(format!("issuer URL: {e}")))?;
        let discovered = CoreProviderMetadata::discover_async(issuer, &self.http_client())
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery: {}", chain(&e))))?;
        let discovered = Arc::new(discovered);
        *provider.metadata.write().expect("not poisoned") = Some(discovered.clone());
        Ok(discovered)
    }

    /// Refetches the JWKS after a token named a key it lacks; `false` when refetched too recently.
    async fn refresh_jwks(
        &self,
        provider: &Provider,
        metadata: &CoreProviderMetadata,
    ) -> Result<bool, OidcError> {
        {
            let mut last = provider.jwks_refreshed_at.lock().expect("not poisoned");
            if last.is_some_and(|t| t.elapsed() < JWKS_REFRESH_INTERVAL) {
                return Ok(false);
            }
            *last = Some(Instant::now());
        }
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http_client())
            .await
            .map_err(|e| OidcError::Unavailable(format!("JWKS: {}", chain(&e))))?;
        let updated = Arc::new(metadata.clone().set_jwks(jwks));
        *provider.metadata.write().expect("not poisoned") = Some(updated);
        Ok(true)
    }

    /// `openidconnect`'s HTTP calls, made with our reqwest client and counted.
    fn http_client(
        &self,
    ) -> impl Fn(
        HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, reqwest::Error>> + Send>,
    > + use<> {
        let client = self.http.clone();
        let calls = self.calls.clone();
        move |request: HttpRequest| {
            let client = client.clone();
            calls.fetch_add(1, Ordering::Relaxed);
            Box::pin(send(client, request))
        }
    }
}

type PreparedClient = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn send(
    client: reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let answer = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await?.to_vec();
    let mut response = HttpResponse::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// An error with its sources, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
