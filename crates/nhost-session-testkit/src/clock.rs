//! The fake clock: real time plus an offset that tests can move forward.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The server's notion of "now": the system time plus an offset that only grows.
///
/// Every time-dependent decision of the fake reads this clock: JWT `iat`/`exp`, refresh-token
/// expiry, MFA ticket and magic-link expiry, TOTP codes, and the GraphQL stand-in's expiry check.
/// Advancing it expires tokens without sleeping. Clones share the same offset.
#[derive(Clone, Debug, Default)]
pub struct FakeClock {
    offset_ms: Arc<AtomicU64>,
}

impl FakeClock {
    /// A clock with no offset: it reads the system time.
    pub fn new() -> Self {
        Self::default()
    }

    /// The fake "now".
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset()
    }

    /// The fake "now" in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let since = self.now().duration_since(UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }

    /// The fake "now" in whole seconds since the Unix epoch (what JWT `iat` carries).
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// How far the clock runs ahead of the system time.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Puts the clock back on the system time.
    pub(crate) fn reset(&self) {
        self.offset_ms.store(0, Ordering::SeqCst);
    }
}

/// Milliseconds in a duration, saturating, as the signed type the stores use.
pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward_and_clones_share_it() {
        let clock = FakeClock::new();
        let other = clock.clone();
        let before = clock.now_secs();
        other.advance(Duration::from_secs(3600));
        assert!(clock.now_secs() >= before + 3600);
        assert_eq!(clock.offset(), Duration::from_secs(3600));
        clock.reset();
        assert_eq!(other.offset(), Duration::ZERO);
    }
}
