//! Time as a dependency, so lifetimes and cooldowns can be tested without sleeping.

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    /// The current time in UTC, truncated to whole seconds (the wire format's precision).
    fn now(&self) -> OffsetDateTime;
}
