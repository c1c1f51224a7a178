//! One module per endpoint group: parse the body, call the domain, say what to answer.

pub mod admin;
pub mod admin_users;
pub mod complete_profile;
pub mod complete_signup;
pub mod devices;
pub mod me;
pub mod oauth;
pub mod passkeys;
pub mod session;
pub mod signin;
pub mod signup;
pub mod token;
pub mod two_factor;
pub mod verification;
