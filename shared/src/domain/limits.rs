//! Fixed limits of section 5 of the design, and the fixed-window counters behind the per-IP and
//! per-destination limits.

use sha2::{Digest, Sha256};
use time::Duration;

use super::error::AuthError;
use super::model::Timestamp;
use crate::domain::ports::store::{Charge, Hit, LimitStore};

pub const WRONG_CODES_PER_ATTEMPT: u32 = 5;
pub const SENDS_PER_ATTEMPT: u32 = 5;
pub const RESEND_COOLDOWN: Duration = Duration::seconds(30);
/// How long a sign-up or sign-in attempt stays open.
pub const ATTEMPT_TTL: Duration = Duration::hours(1);
/// A session never holds more signins than this (one per user).
pub const SIGNINS_PER_SESSION: usize = 5;
/// A session never holds more sign-up attempts than this, nor more sign-in attempts: every
/// request reads them all. A new attempt at the cap replaces the oldest of its kind.
pub const ATTEMPTS_PER_SESSION: usize = 10;

/// Profile completions (`complete-profile`, `completeSignup`) per attempt per hour: each one may
/// answer `*_EXISTS` and hash a password, so neither is free to repeat.
pub const COMPLETIONS_PER_ATTEMPT: u32 = 10;

/// Failed passwords per identifier before every answer is 429 (DESIGN section 5).
pub const PASSWORD_FAILURES: u32 = 10;
const PASSWORD_FAILURE_WINDOW: i64 = 15 * 60;

const HOUR: i64 = 3600;

/// A limit: at most `max` events per `window_secs` for one subject.
#[derive(Clone, Debug)]
pub struct Limit {
    pub key: String,
    pub max: u32,
    pub window_secs: i64,
}

impl Limit {
    pub fn signups_per_ip(ip: &str, max: u32) -> Self {
        Self {
            key: format!("signup-ip:{ip}"),
            max,
            window_secs: HOUR,
        }
    }

    pub fn signins_per_ip(ip: &str, max: u32) -> Self {
        Self {
            key: format!("signin-ip:{ip}"),
            max,
            window_secs: HOUR,
        }
    }

    /// Profile completions from one source IP, across attempts.
    pub fn completions_per_ip(ip: &str, max: u32) -> Self {
        Self {
            key: format!("complete-ip:{ip}"),
            max,
            window_secs: HOUR,
        }
    }

    /// Profile completions of one attempt.
    pub fn completions_per_attempt(attempt_id: &str) -> Self {
        Self {
            key: format!("complete-attempt:{attempt_id}"),
            max: COMPLETIONS_PER_ATTEMPT,
            window_secs: HOUR,
        }
    }

    /// SMS to all numbers under one allowed calling-code prefix (`+44`): the ceiling on SMS
    /// pumping, which spreads sends over many numbers of a costly range.
    pub fn sms_per_prefix(prefix: &str, max: u32) -> Self {
        Self {
            key: format!("sms-prefix:{prefix}"),
            max,
            window_secs: HOUR,
        }
    }

    /// Destinations are hashed so a counter item does not hold an address.
    pub fn sends_per_destination(destination: &str, max: u32) -> Self {
        Self {
            key: format!("send-dest:{}", digest(destination)),
            max,
            window_secs: HOUR,
        }
    }

    /// Sign-in codes for one identifier (hashed), charged whether or not it names an account.
    pub fn codes_per_identifier(identifier_key: &str, max: u32) -> Self {
        Self {
            key: format!("send-id:{}", digest(identifier_key)),
            max,
            window_secs: HOUR,
        }
    }

    /// Failed passwords for one identifier (hashed, like destinations). A try is reserved before
    /// the password is checked and given back when it was right, so parallel guesses get no
    /// more evaluations than sequential ones.
    pub fn password_failures(identifier_key: &str) -> Self {
        Self {
            key: format!("password:{}", digest(identifier_key)),
            max: PASSWORD_FAILURES,
            window_secs: PASSWORD_FAILURE_WINDOW,
        }
    }

    /// The end of the fixed window `now` falls in.
    pub fn window_ends(&self, now: Timestamp) -> Timestamp {
        let t = now.unix_timestamp();
        let end = t - t.rem_euclid(self.window_secs) + self.window_secs;
        Timestamp::from_unix_timestamp(end).expect("window end is in range")
    }

    /// Counts one event; `RateLimited` with the seconds until the window ends once it is full.
    pub async fn check(&self, store: &dyn LimitStore, now: Timestamp) -> Result<(), AuthError> {
        match store
            .hit(&self.key, self.window_ends(now), self.max)
            .await?
        {
            Hit::Allowed => Ok(()),
            Hit::Limited { window_ends } => Err(AuthError::RateLimited {
                retry_after_secs: seconds_until(now, window_ends),
            }),
        }
    }

    /// This limit as a charge a store write makes in the same transaction.
    pub fn charge(&self, now: Timestamp) -> Charge<'_> {
        Charge {
            key: &self.key,
            window_ends: self.window_ends(now),
            max: self.max,
        }
    }

    /// Gives back the event `check` counted at `now`.
    pub async fn release(&self, store: &dyn LimitStore, now: Timestamp) -> Result<(), AuthError> {
        Ok(store.release(&self.key, self.window_ends(now)).await?)
    }
}

fn digest(value: &str) -> String {
    hex::encode(&Sha256::digest(value.as_bytes())[..16])
}

/// Whole seconds from `now` to `then`, at least 1 (a `Retry-After: 0` invites a busy loop).
pub fn seconds_until(now: Timestamp, then: Timestamp) -> u64 {
    (then - now).whole_seconds().max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn when_now_is_inside_an_hour_the_window_ends_at_the_next_hour() {
        let limit = Limit::signups_per_ip("198.51.100.7", 3);
        assert_eq!(
            limit.window_ends(datetime!(2026-01-01 10:15:30 UTC)),
            datetime!(2026-01-01 11:00:00 UTC)
        );
        assert_eq!(
            limit.window_ends(datetime!(2026-01-01 11:00:00 UTC)),
            datetime!(2026-01-01 12:00:00 UTC)
        );
    }

    #[test]
    fn when_a_destination_is_limited_its_key_does_not_hold_the_address() {
        let limit = Limit::sends_per_destination("ada@example.com", 10);
        assert!(!limit.key.contains("ada"));
        assert_ne!(
            limit.key,
            Limit::sends_per_destination("bob@example.com", 10).key
        );
    }
}
