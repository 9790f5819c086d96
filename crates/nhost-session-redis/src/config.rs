//! The coordinator's settings: [`RedisCoordinator::builder`](crate::RedisCoordinator::builder).

use std::fmt;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use nhost_session_core::{Clock, ConfigError, SystemClock};
use time::Duration;

use crate::coordinator::RedisCoordinator;
use crate::crypto::EncryptionKey;
use crate::keys::{DEFAULT_KEY_PREFIX, Keys};

/// Default [`RedisCoordinatorBuilder::margin`]: 60 s, as the JavaScript SDKs and
/// `nhost-session-actix`'s in-process coordinator.
pub const DEFAULT_MARGIN: Duration = Duration::seconds(60);
/// Default [`RedisCoordinatorBuilder::grace`]: 60 s.
pub const DEFAULT_GRACE: Duration = Duration::seconds(60);
/// Default [`RedisCoordinatorBuilder::dead_token_memory`]: 10 minutes.
pub const DEFAULT_DEAD_TOKEN_MEMORY: Duration = Duration::minutes(10);
/// Default [`RedisCoordinatorBuilder::rejection_ttl`]: 5 s.
pub const DEFAULT_REJECTION_TTL: Duration = Duration::seconds(5);
/// Default [`RedisCoordinatorBuilder::capacity`]: 100,000 entries.
pub const DEFAULT_CAPACITY: u64 = 100_000;
/// Default [`RedisCoordinatorBuilder::url`].
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Default [`RedisCoordinatorBuilder::lock_ttl`]: 5 s.
pub const DEFAULT_LOCK_TTL: StdDuration = StdDuration::from_secs(5);
/// Default [`RedisCoordinatorBuilder::wait_timeout`]: 5 s.
pub const DEFAULT_WAIT_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Default [`RedisCoordinatorBuilder::command_timeout`]: 300 ms.
pub const DEFAULT_COMMAND_TIMEOUT: StdDuration = StdDuration::from_millis(300);
/// Default [`RedisCoordinatorBuilder::retry_after`]: 1 s.
pub const DEFAULT_RETRY_AFTER: StdDuration = StdDuration::from_secs(1);
/// Default [`RedisCoordinatorBuilder::failure_ttl`]: 1 s.
pub const DEFAULT_FAILURE_TTL: StdDuration = StdDuration::from_secs(1);

/// The settings that decide what a coordinator answers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) margin: Duration,
    pub(crate) grace: Duration,
    pub(crate) dead_token_memory: Duration,
    pub(crate) rejection_ttl: Duration,
    pub(crate) lock_ttl: StdDuration,
    pub(crate) wait_timeout: StdDuration,
    pub(crate) command_timeout: StdDuration,
    pub(crate) retry_after: StdDuration,
    pub(crate) failure_ttl: StdDuration,
    pub(crate) capacity: u64,
}

/// Settings of a [`RedisCoordinator`]. Durations of the session's life (margin, grace, …) are
/// read on the [clock](Self::clock); the lock, waits and timeouts are real time.
#[must_use]
pub struct RedisCoordinatorBuilder {
    pub(crate) url: String,
    pub(crate) prefix: String,
    pub(crate) key: EncryptionKey,
    pub(crate) settings: Settings,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for RedisCoordinatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCoordinatorBuilder")
            .field("url", &redacted_url(&self.url))
            .field("prefix", &self.prefix)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RedisCoordinatorBuilder {
    pub(crate) fn new(key: EncryptionKey) -> Self {
        Self {
            url: DEFAULT_REDIS_URL.to_owned(),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            key,
            settings: Settings {
                margin: DEFAULT_MARGIN,
                grace: DEFAULT_GRACE,
                dead_token_memory: DEFAULT_DEAD_TOKEN_MEMORY,
                rejection_ttl: DEFAULT_REJECTION_TTL,
                lock_ttl: DEFAULT_LOCK_TTL,
                wait_timeout: DEFAULT_WAIT_TIMEOUT,
                command_timeout: DEFAULT_COMMAND_TIMEOUT,
                retry_after: DEFAULT_RETRY_AFTER,
                failure_ttl: DEFAULT_FAILURE_TTL,
                capacity: DEFAULT_CAPACITY,
            },
            clock: Arc::new(SystemClock),
        }
    }

    /// The Redis server (default `redis://127.0.0.1:6379`; `redis://:password@host:port/db`
    /// and `redis+unix:///path` work too; TLS is not built in).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// The start of every key (default `nhost-session`): give each app sharing a Redis its own.
    /// 1 to 100 printable ASCII characters, no spaces or glob characters (`*?[]\`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// A session is refreshed when its access token expires within this margin (default
    /// 60 s, capped at half the token's lifetime), as in the in-process coordinator.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.settings.margin = margin.max(Duration::ZERO);
        self
    }

    /// How long the outcome of a refresh stays available under the OLD token (default 60 s).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.settings.grace = grace.max(Duration::ZERO);
        self
    }

    /// How long a replaced or signed-out token is then remembered as dead, so that no
    /// instance sends it to the auth service again (default 10 minutes).
    pub fn dead_token_memory(mut self, memory: Duration) -> Self {
        self.settings.dead_token_memory = memory.max(Duration::ZERO);
        self
    }

    /// How long a token the auth service rejected is refused without asking again (default
    /// 5 s).
    pub fn rejection_ttl(mut self, ttl: Duration) -> Self {
        self.settings.rejection_ttl = ttl.max(Duration::ZERO);
        self
    }

    /// How long a refresh lock lives without being extended (default 5 s). Its owner extends
    /// it every third of that while it refreshes; if the owner dies, the session is blocked for
    /// at most this long. At least 100 ms.
    pub fn lock_ttl(mut self, ttl: StdDuration) -> Self {
        self.settings.lock_ttl = ttl.max(StdDuration::from_millis(100));
        self
    }

    /// How long a request waits for a refresh made by another instance before it is told
    /// the session is temporarily unavailable (default 5 s). It is never told the session
    /// ended because of a wait.
    pub fn wait_timeout(mut self, timeout: StdDuration) -> Self {
        self.settings.wait_timeout = timeout;
        self
    }

    /// The longest any Redis command may take, connection included (default 300 ms); past
    /// it, Redis is treated as down for that call.
    pub fn command_timeout(mut self, timeout: StdDuration) -> Self {
        self.settings.command_timeout = timeout.max(StdDuration::from_millis(1));
        self
    }

    /// After a Redis failure, how long requests go straight to the in-process coordinator
    /// before Redis is tried again (default 1 s).
    pub fn retry_after(mut self, delay: StdDuration) -> Self {
        self.settings.retry_after = delay;
        self
    }

    /// After a refresh failed transiently (the auth service down), how long other instances
    /// take that outcome instead of trying again themselves (default 1 s).
    pub fn failure_ttl(mut self, ttl: StdDuration) -> Self {
        self.settings.failure_ttl = ttl.max(StdDuration::from_millis(1));
        self
    }

    /// The clock that decides freshness and grace (the system clock by default; a
    /// [`ManualClock`](nhost_session_core::ManualClock) in tests). Instances should have
    /// synchronised clocks (NTP): entries carry absolute times.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The most entries the instance's in-memory copy holds (default 100,000; an entry with
    /// its JWT takes 2 to 3 KB). The copy serves requests while Redis is away: what the
    /// instance read from Redis, and its own refreshes, sign-ins and sign-outs.
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.settings.capacity = capacity;
        self
    }

    /// The coordinator. It connects to Redis on first use (inside the tokio runtime that
    /// actix runs), so building it never fails because Redis is down.
    ///
    /// # Errors
    /// When the URL is not a Redis URL or the key prefix is not acceptable.
    pub fn build(self) -> Result<RedisCoordinator, ConfigError> {
        let keys = Keys::new(&self.prefix)?;
        let client = redis::Client::open(self.url.as_str()).map_err(|e| {
            ConfigError::Invalid(format!(
                "invalid Redis URL {}: {:?}",
                redacted_url(&self.url),
                e.kind()
            ))
        })?;
        Ok(RedisCoordinator::new(
            client,
            keys,
            &self.key,
            self.settings,
            self.clock,
            redacted_url(&self.url),
        ))
    }
}

/// The URL without its password (`redis://user:***@host`), for logs and `Debug`.
pub(crate) fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[unparsable]".to_owned();
    };
    // Everything before the last `@` is user information (a password may hold `/` or `@`).
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            redacted_url("redis://:s3cret@redis.internal:6380/2"),
            "redis://:***@redis.internal:6380/2"
        );
        assert_eq!(redacted_url("redis://app:s3cret@h"), "redis://app:***@h");
        assert_eq!(redacted_url("redis://:a/b@c@h:1"), "redis://:***@h:1");
        assert_eq!(redacted_url("nonsense"), "[unparsable]");
    }

    #[test]
    fn bad_settings_are_refused_and_debug_hides_secrets() {
        let key = EncryptionKey::generate().unwrap();
        let builder = RedisCoordinatorBuilder::new(key.clone()).url("redis://:pw@localhost");
        let text = format!("{builder:?}");
        assert!(!text.contains("pw@"), "{text}");
        assert!(!text.contains(&key.to_base64()), "{text}");
        assert!(
            RedisCoordinatorBuilder::new(key.clone())
                .url("http://example.com")
                .build()
                .is_err()
        );
        assert!(
            RedisCoordinatorBuilder::new(key.clone())
                .key_prefix("has space")
                .build()
                .is_err()
        );
        assert!(RedisCoordinatorBuilder::new(key).build().is_ok());
    }
}
