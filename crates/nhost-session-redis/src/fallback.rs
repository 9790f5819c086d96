//! When Redis fails: each instance keeps what it learnt (from Redis and from its own refreshes)
//! in memory, in the same form as in Redis, and resolves from there, with a warning (at most
//! one every few seconds), until Redis answers again.

use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use nhost_session_core::TokenFingerprint;
use time::OffsetDateTime;

use crate::connection::Failure;
use crate::entry::{Entry, View};

/// The shortest time between two warnings about Redis.
const WARN_EVERY: StdDuration = StdDuration::from_secs(10);

/// Whether Redis is usable: after a failure, Redis is left alone for `retry_after` and the
/// instance serves from memory.
pub(crate) struct Health {
    retry_after: StdDuration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    down_until: Option<Instant>,
    last_warning: Option<Instant>,
    failures_since_warning: u64,
}

impl Health {
    pub(crate) fn new(retry_after: StdDuration) -> Self {
        Self {
            retry_after,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether to skip Redis now.
    pub(crate) fn is_down(&self) -> bool {
        let state = self.state();
        state.down_until.is_some_and(|until| Instant::now() < until)
    }

    /// Records a failure of `what`; warns unless a warning went out recently.
    pub(crate) fn failed(&self, what: &str, failure: &Failure) {
        let now = Instant::now();
        let mut state = self.state();
        state.down_until = Some(now + self.retry_after);
        state.failures_since_warning += 1;
        let due = state
            .last_warning
            .is_none_or(|last| now.duration_since(last) >= WARN_EVERY);
        if due {
            let failures = state.failures_since_warning;
            state.last_warning = Some(now);
            state.failures_since_warning = 0;
            drop(state);
            tracing::warn!(
                operation = what,
                error = %failure,
                failures,
                "nhost-session-redis: Redis failed; refreshes are coordinated in this process only \
                 until it answers again"
            );
        }
    }

    /// Records a success: Redis is back if it was down.
    pub(crate) fn succeeded(&self) {
        let mut state = self.state();
        if state.down_until.take().is_some() {
            drop(state);
            tracing::info!("nhost-session-redis: Redis answers again");
        }
    }
}

/// This instance's copy of what it read from and wrote to Redis, and of its own refreshes:
/// bounded (the least useful entries go first when it is full), each entry used only while
/// it means something.
pub(crate) struct Memory {
    cache: quick_cache::sync::Cache<TokenFingerprint, Entry>,
}

impl Memory {
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(usize::try_from(capacity).unwrap_or(usize::MAX)),
        }
    }

    /// The entry for `fp` if it still means something at `now`; an expired one is dropped.
    pub(crate) fn get(&self, fp: &TokenFingerprint, now: OffsetDateTime) -> Option<Entry> {
        let entry = self.cache.get(fp)?;
        if entry.meaningful_until() > now {
            return Some(entry);
        }
        self.cache
            .remove_if(fp, |entry| entry.meaningful_until() <= now);
        None
    }

    /// Stores what this instance decided (a refresh, a sign-in, a sign-out).
    pub(crate) fn put(&self, fp: TokenFingerprint, entry: Entry, now: OffsetDateTime) {
        if entry.meaningful_until() > now {
            self.cache.insert(fp, entry);
        } else {
            self.cache.remove(&fp);
        }
    }

    /// Stores what was read from Redis, unless memory knows better: a token's life only goes
    /// forward (its session, then replaced or dead), so a session read from Redis does not
    /// undo this instance's knowledge that the token was replaced or is dead (a refresh made
    /// while Redis was away).
    pub(crate) fn put_read(&self, fp: TokenFingerprint, entry: &Entry, now: OffsetDateTime) {
        if matches!(entry, Entry::Session { .. }) {
            let known_dead = self
                .get(&fp, now)
                .is_some_and(|old| matches!(old.view(now), View::Successor(_) | View::Dead));
            if known_dead {
                return;
            }
        }
        self.put(fp, entry.clone(), now);
    }

    /// Entries held (expired ones included until they are read or displaced), for `Debug`.
    pub(crate) fn entry_count(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use nhost_session_core::{AccessToken, RefreshToken, SharedSession};
    use time::Duration;

    use super::*;
    use crate::entry::unix_ms;

    #[test]
    fn entries_are_forgotten_once_they_mean_nothing() {
        let now = OffsetDateTime::now_utc();
        let memory = Memory::new(100);
        let fp = TokenFingerprint::of(&RefreshToken::new("t1"));
        let until = now + Duration::seconds(10);
        memory.put(
            fp,
            Entry::Dead {
                until: unix_ms(until),
            },
            now,
        );
        assert!(matches!(memory.get(&fp, now), Some(Entry::Dead { .. })));
        assert_eq!(memory.entry_count(), 1);
        let later = until + Duration::milliseconds(1);
        assert!(memory.get(&fp, later).is_none(), "past its meaning");
        assert_eq!(memory.entry_count(), 0, "dropped when read");
        assert!(memory.get(&fp, now).is_none(), "gone, not only hidden");
    }

    #[test]
    fn down_for_a_while_after_a_failure() {
        let health = Health::new(StdDuration::from_millis(50));
        assert!(!health.is_down());
        health.failed("test", &Failure::Timeout);
        assert!(health.is_down());
        health.failed("test", &Failure::Timeout);
        std::thread::sleep(StdDuration::from_millis(60));
        assert!(!health.is_down());
        health.succeeded();
        assert!(!health.is_down());
    }

    #[test]
    fn a_session_read_from_redis_does_not_undo_a_known_replacement() {
        let now = OffsetDateTime::now_utc();
        let session = SharedSession {
            access_token: AccessToken::new("jwt"),
            expires_at: now + Duration::seconds(900),
            refresh_token: RefreshToken::new("t2"),
            refresh_token_id: "id".into(),
            user: None,
        };
        let memory = Memory::new(100);
        let fp = TokenFingerprint::of(&RefreshToken::new("t1"));
        memory.put(
            fp,
            Entry::Replaced {
                successor: session.clone(),
                margin_ms: 60_000,
                grace_until: unix_ms(now + Duration::seconds(60)),
                dead_until: unix_ms(now + Duration::seconds(660)),
            },
            now,
        );
        let stale = Entry::Session {
            session,
            margin_ms: 60_000,
        };
        memory.put_read(fp, &stale, now);
        assert!(matches!(memory.get(&fp, now), Some(Entry::Replaced { .. })));
        let other = TokenFingerprint::of(&RefreshToken::new("t9"));
        memory.put_read(other, &stale, now);
        assert!(matches!(
            memory.get(&other, now),
            Some(Entry::Session { .. })
        ));
        memory.put(
            other,
            Entry::Dead {
                until: unix_ms(now - Duration::seconds(1)),
            },
            now,
        );
        assert!(
            memory.get(&other, now).is_none(),
            "nothing meaningful: dropped"
        );
    }
}
