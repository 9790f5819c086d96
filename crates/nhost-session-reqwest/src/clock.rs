//! [`TokioClock`]: wall time that follows tokio's clock, for tests with paused time.

use nhost_session_core::Clock;
use time::OffsetDateTime;
use tokio::time::Instant;

/// A [`Clock`] that reads the wall time once, at creation, and from then on adds the time
/// that passed on tokio's clock.
///
/// In a program this is the system time (give or take clock adjustments after creation). In a
/// test with `tokio::time::pause()`, `tokio::time::advance(d)` moves this clock and every
/// tokio sleep together, so an [`AutoRefresh`](crate::AutoRefresh) task and the client agree
/// on the time without any real waiting. (Against a server on a real socket, prefer a clock
/// that follows the server's fake clock: a paused runtime advances its time on its own while
/// it waits for network I/O.)
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    wall: OffsetDateTime,
    start: Instant,
}

impl TokioClock {
    /// A clock showing the system time now.
    pub fn new() -> Self {
        Self::starting_at(OffsetDateTime::now_utc())
    }

    /// A clock showing `wall` now.
    pub fn starting_at(wall: OffsetDateTime) -> Self {
        Self {
            wall,
            start: Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        self.wall
            .checked_add(time::Duration::try_from(elapsed).unwrap_or(time::Duration::MAX))
            .unwrap_or(self.wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time() {
        let start = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let clock = TokioClock::starting_at(start);
        assert_eq!(clock.now(), start);
        tokio::time::advance(std::time::Duration::from_secs(90)).await;
        assert_eq!(clock.now(), start + time::Duration::seconds(90));
    }
}
