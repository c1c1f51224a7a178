//! The key-provider port: signs tokens with the deployment's current key and lists the keys
//! verifiers accept. Adapters (`adapters::keys`) keep the private key in memory once loaded, so
//! signing makes no call after a container's first request; `now` comes from the caller's clock.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::domain::keyring::{PublicKey, Rotation};
use crate::domain::model::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The keyring could not be read, written, sealed or unsealed; the text is for the log.
    #[error("signing keys unavailable: {0}")]
    Unavailable(String),
}

/// One published key: its `kid` and RSA public members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    pub kid: String,
    pub public: PublicKey,
}

#[async_trait]
pub trait KeyProvider: Send + Sync {
    /// `claims` as an RS256 JWT (compact form) signed by the key that signs at `now`, its
    /// header naming that key's `kid`. Creates the deployment's first key if there is none.
    async fn sign(&self, claims: &Map<String, Value>, now: Timestamp) -> Result<String, KeyError>;

    /// Every key a verifier must accept at `now`, oldest first (creating the first if need be).
    async fn published(&self, now: Timestamp) -> Result<Vec<PublishedKey>, KeyError>;

    /// Stages a new key (see `keyring`): published at once, signing after the lead time. With
    /// `immediate`, the emergency form: a new key signs now and every other one is unpublished.
    async fn rotate(&self, now: Timestamp, immediate: bool) -> Result<Rotation, KeyError>;
}
