//! Reverification: a sensitive operation (`DELETE /me`, a password or contact change) needs the
//! active signin to have proven a factor within `REVERIFY_MINUTES` (`Signin::verified_at`, set at
//! the grant and refreshed by `POST /auth/reverify`).

use super::caller::Caller;
use super::error::AuthError;
use super::model::{Signin, Timestamp};
use crate::domain::Deps;

/// The caller's active signin, provided it proved a factor recently enough; else
/// `ReverificationRequired` (or `Unauthenticated` without a signin).
pub fn require_recent<'a>(deps: &Deps, caller: &'a Caller) -> Result<&'a Signin, AuthError> {
    let signin = caller
        .session
        .as_ref()
        .and_then(|s| s.active_signin())
        .ok_or(AuthError::Unauthenticated)?;
    if is_recent(signin, deps.clock.now(), deps.config.reverify) {
        Ok(signin)
    } else {
        Err(AuthError::ReverificationRequired)
    }
}

/// Whether the signin proved a factor less than `window` before `now`.
pub fn is_recent(signin: &Signin, now: Timestamp, window: time::Duration) -> bool {
    now < signin.verified_at + window
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};

    fn signin(verified_at: Timestamp) -> Signin {
        Signin {
            id: "sin_1".into(),
            session_id: "sess_1".into(),
            user_id: "usr_1".into(),
            created_at: verified_at,
            expires_at: verified_at + Duration::days(30),
            last_active_at: verified_at,
            verified_at,
            user_agent: None,
            ip: None,
        }
    }

    #[test]
    fn a_factor_counts_for_the_window_and_not_a_second_longer() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let window = Duration::minutes(10);
        let s = signin(t);
        assert!(is_recent(&s, t, window));
        assert!(is_recent(&s, t + window - Duration::seconds(1), window));
        assert!(!is_recent(&s, t + window, window));
        assert!(!is_recent(&s, t + Duration::days(1), window));
    }
}
