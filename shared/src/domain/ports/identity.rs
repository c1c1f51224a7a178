//! The identity-provider port: OpenID Connect providers as the domain sees them. The adapter
//! (`adapters::oidc`) does discovery, PKCE, every ID token check and, when the ID token lacks
//! the scope claims, the UserInfo request.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("no such provider")]
    UnknownProvider,
    /// The provider refused, or its answer failed a check. The text is safe to show.
    #[error("{0}")]
    Rejected(String),
    /// The provider could not be reached or answered nonsense. The text is for the log.
    #[error("{0}")]
    Unavailable(String),
}

/// What `init` keeps server-side and what it sends the browser to.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The verified ID token's claims that Sesame uses, completed from UserInfo where it lacked them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderClaims {
    pub subject: String,
    pub email: Option<String>,
    /// Only a provider's explicit `email_verified: true` counts.
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
}

#[async_trait]
pub trait IdentityProviders: Send + Sync {
    fn has_provider(&self, name: &str) -> bool;

    /// The configured provider names, sorted.
    fn provider_names(&self) -> Vec<String>;

    /// A fresh authorization request: the provider's URL with state, nonce and PKCE challenge.
    async fn authorize(&self, name: &str) -> Result<Authorization, OidcError>;

    /// Exchanges the code (with the PKCE verifier), verifies the ID token it brings, and asks
    /// UserInfo (about the same `sub`) for requested scope claims the ID token lacks.
    async fn redeem(
        &self,
        name: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<ProviderClaims, OidcError>;
}
