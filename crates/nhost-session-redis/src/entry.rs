//! What is stored under a token's key (before encryption), and what it means at a given time.

use std::sync::Arc;

use nhost_session_core::SharedSession;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// What is known under a token.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Entry {
    /// The token is the newest of a session.
    #[serde(rename_all = "camelCase")]
    Session {
        /// The session.
        session: SharedSession,
        /// The refresh margin for it, in ms (the configured margin, at most half the access
        /// token's lifetime).
        margin_ms: i64,
    },
    /// The token was refreshed: its successor is served until `grace_until`, then the token is
    /// refused as dead until `dead_until`.
    #[serde(rename_all = "camelCase")]
    Replaced {
        /// The session that replaced it.
        successor: SharedSession,
        /// The successor's refresh margin, in ms.
        margin_ms: i64,
        /// Unix time in ms.
        grace_until: i64,
        /// Unix time in ms.
        dead_until: i64,
    },
    /// The token was rejected by the auth service, or signed out.
    #[serde(rename_all = "camelCase")]
    Dead {
        /// Unix time in ms.
        until: i64,
    },
}

/// A session with the margin that applies to it.
#[derive(Clone, Debug)]
pub(crate) struct Known {
    pub(crate) session: Arc<SharedSession>,
    pub(crate) margin: Duration,
}

impl Known {
    pub(crate) fn is_fresh(&self, now: OffsetDateTime) -> bool {
        self.session.is_fresh(now, self.margin)
    }

    pub(crate) fn is_valid(&self, now: OffsetDateTime) -> bool {
        now < self.session.expires_at
    }
}

/// What an entry says at a given time.
#[derive(Clone, Debug)]
pub(crate) enum View {
    /// The token's own session (maybe no longer fresh).
    Current(Known),
    /// The token was replaced by this session, within the grace period.
    Successor(Known),
    /// The token is dead.
    Dead,
    /// Nothing useful (an expired record).
    Unknown,
}

impl Entry {
    /// Until when the entry means something (its TTL in Redis and in memory).
    pub(crate) fn meaningful_until(&self) -> OffsetDateTime {
        let ms = match self {
            Self::Session { session, .. } => return session.expires_at,
            Self::Replaced { dead_until, .. } => *dead_until,
            Self::Dead { until } => *until,
        };
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub(crate) fn view(&self, now: OffsetDateTime) -> View {
        let now_ms = unix_ms(now);
        match self {
            Self::Session { session, margin_ms } => View::Current(Known {
                session: Arc::new(session.clone()),
                margin: Duration::milliseconds(*margin_ms),
            }),
            Self::Replaced {
                successor,
                margin_ms,
                grace_until,
                dead_until,
            } => {
                if now_ms < *grace_until {
                    View::Successor(Known {
                        session: Arc::new(successor.clone()),
                        margin: Duration::milliseconds(*margin_ms),
                    })
                } else if now_ms < *dead_until {
                    View::Dead
                } else {
                    View::Unknown
                }
            }
            Self::Dead { until } if now_ms < *until => View::Dead,
            Self::Dead { .. } => View::Unknown,
        }
    }
}

/// Unix time in milliseconds.
pub(crate) fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The margin for a token of `lifetime`: at most half of it, never negative.
pub(crate) fn effective_margin(margin: Duration, lifetime: Duration) -> Duration {
    margin
        .max(Duration::ZERO)
        .min(lifetime / 2)
        .max(Duration::ZERO)
}

/// A duration as whole milliseconds for `PX`, at least 1 (Redis refuses 0), `None` when it is
/// not positive (nothing worth storing).
pub(crate) fn ttl_ms(duration: Duration) -> Option<u64> {
    let ms = duration.whole_milliseconds();
    if ms <= 0 {
        None
    } else {
        Some(u64::try_from(ms).unwrap_or(u64::MAX).max(1))
    }
}

#[cfg(test)]
mod tests {
    use nhost_session_core::{AccessToken, RefreshToken};

    use super::*;

    fn session(now: OffsetDateTime) -> SharedSession {
        SharedSession {
            access_token: AccessToken::new("jwt"),
            expires_at: now + Duration::seconds(900),
            refresh_token: RefreshToken::new("t1"),
            refresh_token_id: "id".into(),
            user: None,
        }
    }

    #[test]
    fn views_follow_the_clock() {
        let now = OffsetDateTime::now_utc();
        let replaced = Entry::Replaced {
            successor: session(now),
            margin_ms: 60_000,
            grace_until: unix_ms(now + Duration::seconds(60)),
            dead_until: unix_ms(now + Duration::seconds(660)),
        };
        assert!(matches!(replaced.clone().view(now), View::Successor(_)));
        assert!(matches!(
            replaced.clone().view(now + Duration::seconds(61)),
            View::Dead
        ));
        assert!(matches!(
            replaced.view(now + Duration::seconds(700)),
            View::Unknown
        ));
        let dead = Entry::Dead {
            until: unix_ms(now + Duration::seconds(5)),
        };
        assert!(matches!(dead.clone().view(now), View::Dead));
        assert!(matches!(
            dead.view(now + Duration::seconds(6)),
            View::Unknown
        ));
        let View::Current(known) = (Entry::Session {
            session: session(now),
            margin_ms: 60_000,
        })
        .view(now) else {
            panic!("a session")
        };
        assert!(known.is_fresh(now + Duration::seconds(839)));
        assert!(!known.is_fresh(now + Duration::seconds(841)));
        assert!(known.is_valid(now + Duration::seconds(899)));
    }

    #[test]
    fn margins_and_ttls() {
        let m = Duration::seconds(60);
        assert_eq!(effective_margin(m, Duration::seconds(900)), m);
        assert_eq!(
            effective_margin(m, Duration::seconds(6)),
            Duration::seconds(3)
        );
        assert_eq!(effective_margin(m, Duration::seconds(-5)), Duration::ZERO);
        assert_eq!(ttl_ms(Duration::seconds(2)), Some(2000));
        assert_eq!(ttl_ms(Duration::ZERO), None);
        assert_eq!(ttl_ms(Duration::seconds(-1)), None);
    }

    #[test]
    fn entries_round_trip_through_json() {
        let now = OffsetDateTime::now_utc();
        let entry = Entry::Session {
            session: session(now),
            margin_ms: 1,
        };
        let json = serde_json::to_vec(&entry).unwrap();
        let back: Entry = serde_json::from_slice(&json).unwrap();
        assert!(matches!(back, Entry::Session { margin_ms: 1, .. }));
    }
}
