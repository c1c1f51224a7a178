//! Everything a domain service may use: the settings and one trait object per port. Built once
//! per container (or dev server) by `crate::wiring` and shared by every request.

use std::sync::Arc;

use super::ports::{Clock, CodeQueue, IdentityProviders, KeyProvider, Notifier, Store};
use crate::config::Config;

#[derive(Clone)]
pub struct Deps {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
    /// In AWS, the queue sign-in codes go through (`CODE_QUEUE_URL`); `None` in the dev server,
    /// where they go straight to the notifier.
    pub queue: Option<Arc<dyn CodeQueue>>,
    pub clock: Arc<dyn Clock>,
    /// The OpenID providers, their discovery documents and keys cached for the container's life.
    pub identity: Arc<dyn IdentityProviders>,
    /// The token-signing keys, loaded (and unsealed) once per container.
    pub keys: Arc<dyn KeyProvider>,
}
