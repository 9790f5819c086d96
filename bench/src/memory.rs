//! Memory per cached session in the middleware's [`LocalCoordinator`].
//!
//! Method: in a process of its own (the harness re-runs itself with `--memory-child N`, whose
//! global allocator counts the bytes requested from the system allocator, live = allocated −
//! freed), `N` sessions shaped like the fake auth server's (its RS256 JWT, its user object, a
//! UUID refresh token and id, each one a separate allocation as after `N` real refreshes) are
//! handed to [`RefreshCoordinator::remember`] of a coordinator with the middleware's default
//! settings. Bytes per session = (live bytes after − live bytes before the coordinator was
//! made) / N, cache structures included. The resident set size (RSS, `/proc/self/statm`) is
//! read at the same points, as a cross-check that includes the allocator's own overhead
//! (headers, rounding, free lists).

use std::sync::Arc;

use nhost_session_actix::LocalCoordinator;
use nhost_session_core::{
    AccessToken, RefreshCoordinator, RefreshToken, Session, SharedSession, TokenFingerprint,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What the measurement found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryOutcome {
    /// Sessions handed to the coordinator.
    pub sessions: usize,
    /// Sessions the cache held at the end.
    pub cached: u64,
    /// Live bytes requested from the allocator, per session (cache structures included).
    pub bytes_per_session: f64,
    /// Resident set growth per session (allocator overhead included).
    pub rss_bytes_per_session: f64,
    /// Live bytes of one session's own data (the `Arc<SharedSession>` and its strings, the
    /// user), without any cache structure.
    pub session_data_bytes: usize,
    /// Length of the access token (JWT) in bytes.
    pub jwt_bytes: usize,
    /// Size of the cache key (a token fingerprint).
    pub key_bytes: usize,
    /// Live allocations per session (cache structures included): each costs the system
    /// allocator a header and rounding, which RSS shows and requested bytes do not.
    #[serde(default)]
    pub allocations_per_session: f64,
    /// Live allocations of one session's own data.
    #[serde(default)]
    pub session_data_allocations: usize,
}

/// What the counting allocator reports as live.
#[derive(Clone, Copy, Debug, Default)]
pub struct Live {
    /// Bytes requested and not yet freed.
    pub bytes: i64,
    /// Allocations not yet freed.
    pub allocations: i64,
}

/// Resident set size of this process in bytes (0 when unknown).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// A distinct UUID-shaped refresh token for session `i`.
fn token(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i as u32, i as u64)
}

fn shared_session(sample: &Session, i: usize, now: OffsetDateTime) -> SharedSession {
    SharedSession {
        access_token: AccessToken::new(sample.access_token.expose_secret().to_owned()),
        expires_at: now + time::Duration::seconds(900),
        refresh_token: RefreshToken::new(token(i)),
        refresh_token_id: sample.refresh_token_id.clone(),
        user: sample.user.clone(),
    }
}

/// Measures `n` sessions shaped like `sample`; `live` reads the counting allocator.
pub fn measure(n: usize, sample: &Session, live: &dyn Fn() -> Live) -> MemoryOutcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("a runtime: {e}"));
    let now = OffsetDateTime::now_utc();

    // One session's own data.
    let before_one = live();
    let one = Arc::new(shared_session(sample, usize::MAX, now));
    let after_one = live();
    let session_data_bytes = usize::try_from(after_one.bytes - before_one.bytes).unwrap_or(0);
    let session_data_allocations =
        usize::try_from(after_one.allocations - before_one.allocations).unwrap_or(0);
    drop(one);

    // Measured from before the coordinator exists: whatever its caches set up counts.
    let rss_before = rss_bytes();
    let before = live();
    let coordinator = LocalCoordinator::default();
    runtime.block_on(async {
        for i in 0..n {
            coordinator
                .remember(Arc::new(shared_session(sample, i, now)))
                .await;
        }
    });
    let after = live();
    let rss_after = rss_bytes();
    let (cached, _) = coordinator.entry_counts();
    let cached = u64::try_from(cached).unwrap_or(u64::MAX);
    let per = |total: f64| if n == 0 { 0.0 } else { total / n as f64 };
    MemoryOutcome {
        sessions: n,
        cached,
        bytes_per_session: per((after.bytes - before.bytes) as f64),
        allocations_per_session: per((after.allocations - before.allocations) as f64),
        rss_bytes_per_session: per(rss_after.saturating_sub(rss_before) as f64),
        session_data_bytes,
        jwt_bytes: sample.access_token.expose_secret().len(),
        key_bytes: std::mem::size_of::<TokenFingerprint>(),
        session_data_allocations,
    }
}
