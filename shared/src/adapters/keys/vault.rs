//! Where a keyring is kept and how its private keys are sealed. The cache (`CachedKeys`) does
//! the rest the same way for every vault.

use std::sync::Mutex;

use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::domain::keyring::{Keyring, SealedKey};
use crate::domain::ports::KeyError;

#[derive(Debug, PartialEq, Eq)]
pub enum Stored {
    Written,
    /// Another writer got there first: read the keyring again.
    Conflict,
}

#[async_trait]
pub trait Vault: Send + Sync {
    async fn load(&self) -> Result<Option<Keyring>, KeyError>;
    /// Writes `keyring` only over the version before it (none, for version 1).
    async fn store(&self, keyring: &Keyring) -> Result<Stored, KeyError>;
    async fn seal(&self, kid: &str, pkcs8: &[u8]) -> Result<SealedKey, KeyError>;
    async fn unseal(&self, kid: &str, sealed: &SealedKey) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}

/// The dev server's and fast tests' vault: the keyring lives in this process only, so tokens
/// stop verifying when it restarts. Sealing is base64 (the key never leaves the process).
#[derive(Default)]
pub struct InProcessVault {
    keyring: Mutex<Option<Keyring>>,
}

#[async_trait]
impl Vault for InProcessVault {
    async fn load(&self) -> Result<Option<Keyring>, KeyError> {
        Ok(self
            .keyring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    async fn store(&self, keyring: &Keyring) -> Result<Stored, KeyError> {
        let mut stored = self.keyring.lock().unwrap_or_else(|e| e.into_inner());
        let current = stored.as_ref().map_or(0, |k| k.version);
        if current + 1 != keyring.version {
            return Ok(Stored::Conflict);
        }
        *stored = Some(keyring.clone());
        Ok(Stored::Written)
    }

    async fn seal(&self, _kid: &str, pkcs8: &[u8]) -> Result<SealedKey, KeyError> {
        use base64::Engine;
        Ok(SealedKey(
            base64::engine::general_purpose::STANDARD.encode(pkcs8),
        ))
    }

    async fn unseal(&self, _kid: &str, sealed: &SealedKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&sealed.0)
            .map(Zeroizing::new)
            .map_err(|e| KeyError::Unavailable(format!("unseal: {e}")))
    }
}
