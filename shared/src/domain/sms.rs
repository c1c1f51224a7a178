//! Where SMS may go: numbers under a prefix of `SMS_ALLOWED_COUNTRIES`, and at most
//! `LIMIT_SMS_PER_PREFIX_PER_HOUR` of them per prefix per clock hour, so SMS pumping through
//! sign-up has a ceiling.

use super::error::{AuthError, FieldError};
use super::limits::{Limit, seconds_until};
use super::model::Timestamp;
use crate::config::Config;
use crate::domain::Deps;
use crate::domain::ports::store::Hit;

/// The longest allowed prefix `phone` (E.164, normalized) starts with.
pub fn allowed_prefix<'a>(config: &'a Config, phone: &str) -> Option<&'a str> {
    config
        .sms_allowed_prefixes
        .iter()
        .filter(|p| phone.starts_with(p.as_str()))
        .max_by_key(|p| p.len())
        .map(String::as_str)
}

/// `400 INVALID_FIELD` on `field` for a number this deployment does not text.
pub fn check_allowed(config: &Config, phone: &str, field: &str) -> Result<(), FieldError> {
    match allowed_prefix(config, phone) {
        Some(_) => Ok(()),
        None => Err(FieldError::invalid(
            field,
            format!(
                "SMS cannot be sent to this country; numbers starting with {} are accepted",
                config.sms_allowed_prefixes.join(", ")
            ),
        )),
    }
}

/// What may happen to one SMS.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    Send,
    NotAllowed,
    Limited { retry_after_secs: u64 },
}

/// Checks the allow-list and charges the number's prefix counter (conditional, so parallel
/// sends get no more than sequential ones).
pub async fn gate(deps: &Deps, phone: &str, now: Timestamp) -> Result<Gate, AuthError> {
    let Some(prefix) = allowed_prefix(&deps.config, phone) else {
        return Ok(Gate::NotAllowed);
    };
    let limit = Limit::sms_per_prefix(prefix, deps.config.limits.sms_per_prefix_per_hour);
    let hit = deps
        .store
        .hit(&limit.key, limit.window_ends(now), limit.max)
        .await?;
    Ok(match hit {
        Hit::Allowed => Gate::Send,
        Hit::Limited { window_ends } => Gate::Limited {
            retry_after_secs: seconds_until(now, window_ends),
        },
    })
}

/// For a flow that may say why (sign-up, profile completion, a sign-up's resend): the SMS is
/// allowed, or `400` on `field`, or `429 RATE_LIMITED`.
pub async fn admit(deps: &Deps, phone: &str, field: &str, now: Timestamp) -> Result<(), AuthError> {
    match gate(deps, phone, now).await? {
        Gate::Send => Ok(()),
        Gate::NotAllowed => Err(AuthError::Invalid(vec![
            check_allowed(&deps.config, phone, field).expect_err("not allowed"),
        ])),
        Gate::Limited { retry_after_secs } => Err(AuthError::RateLimited { retry_after_secs }),
    }
}

/// For a sign-in, whose answer must not depend on the account: whether to send. A refused or
/// capped SMS is not sent, and the answer is the one an unknown identifier gets.
pub async fn quietly(deps: &Deps, phone: &str, now: Timestamp) -> Result<bool, AuthError> {
    Ok(gate(deps, phone, now).await? == Gate::Send)
}

/// What an SMS sign-in with nowhere to send (an unknown number) does instead of `quietly`: one
/// read of the typed number's prefix counter, charging nothing, so its store calls are those of a
/// known number's.
pub async fn as_if_quietly(deps: &Deps, typed: &str, now: Timestamp) -> Result<(), AuthError> {
    if let Some(prefix) = allowed_prefix(&deps.config, typed) {
        let limit = Limit::sms_per_prefix(prefix, deps.config.limits.sms_per_prefix_per_hour);
        deps.store.count(&limit.key, limit.window_ends(now)).await?;
    }
    Ok(())
}
