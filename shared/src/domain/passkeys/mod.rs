//! Passkeys (WebAuthn, issue 16; DESIGN section 13): registration, listing, renaming and
//! deletion under `/me/passkeys` (`manage`), and a discoverable sign-in (`signin`), on the
//! `webauthn-rs` crate (`ceremony`). The stored shapes and their pure transitions are here; both
//! stores apply them.
//!
//! The ceremony's state crosses two requests (two Lambda invocations): a registration's in a
//! single-use store item (`PendingRegistration`, expiring with `REGISTRATION_TTL`), a sign-in's in
//! its attempt (`PasskeyChallenge`), completed by a conditional write, so each challenge is used
//! at most once and dies with its attempt.

pub mod ceremony;
pub mod manage;
pub mod model;
pub mod signin;

pub use model::*;
