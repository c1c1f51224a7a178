//! What the domain needs from the outside world, as traits. Adapters (`crate::adapters`)
//! implement them; the composition root (`crate::wiring`) picks which and hands the domain a
//! `Deps` of trait objects.

pub mod checks;
pub mod clock;
pub mod identity;
pub mod keys;
pub mod notifier;
pub mod outcomes;
pub mod passkeys;
pub mod store;

pub use clock::Clock;
pub use identity::{IdentityProviders, OidcError, ProviderClaims};
pub use keys::{KeyError, KeyProvider, PublishedKey};
pub use notifier::{CodeQueue, DeliveryError, Message, Notifier, Outgoing, QueueError, SentCode};
pub use store::{Store, StoreError};
