//! What the domain knows of whoever is calling: their address, their session (if the presented
//! credential proved one), and what should happen to that credential when the answer goes out.
//! How the credential travels is the http layer's business (`http/credential.rs`).

use std::fmt;

use super::model::{SessionState, Timestamp};

#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// API Gateway's `requestContext.http.sourceIp` (or the dev server's peer address).
    pub ip: String,
    /// The request's `User-Agent` (at most 256 characters), recorded on the signins it is granted.
    pub user_agent: Option<String>,
    pub session: Option<SessionState>,
    /// A credential to hand out: set when a session is created or its secret rotated.
    pub issued: Option<IssuedCredential>,
    /// The presented credential is to be discarded: its session is unknown or expired, or the
    /// caller signed out of all.
    pub clear_credential: bool,
    /// A credential was presented whose session exists but whose secret no longer matches (a
    /// sign-in elsewhere rotated it, or it was copied): it proves nothing, and a sign-out with it
    /// is refused rather than answered as if it had ended something.
    pub stale_credential: bool,
}

/// The session credential is `<session_id>.<secret>`, lasting until `expires_at`.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    pub session_id: String,
    pub secret: String,
    pub expires_at: Timestamp,
}

/// Never the secret, so no log line can carry the credential.
impl fmt::Debug for IssuedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCredential")
            .field("session_id", &self.session_id)
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Caller {
    pub fn anonymous(ip: impl Into<String>) -> Self {
        Self {
            ip: ip.into(),
            ..Self::default()
        }
    }
}
