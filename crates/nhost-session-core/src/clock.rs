//! Where the client gets the time from.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// A source of the current time. The system clock in programs, a [`ManualClock`] in tests.
pub trait Clock: Send + Sync {
    /// The current time (UTC).
    fn now(&self) -> OffsetDateTime;

    /// The current time as nanoseconds since the Unix epoch, for the hot path of
    /// [`AuthClient::access_token`](crate::AuthClient::access_token). It may lag
    /// [`now`](Self::now) by up to [`COARSE_CLOCK_LAG`] (never run ahead of it): the hot path
    /// allows for that. Override it only to make it cheaper.
    fn now_unix_nanos(&self) -> i128 {
        self.now().unix_timestamp_nanos()
    }
}

/// How far [`Clock::now_unix_nanos`] may lag behind [`Clock::now`]: the kernel's coarse clock
/// is updated once per scheduler tick (at most 10 ms at 100 Hz); 20 ms leaves room.
pub const COARSE_CLOCK_LAG: time::Duration = time::Duration::milliseconds(20);

/// The system's wall clock.
///
/// On Linux, [`now_unix_nanos`](Clock::now_unix_nanos) reads the kernel's coarse real-time
/// clock: a few nanoseconds instead of tens, at the price of lagging by up to one scheduler
/// tick, which the hot path allows for.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[cfg(target_os = "linux")]
    #[inline]
    fn now_unix_nanos(&self) -> i128 {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec)
    }

    #[cfg(not(target_os = "linux"))]
    fn now_unix_nanos(&self) -> i128 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => since.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        }
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }

    fn now_unix_nanos(&self) -> i128 {
        (**self).now_unix_nanos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clocks_two_readings_agree() {
        let clock = SystemClock;
        let before = clock.now().unix_timestamp_nanos();
        let nanos = clock.now_unix_nanos();
        let after = clock.now().unix_timestamp_nanos();
        let lag = COARSE_CLOCK_LAG.whole_nanoseconds();
        assert!(
            before - lag <= nanos && nanos <= after,
            "{before} {nanos} {after}"
        );
    }
}
