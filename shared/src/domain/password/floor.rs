//! The one place password checking looks at wall time. A failed verification answers no sooner
//! than a fixed floor after it began, so how long the check took (an imported bcrypt or argon2
//! hash costs more than Sesame's own, an unknown identifier only a dummy) never shows. A right
//! password answers as soon as it is known: only the account's owner sees that time.
//!
//! This is a sleep, not logic, so it uses tokio's clock rather than the domain's `Clock` port;
//! the tests run it on tokio's paused clock.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// Runs `check`; when it answers `false`, waits until `floor` after it began. A check slower than
/// the floor answers when it ends (the floor is a minimum, never a deadline).
pub async fn failing_no_sooner(floor: Duration, check: impl Future<Output = bool>) -> bool {
    let began = Instant::now();
    let right = check.await;
    if !right {
        sleep_until(began + floor).await;
    }
    right
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::sleep;

    const FLOOR: Duration = Duration::from_millis(3000);

    /// A check that takes `took` on the (paused) clock and answers `right`.
    async fn timed(took: Duration, right: bool) -> (bool, Duration) {
        let began = Instant::now();
        let answer = failing_no_sooner(FLOOR, async move {
            sleep(took).await;
            right
        })
        .await;
        (answer, began.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_check_fails_fast_the_answer_comes_at_the_floor() {
        assert_eq!(timed(Duration::ZERO, false).await, (false, FLOOR));
        assert_eq!(
            timed(Duration::from_millis(20), false).await,
            (false, FLOOR)
        );
        assert_eq!(
            timed(Duration::from_millis(2999), false).await,
            (false, FLOOR)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_check_fails_after_the_floor_it_answers_when_it_ends() {
        let slow = Duration::from_millis(4500);
        assert_eq!(timed(slow, false).await, (false, slow));
    }

    #[tokio::test(start_paused = true)]
    async fn when_a_check_succeeds_it_answers_at_once() {
        let took = Duration::from_millis(20);
        assert_eq!(timed(took, true).await, (true, took));
    }
}
