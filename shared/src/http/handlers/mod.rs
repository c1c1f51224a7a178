//! One module per endpoint group: parse the body, call the domain, say what to answer.

pub mod session;
pub mod signup;
pub mod verification;
