//! `CachedKeys`: the key provider over any vault. A container reads the keyring on its first
//! request and again only when its copy is `REFRESH` old, and unseals a private key once, the
//! first time that key signs; signing itself makes no call.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::rsa;
use super::vault::{Stored, Vault};
use crate::domain::keyring::{KeyEntry, Keyring, MAX_STALE, REFRESH, Rotation};
use crate::domain::model::Timestamp;
use crate::domain::ports::{KeyError, KeyProvider, PublishedKey};

pub struct CachedKeys<V> {
    vault: V,
    cache: Mutex<Cache>,
}

/// A key this container generated and stored, ready to sign: `(kid, signer)`.
type Signers = Option<(String, Arc<rsa::Signer>)>;

#[derive(Default)]
struct Cache {
    keyring: Option<Keyring>,
    loaded_at: Option<Timestamp>,
    signers: HashMap<String, Arc<rsa::Signer>>,
}

impl<V: Vault> CachedKeys<V> {
    pub fn new(vault: V) -> Self {
        Self {
            vault,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The keyring as of at most `REFRESH` ago, created if the deployment has none. A failed
    /// refresh keeps the copy in hand (signing stays up) until it is `MAX_STALE` old.
    async fn keyring(&self, cache: &mut Cache, now: Timestamp) -> Result<Keyring, KeyError> {
        let fresh = cache.loaded_at.is_some_and(|at| now < at + REFRESH);
        if let (true, Some(ring)) = (fresh, &cache.keyring) {
            return Ok(ring.clone());
        }
        match self.load_or_create(now).await {
            Ok((ring, created)) => {
                cache.signers.extend(created);
                cache.keyring = Some(ring.clone());
                cache.loaded_at = Some(now);
                Ok(ring)
            }
            Err(e) => match &cache.keyring {
                Some(ring) if cache.loaded_at.is_some_and(|at| now < at + MAX_STALE) => {
                    tracing::warn!(error = %e, "keyring refresh failed; keeping the copy in hand");
                    Ok(ring.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// Parallel cold starts may all find no keyring; the conditional write lets one key win and
    /// the others read it. The winner also gets its new key's signer, so it never unseals it.
    async fn load_or_create(&self, now: Timestamp) -> Result<(Keyring, Signers), KeyError> {
        if let Some(ring) = self.vault.load().await? {
            return Ok((ring, None));
        }
        let (entry, signer) = self.new_entry(now).await?;
        let first = Keyring::first(entry, now);
        match self.vault.store(&first).await? {
            Stored::Written => {
                let kid = first.keys[0].kid.clone();
                Ok((first, Some((kid, signer))))
            }
            Stored::Conflict => {
                let ring = self.vault.load().await?.ok_or_else(|| {
                    KeyError::Unavailable("keyring write conflicted but none is stored".into())
                })?;
                Ok((ring, None))
            }
        }
    }

    /// A generated key, sealed, and its signer (from the plaintext in hand).
    async fn new_entry(&self, now: Timestamp) -> Result<(KeyEntry, Arc<rsa::Signer>), KeyError> {
        let key = tokio::task::spawn_blocking(rsa::generate)
            .await
            .map_err(|e| KeyError::Unavailable(format!("key generation: {e}")))??;
        let sealed = self.vault.seal(&key.kid, &key.pkcs8).await?;
        let signer = Arc::new(rsa::signer(&key.kid, &key.pkcs8)?);
        let entry = KeyEntry {
            kid: key.kid,
            created_at: now,
            signs_from: now,
            public: key.public,
            sealed,
        };
        Ok((entry, signer))
    }

    async fn signer(
        &self,
        cache: &mut Cache,
        entry: &KeyEntry,
    ) -> Result<Arc<rsa::Signer>, KeyError> {
        if let Some(signer) = cache.signers.get(&entry.kid) {
            return Ok(signer.clone());
        }
        let pkcs8 = self.vault.unseal(&entry.kid, &entry.sealed).await?;
        let signer = Arc::new(rsa::signer(&entry.kid, &pkcs8)?);
        cache.signers.insert(entry.kid.clone(), signer.clone());
        Ok(signer)
    }
}

#[async_trait]
impl<V: Vault> KeyProvider for CachedKeys<V> {
    async fn sign(&self, claims: &Map<String, Value>, now: Timestamp) -> Result<String, KeyError> {
        let signer = {
            let mut cache = self.cache.lock().await;
            let ring = self.keyring(&mut cache, now).await?;
            let entry = ring
                .signing_key(now)
                .ok_or_else(|| KeyError::Unavailable("the keyring is empty".into()))?;
            self.signer(&mut cache, entry).await?
        };
        rsa::sign(claims, &signer)
    }

    async fn published(&self, now: Timestamp) -> Result<Vec<PublishedKey>, KeyError> {
        let mut cache = self.cache.lock().await;
        let ring = self.keyring(&mut cache, now).await?;
        Ok(ring
            .published(now)
            .into_iter()
            .map(|k| PublishedKey {
                kid: k.kid.clone(),
                public: k.public.clone(),
            })
            .collect())
    }

    async fn rotate(&self, now: Timestamp, immediate: bool) -> Result<Rotation, KeyError> {
        let mut cache = self.cache.lock().await;
        let (current, created) = self.load_or_create(now).await?;
        cache.signers.extend(created);
        if let (false, Some(pending)) = (immediate, current.pending(now)) {
            return Ok(Rotation::AlreadyPending {
                kid: pending.kid.clone(),
                signs_from: pending.signs_from,
            });
        }
        let (entry, signer) = self.new_entry(now).await?;
        let kid = entry.kid.clone();
        let rotation = if immediate {
            current.replace(entry, now)
        } else {
            current.rotate(entry, now)
        };
        let written = match &rotation {
            Rotation::Staged(ring) | Rotation::Replaced { keyring: ring, .. } => Some(ring),
            Rotation::AlreadyPending { .. } => None,
        };
        if let Some(ring) = written {
            if self.vault.store(ring).await? == Stored::Conflict {
                return Err(KeyError::Unavailable(
                    "another rotation changed the keyring; read it and try again".into(),
                ));
            }
            cache
                .signers
                .retain(|k, _| ring.keys.iter().any(|e| &e.kid == k));
            cache.signers.insert(kid, signer);
            cache.keyring = Some(ring.clone());
            cache.loaded_at = Some(now);
        }
        Ok(rotation)
    }
}
