//! The key provider: token-signing keys in a keyring (`domain::keyring` decides which signs and
//! which are published), kept in a vault: in this process for the dev server and fast tests,
//! in the table sealed by KMS in AWS. `CachedKeys` is the provider over either.

mod cache;
mod kms_table;
mod rsa;
mod vault;

pub use cache::CachedKeys;
pub use kms_table::KmsTableVault;
pub use vault::{InProcessVault, Stored, Vault};
