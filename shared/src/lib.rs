//! Sesame's shared crate: every Lambda binary and the dev server run the handlers in `http`,
//! which call the domain services in `domain`, which reach DynamoDB and SES/SNS only through the
//! ports in `store` and `notify`, and identity providers only through `oidc`.

pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod ids;
pub mod notify;
pub mod oidc;
pub mod store;
pub mod telemetry;

pub use app::App;
