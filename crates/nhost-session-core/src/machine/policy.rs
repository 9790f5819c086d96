//! When to refresh, and how long to wait after a failure.

use time::Duration;

/// How the session machine schedules refreshes and back-off.
///
/// A session is refreshed `margin` (plus a random share of `margin_jitter`) before its access
/// token expires, but never earlier than half-way through the token's lifetime. After a
/// transient failure, the next attempt waits `backoff_initial`, doubling per failure up to
/// `backoff_max`, each wait shortened by a random share of up to half, so that many clients
/// that failed together do not retry together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// How long before expiry to refresh. Default 60 s, as the Nhost SDKs do.
    pub margin: Duration,
    /// Up to this much more margin, chosen at random per session. Default 10 s.
    pub margin_jitter: Duration,
    /// The wait after the first transient failure. Default 1 s.
    pub backoff_initial: Duration,
    /// The longest wait between attempts. Default 60 s.
    pub backoff_max: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            margin: Duration::seconds(60),
            margin_jitter: Duration::seconds(10),
            backoff_initial: Duration::seconds(1),
            backoff_max: Duration::seconds(60),
        }
    }
}

impl RefreshPolicy {
    /// The margin for a token of the given lifetime, given a random `fraction` in `[0, 1)`:
    /// `margin + fraction × margin_jitter`, at most half the lifetime, never negative.
    pub fn effective_margin(&self, lifetime: Option<Duration>, fraction: f64) -> Duration {
        let wanted = self.margin + self.margin_jitter * fraction.clamp(0.0, 1.0);
        let wanted = wanted.max(Duration::ZERO);
        match lifetime {
            Some(lifetime) => wanted.min(lifetime / 2).max(Duration::ZERO),
            None => wanted,
        }
    }

    /// The wait after `failures` consecutive transient failures (at least 1), given a random
    /// `fraction` in `[0, 1)`.
    pub fn backoff(&self, failures: u32, fraction: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let full = self
            .backoff_initial
            .checked_mul(1i32 << exponent)
            .unwrap_or(self.backoff_max)
            .min(self.backoff_max)
            .max(Duration::ZERO);
        full - full * (0.5 * fraction.clamp(0.0, 1.0))
    }
}

/// A small deterministic random source (SplitMix64) kept inside the machine, so that the
/// transition function stays pure and reproducible while jitter still differs per client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number in `[0, 1)`.
    pub(crate) fn next_fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_capped_at_half_the_lifetime() {
        let policy = RefreshPolicy::default();
        assert_eq!(
            policy.effective_margin(Some(Duration::seconds(900)), 0.0),
            Duration::seconds(60)
        );
        assert_eq!(
            policy.effective_margin(Some(Duration::seconds(900)), 0.5),
            Duration::seconds(65)
        );
        assert_eq!(
            policy.effective_margin(Some(Duration::seconds(20)), 0.9),
            Duration::seconds(10)
        );
        assert_eq!(policy.effective_margin(None, 0.0), Duration::seconds(60));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_at_most_half_jitter() {
        let policy = RefreshPolicy::default();
        assert_eq!(policy.backoff(1, 0.0), Duration::seconds(1));
        assert_eq!(policy.backoff(2, 0.0), Duration::seconds(2));
        assert_eq!(policy.backoff(4, 0.0), Duration::seconds(8));
        assert_eq!(policy.backoff(40, 0.0), Duration::seconds(60));
        assert_eq!(
            policy.backoff(u32::MAX, 0.99),
            Duration::seconds(60) - Duration::seconds(60) * 0.495
        );
        assert_eq!(policy.backoff(3, 1.0), Duration::seconds(2));
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let mut jitter = Jitter::new(42);
        let values: Vec<f64> = (0..1000).map(|_| jitter.next_fraction()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }
}
