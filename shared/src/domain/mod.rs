//! Users, attempts, sessions, codes, passwords and validation. No AWS, no HTTP and no wiring
//! here: services receive a `Deps` of trait objects and reach the outside world only through the
//! `ports` (store, notifier, identity providers, key provider, clock). State changes live in `transitions`.

pub mod admin;
pub mod admin_change;
pub(crate) mod attempts;
pub mod caller;
pub mod change_password;
pub mod codes;
pub mod complete_profile;
pub mod complete_signup;
pub(crate) mod contact_move;
pub mod contacts;
pub mod delivery;
pub mod deps;
pub mod devices;
pub mod error;
pub mod events;
pub mod factors;
pub(crate) mod grant;
pub(crate) mod identifier;
pub mod import;
pub mod keyring;
pub(crate) mod limits;
pub mod me;
pub(crate) mod messages;
pub mod model;
pub(crate) mod notices;
pub mod oauth;
pub mod passkeys;
pub mod password;
pub mod ports;
pub mod profile_changes;
pub mod reset;
pub mod reverify;
pub mod second_factor;
pub mod session;
pub mod signin;
pub mod signup;
pub(crate) mod sms;
pub mod token;
pub mod transitions;
pub mod validation;
pub mod verification;

pub use caller::Caller;
pub use deps::Deps;
pub use error::{AuthError, ErrorCode, FieldError};
pub use limits::ATTEMPTS_PER_SESSION;
/// For every factor a user can fail (a second factor included): see `limits::AccountBudget`.
pub use limits::charge_account_failure;
