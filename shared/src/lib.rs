//! Sesame's shared crate. Every Lambda binary and the dev server run the handlers in `http`,
//! which turn requests into domain types and call the services in `domain`. The domain reaches
//! DynamoDB, SES/SNS, OpenID providers and the clock only through its `domain::ports`; `adapters`
//! implement them and `wiring` (the composition root) chooses which.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod http;
pub mod ids;
pub mod send_codes;
pub mod telemetry;
pub mod wiring;

pub use domain::Deps;
