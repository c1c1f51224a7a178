//! What the domain knows of whoever is calling: their address, their session (if the cookie
//! proved one), and what should happen to their cookie when the answer goes out.

use super::model::{SessionState, Timestamp};

#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// API Gateway's `requestContext.http.sourceIp` (or the dev server's peer address).
    pub ip: String,
    pub session: Option<SessionState>,
    /// A cookie to hand out: set when a session is created or its secret rotated.
    pub issued: Option<IssuedCookie>,
    /// The presented cookie proves nothing (unknown, wrong secret, expired): drop it.
    pub clear_cookie: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCookie {
    pub session_id: String,
    pub secret: String,
    pub expires_at: Timestamp,
}

impl Caller {
    pub fn anonymous(ip: impl Into<String>) -> Self {
        Self {
            ip: ip.into(),
            ..Self::default()
        }
    }
}
