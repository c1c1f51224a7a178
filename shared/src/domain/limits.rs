//! Fixed limits of section 5 of the design, the fixed-window counters behind the per-IP and
//! per-destination limits, and each account's guessing budget (`AccountBudget`).

use sha2::{Digest, Sha256};
use time::Duration;

use super::Deps;
use super::delivery;
use super::error::AuthError;
use super::model::Timestamp;
use super::notices::{self, Notice};
use crate::domain::ports::store::{Charge, Gate, Hit, LimitStore};

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
/// The account failure budget's window (`LIMIT_ACCOUNT_FAILURES_PER_DAY`).
const DAY: i64 = 24 * HOUR;

/// An id no user can have (ids are `usr_` and 32 hex digits): what an unknown identifier's path
/// reads instead of a user, so it makes the same calls as a known one.
pub(crate) const NO_SUCH_USER: &str = "usr_none";

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

    /// Failed guesses (codes and passwords, every identifier and factor together) against one
    /// account per day; an identifier naming no account has its own, so both answer alike.
    pub fn account_failures(account: &Account<'_>, max: u32) -> Self {
        Self {
            key: account.key("account"),
            max,
            window_secs: DAY,
        }
    }

    /// At most one "sign-in paused" notice per account and budget window.
    fn account_notice(account: &Account<'_>) -> Self {
        Self {
            key: account.key("account-notice"),
            max: 1,
            window_secs: DAY,
        }
    }

    /// This limit as a condition a write checks (without charging it): the window has room.
    pub fn gate(&self, now: Timestamp) -> Gate {
        Gate {
            key: self.key.clone(),
            window_ends: self.window_ends(now),
            max: self.max,
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

/// Whose budget a failed guess is charged to.
#[derive(Clone, Copy, Debug)]
pub enum Account<'a> {
    /// A user's id.
    User(&'a str),
    /// An identifier that names no account (its claim key, hashed in the counter's key).
    Unknown(&'a str),
}

impl Account<'_> {
    fn key(&self, what: &str) -> String {
        match self {
            Account::User(id) => format!("{what}:{id}"),
            Account::Unknown(identifier) => format!("{what}-id:{}", digest(identifier)),
        }
    }
}

/// One account's guessing budget: `LIMIT_ACCOUNT_FAILURES_PER_DAY` failed codes and passwords,
/// over every identifier, factor and route. A guess is reserved before it is checked (or charged
/// in the same round trip as the attempt's own count) and given back only when it was right, so
/// parallel guesses get no more answers than sequential ones. At the cap every guess waits (`429`
/// with `Retry-After`) and the user is told once per window.
pub struct AccountBudget {
    limit: Limit,
    notice: Limit,
    user_id: Option<String>,
}

impl AccountBudget {
    pub fn new(deps: &Deps, account: Account<'_>) -> Self {
        Self {
            limit: Limit::account_failures(&account, deps.config.limits.account_failures_per_day),
            notice: Limit::account_notice(&account),
            user_id: match account {
                Account::User(id) => Some(id.to_string()),
                Account::Unknown(_) => None,
            },
        }
    }

    pub fn limit(&self) -> &Limit {
        &self.limit
    }

    /// Counts one failed (or not yet checked) guess; at the cap, `RateLimited` and the notice.
    pub async fn reserve(&self, deps: &Deps, now: Timestamp) -> Result<(), AuthError> {
        let store = deps.store.as_ref();
        match store
            .hit(&self.limit.key, self.limit.window_ends(now), self.limit.max)
            .await?
        {
            Hit::Allowed => Ok(()),
            Hit::Limited { window_ends } => {
                self.paused(deps, now).await?;
                Err(AuthError::RateLimited {
                    retry_after_secs: seconds_until(now, window_ends),
                })
            }
        }
    }

    /// Gives back a reserved guess that was right.
    pub async fn release(&self, deps: &Deps, now: Timestamp) -> Result<(), AuthError> {
        self.limit.release(deps.store.as_ref(), now).await
    }

    /// The condition a right code's completing write checks: the budget is not full.
    pub fn gate(&self, now: Timestamp) -> Gate {
        self.limit.gate(now)
    }

    /// The first refusal of the window tells the user (once: a conditional counter). An unknown
    /// identifier takes the same steps on an id no user has, and tells nobody.
    async fn paused(&self, deps: &Deps, now: Timestamp) -> Result<(), AuthError> {
        let store = deps.store.as_ref();
        if self.notice.check(store, now).await.is_err() {
            return Ok(());
        }
        let user_id = self.user_id.as_deref().unwrap_or(NO_SUCH_USER);
        let user = store.get_user(user_id).await?;
        let to = user.as_ref().and_then(|u| u.email.as_deref());
        // Through the code queue in AWS (a decoy for nobody), so that this answer's timing, too,
        // is the same for a known and an unknown identifier.
        let message = to.map(|to| notices::message(Notice::SignInPaused, to));
        delivery::uniformly(deps, message, user_id).await;
        Ok(())
    }
}

/// Charges one failed factor (a wrong code or password of any kind, a second factor included) to
/// the user's guessing budget. `RateLimited` once it is full: the factor must then not be checked
/// (or, checked already, not be honored), and the user has been told once.
pub async fn charge_account_failure(deps: &Deps, user_id: &str) -> Result<(), AuthError> {
    let now = deps.clock.now();
    AccountBudget::new(deps, Account::User(user_id))
        .reserve(deps, now)
        .await
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
