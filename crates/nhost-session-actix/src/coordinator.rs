//! [`LocalCoordinator`]: refresh coalescing for the requests of one process.
//!
//! It remembers, by [fingerprint](TokenFingerprint) of the refresh token (never the token):
//!
//! - **known sessions**, under their newest refresh token, until their access token expires
//!   (they are served while the JWT is valid beyond the margin, so page loads within one JWT
//!   lifetime make no auth call; past the margin they are refreshed once);
//! - **refresh outcomes**, under the token that was refreshed (and is now dead): its successor
//!   session during the grace period (a request that left the browser before the new cookie
//!   arrived gets the new session, not a sign-out), then the fact that it is dead, so that it is
//!   never sent to the auth service again; rejections and sign-outs are remembered the same way.
//!
//! Both are [`quick_cache`] caches with a capacity: entries live inside the cache's own table
//! (no allocation of their own), and the least useful go first when it is full. Whether an
//! entry still means something is decided by its time (with the coordinator's clock) when it
//! is read; [`LocalCoordinator::purge_expired`] drops the expired ones at once. Refreshes in
//! flight are kept in a small map: the first request with a token refreshes, the others wait
//! for its outcome. Transient failures are not remembered: the next request tries again (and while the old JWT
//! is still valid, it is served in the meantime).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures_channel::oneshot;
use futures_util::FutureExt as _;
use futures_util::future::Shared;
use nhost_session_core::{
    Clock, Error, RefreshCoordinator, RefreshToken, Refresher, Resolution, SharedSession,
    SystemClock, TokenFingerprint,
};
use time::{Duration, OffsetDateTime};

/// Default [`LocalCoordinatorBuilder::margin`]: 60 s, as the JavaScript SDKs.
pub const DEFAULT_MARGIN: Duration = Duration::seconds(60);
/// Default [`LocalCoordinatorBuilder::grace`]: 60 s.
pub const DEFAULT_GRACE: Duration = Duration::seconds(60);
/// Default [`LocalCoordinatorBuilder::dead_token_memory`]: 10 minutes.
pub const DEFAULT_DEAD_TOKEN_MEMORY: Duration = Duration::minutes(10);
/// Default [`LocalCoordinatorBuilder::rejection_ttl`]: 5 s.
pub const DEFAULT_REJECTION_TTL: Duration = Duration::seconds(5);
/// Default [`LocalCoordinatorBuilder::capacity`]: 100,000 entries per cache.
pub const DEFAULT_CAPACITY: u64 = 100_000;

/// How many replaced tokens a request may be behind the newest one and still be caught up.
const MAX_HOPS: usize = 64;

/// An in-process [`RefreshCoordinator`]: concurrent requests that carry the same refresh token
/// share one `POST /token`, and its outcome is served under the old token for a grace period.
///
/// Share ONE coordinator between all the workers of a server (build the middleware outside
/// `HttpServer::new`'s factory closure): a coordinator per worker would let two workers
/// refresh the same token, and one of them would sign the user out. Several server instances
/// need a shared coordinator (`nhost-session-redis`).
///
/// Memory is bounded: each of its two caches holds at most
/// [`capacity`](LocalCoordinatorBuilder::capacity) entries (a session with its JWT takes 2 to
/// 3 KB), and entries expire on their own.
///
/// ```
/// use std::sync::Arc;
/// use nhost_session_actix::LocalCoordinator;
/// use nhost_session_core::RefreshCoordinator;
///
/// let coordinator: Arc<dyn RefreshCoordinator> = Arc::new(
///     LocalCoordinator::builder()
///         .grace(time::Duration::seconds(30))
///         .capacity(10_000)
///         .build(),
/// );
/// # let _ = coordinator;
/// ```
#[derive(Clone)]
pub struct LocalCoordinator {
    inner: Arc<Inner>,
}

struct Inner {
    sessions: quick_cache::sync::Cache<TokenFingerprint, Known>,
    outcomes: quick_cache::sync::Cache<TokenFingerprint, Outcome>,
    flights: Mutex<HashMap<TokenFingerprint, Flight>>,
    settings: Settings,
    clock: Arc<dyn Clock>,
    next_flight: AtomicU64,
}

#[derive(Clone, Copy, Debug)]
struct Settings {
    margin: Duration,
    grace: Duration,
    dead_token_memory: Duration,
    rejection_ttl: Duration,
    capacity: u64,
}

/// A session and the margin that applies to it.
#[derive(Clone)]
struct Known {
    session: Arc<SharedSession>,
    /// The margin, at most half the access token's lifetime.
    margin: Duration,
}

impl Known {
    fn new(session: Arc<SharedSession>, lifetime: Option<Duration>, settings: &Settings) -> Self {
        let margin = effective_margin(settings.margin, lifetime);
        Self { session, margin }
    }

    fn is_fresh(&self, now: OffsetDateTime) -> bool {
        self.session.is_fresh(now, self.margin)
    }

    fn is_valid(&self, now: OffsetDateTime) -> bool {
        now < self.session.expires_at
    }
}

/// What became of a presented token.
#[derive(Clone)]
enum Outcome {
    /// It was refreshed: its successor is served until `grace_until`, then it is dead.
    Replaced {
        successor: Known,
        grace_until: OffsetDateTime,
        dead_until: OffsetDateTime,
    },
    /// It was rejected or signed out.
    Dead { until: OffsetDateTime },
}

enum View {
    Successor(Known),
    Dead,
    Unknown,
}

impl Outcome {
    fn view(&self, now: OffsetDateTime) -> View {
        match self {
            Self::Replaced {
                successor,
                grace_until,
                dead_until,
                ..
            } => {
                if now < *grace_until {
                    View::Successor(successor.clone())
                } else if now < *dead_until {
                    View::Dead
                } else {
                    View::Unknown
                }
            }
            Self::Dead { until, .. } if now < *until => View::Dead,
            Self::Dead { .. } => View::Unknown,
        }
    }

    /// Until when it says something ([`View::Unknown`] afterwards).
    fn meaningful_until(&self) -> OffsetDateTime {
        match self {
            Self::Replaced { dead_until, .. } => *dead_until,
            Self::Dead { until } => *until,
        }
    }
}

/// The outcome of one refresh, as its waiters receive it.
#[derive(Clone)]
enum FlightResult {
    Refreshed(Known),
    Rejected,
    Transient(Error),
}

type Flight = Shared<oneshot::Receiver<FlightResult>>;

/// One step of a resolution, decided without waiting.
enum Step {
    Done(Resolution),
    Follow(Known),
    Wait(Flight),
    Lead(FlightGuard),
}

/// Settings for a [`LocalCoordinator`].
#[derive(Clone)]
#[must_use]
pub struct LocalCoordinatorBuilder {
    settings: Settings,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for LocalCoordinatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCoordinatorBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for LocalCoordinatorBuilder {
    fn default() -> Self {
        Self {
            settings: Settings {
                margin: DEFAULT_MARGIN,
                grace: DEFAULT_GRACE,
                dead_token_memory: DEFAULT_DEAD_TOKEN_MEMORY,
                rejection_ttl: DEFAULT_REJECTION_TTL,
                capacity: DEFAULT_CAPACITY,
            },
            clock: Arc::new(SystemClock),
        }
    }
}

impl LocalCoordinatorBuilder {
    /// A session is refreshed when its access token expires within this margin (default
    /// 60 s); the margin is capped at half the token's lifetime, so short-lived tokens are
    /// still served for half their life.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.settings.margin = margin.max(Duration::ZERO);
        self
    }

    /// How long the outcome of a refresh stays available under the OLD token (default 60 s):
    /// requests that left the browser before it stored the new cookie get the new session
    /// and the new cookie. After that, the old token is treated as the dead token it is.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.settings.grace = grace.max(Duration::ZERO);
        self
    }

    /// How long a token known to be dead (replaced past its grace period, or signed out) is
    /// remembered as dead, so that it is refused without being sent to the auth service again
    /// (default 10 minutes; after that, the auth service refuses it).
    pub fn dead_token_memory(mut self, memory: Duration) -> Self {
        self.settings.dead_token_memory = memory.max(Duration::ZERO);
        self
    }

    /// How long a token the auth service rejected is refused without asking again (default
    /// 5 s). Short, because some rejections are not final (a disabled user may be enabled
    /// again).
    pub fn rejection_ttl(mut self, ttl: Duration) -> Self {
        self.settings.rejection_ttl = ttl.max(Duration::ZERO);
        self
    }

    /// The most entries each of the two caches (known sessions, refresh outcomes) holds
    /// (default 100,000). The least useful entries go first when it is full.
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.settings.capacity = capacity;
        self
    }

    /// The clock that decides freshness and grace (the system clock by default; a
    /// [`ManualClock`](nhost_session_core::ManualClock) in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The coordinator.
    pub fn build(self) -> LocalCoordinator {
        let capacity = usize::try_from(self.settings.capacity).unwrap_or(usize::MAX);
        LocalCoordinator {
            inner: Arc::new(Inner {
                sessions: quick_cache::sync::Cache::new(capacity),
                outcomes: quick_cache::sync::Cache::new(capacity),
                flights: Mutex::new(HashMap::new()),
                settings: self.settings,
                clock: self.clock,
                next_flight: AtomicU64::new(0),
            }),
        }
    }
}

impl Default for LocalCoordinator {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl fmt::Debug for LocalCoordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCoordinator")
            .field("settings", &self.inner.settings)
            .field("sessions", &self.inner.sessions.len())
            .field("outcomes", &self.inner.outcomes.len())
            .finish_non_exhaustive()
    }
}

impl LocalCoordinator {
    /// Settings, starting from the defaults.
    pub fn builder() -> LocalCoordinatorBuilder {
        LocalCoordinatorBuilder::default()
    }

    /// The refresh margin (before capping at half a token's lifetime).
    pub fn margin(&self) -> Duration {
        self.inner.settings.margin
    }

    /// The grace period of old tokens.
    pub fn grace(&self) -> Duration {
        self.inner.settings.grace
    }

    /// The capacity of each cache.
    pub fn capacity(&self) -> u64 {
        self.inner.settings.capacity
    }

    /// How many entries the caches hold (sessions, outcomes), expired ones included until
    /// they are read, displaced or [purged](Self::purge_expired); for monitoring.
    pub fn entry_counts(&self) -> (usize, usize) {
        (self.inner.sessions.len(), self.inner.outcomes.len())
    }

    /// Drops the entries that no longer mean anything: sessions whose access token expired,
    /// outcomes past their memory. Not needed for correctness (expired entries are ignored
    /// when read, and displaced when room is needed); call it from a timer to give their
    /// memory back sooner after a peak.
    pub fn purge_expired(&self) {
        let now = self.inner.clock.now();
        self.inner.sessions.retain(|_, known| known.is_valid(now));
        self.inner
            .outcomes
            .retain(|_, outcome| now < outcome.meaningful_until());
    }
}

impl Inner {
    fn lock_flights(&self) -> MutexGuard<'_, HashMap<TokenFingerprint, Flight>> {
        self.flights.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is known about `token` without asking anyone. `carried` is the successor session
    /// that led here, used when the cache no longer holds it.
    fn known_step(
        &self,
        fp: &TokenFingerprint,
        token: &RefreshToken,
        carried: Option<&Known>,
        now: OffsetDateTime,
    ) -> Option<Step> {
        // Known sessions first, the common case. A token is under `sessions` or under
        // `outcomes`, not both: every change that puts it in one takes it out of the other.
        if let Some(known) = self.sessions.get(fp).filter(|k| k.is_fresh(now)) {
            return Some(Step::Done(Resolution::Session(known.session)));
        }
        match self.outcomes.get(fp).map(|o| o.view(now)) {
            Some(View::Successor(next)) => return Some(Step::Follow(next)),
            Some(View::Dead) => return Some(Step::Done(Resolution::Rejected)),
            Some(View::Unknown) | None => {}
        }
        carried
            .filter(|k| k.session.refresh_token.ct_eq(token) && k.is_fresh(now))
            .map(|k| Step::Done(Resolution::Session(Arc::clone(&k.session))))
    }

    /// Decides the next step for `token`: a known answer, a refresh to wait for, or the
    /// refresh to make.
    fn step(
        self: &Arc<Self>,
        token: &RefreshToken,
        carried: Option<&Known>,
        now: OffsetDateTime,
    ) -> Step {
        let fp = TokenFingerprint::of(token);
        // The common case, without the lock: a known fresh session.
        if let Some(step) = self.known_step(&fp, token, carried, now) {
            return step;
        }
        let mut flights = self.lock_flights();
        // Again under the lock: a leader stores its outcome before it leaves the map, so
        // whoever finds no flight here sees the outcome.
        if let Some(step) = self.known_step(&fp, token, carried, now) {
            return step;
        }
        if let Some(flight) = flights.get(&fp) {
            return Step::Wait(flight.clone());
        }
        let (sender, receiver) = oneshot::channel();
        flights.insert(fp, receiver.shared());
        Step::Lead(FlightGuard {
            inner: Arc::clone(self),
            fp,
            sender: Some(sender),
            id: self.next_flight.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Refreshes `token` and records the outcome.
    async fn refresh(&self, token: &RefreshToken, refresher: &dyn Refresher) -> FlightResult {
        let fp = TokenFingerprint::of(token);
        let answer = refresher.refresh(token).await;
        let now = self.clock.now();
        match answer {
            Ok(session) => {
                let lifetime = Duration::seconds(
                    i64::try_from(session.access_token_expires_in).unwrap_or(i64::MAX),
                );
                let shared = Arc::new(SharedSession::from_session(session, now));
                let known = Known::new(shared, Some(lifetime), &self.settings);
                let new_fp = TokenFingerprint::of(&known.session.refresh_token);
                self.sessions.insert(new_fp, known.clone());
                // (For a server that does not rotate, `new_fp == fp`: the same token stays
                // valid, and anything remembered against it goes.)
                self.outcomes.remove(&new_fp);
                if new_fp != fp {
                    // Rotated: the old token is dead; its outcome stays for the grace period.
                    self.sessions.remove(&fp);
                    let grace_until = now + self.settings.grace;
                    let dead_until = grace_until + self.settings.dead_token_memory;
                    self.outcomes.insert(
                        fp,
                        Outcome::Replaced {
                            successor: known.clone(),
                            grace_until,
                            dead_until,
                        },
                    );
                }
                tracing::debug!(token = %fp, "nhost-session: refreshed");
                FlightResult::Refreshed(known)
            }
            Err(error) if error.ends_session() => {
                self.sessions.remove(&fp);
                self.outcomes
                    .insert(fp, self.dead(now, self.settings.rejection_ttl));
                tracing::debug!(token = %fp, "nhost-session: refresh token rejected");
                FlightResult::Rejected
            }
            Err(error) => {
                tracing::warn!(token = %fp, %error, "nhost-session: refresh failed, will retry");
                FlightResult::Transient(error)
            }
        }
    }

    fn dead(&self, now: OffsetDateTime, memory: Duration) -> Outcome {
        Outcome::Dead {
            until: now + memory,
        }
    }

    /// A transient failure: the stale session is still served while its JWT is valid.
    fn after_transient(&self, token: &RefreshToken, error: Error) -> Resolution {
        let now = self.clock.now();
        match self.sessions.get(&TokenFingerprint::of(token)) {
            Some(known) if known.is_valid(now) => Resolution::Session(known.session),
            _ => Resolution::Unavailable(error),
        }
    }
}

/// Held by the request that refreshes; the flight leaves the map when it is dropped, and
/// waiters of a flight whose leader vanished are told the session is unavailable (they never
/// send the token again themselves: the vanished refresh may have consumed it).
struct FlightGuard {
    inner: Arc<Inner>,
    fp: TokenFingerprint,
    sender: Option<oneshot::Sender<FlightResult>>,
    id: u64,
}

impl FlightGuard {
    fn finish(mut self, result: FlightResult) {
        self.leave();
        if let Some(sender) = self.sender.take() {
            let _ = sender.send(result);
        }
    }

    fn leave(&self) {
        let mut flights = self.inner.lock_flights();
        flights.remove(&self.fp);
        tracing::trace!(flight = self.id, "nhost-session: flight done");
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if self.sender.is_some() {
            self.leave();
        }
    }
}

#[async_trait]
impl RefreshCoordinator for LocalCoordinator {
    async fn resolve(&self, presented: &RefreshToken, refresher: &dyn Refresher) -> Resolution {
        let inner = &self.inner;
        let mut token = presented.clone();
        let mut carried: Option<Known> = None;
        for _ in 0..MAX_HOPS {
            let now = inner.clock.now();
            match inner.step(&token, carried.as_ref(), now) {
                Step::Done(resolution) => return resolution,
                Step::Follow(next) => {
                    token = next.session.refresh_token.clone();
                    carried = Some(next);
                }
                Step::Wait(flight) => {
                    return match flight.await {
                        Ok(FlightResult::Refreshed(known)) => Resolution::Session(known.session),
                        Ok(FlightResult::Rejected) => Resolution::Rejected,
                        Ok(FlightResult::Transient(error)) => inner.after_transient(&token, error),
                        Err(oneshot::Canceled) => {
                            inner.after_transient(&token, abandoned(inner.clock.now()))
                        }
                    };
                }
                Step::Lead(guard) => {
                    let result = inner.refresh(&token, refresher).await;
                    guard.finish(result.clone());
                    return match result {
                        FlightResult::Refreshed(known) => Resolution::Session(known.session),
                        FlightResult::Rejected => Resolution::Rejected,
                        FlightResult::Transient(error) => inner.after_transient(&token, error),
                    };
                }
            }
        }
        tracing::warn!("nhost-session: too many replaced tokens in a row");
        Resolution::Unavailable(abandoned(inner.clock.now()))
    }

    fn resolve_known(&self, presented: &RefreshToken) -> Option<Resolution> {
        let inner = &self.inner;
        let now = hot_path_now(inner.clock.as_ref());
        let mut carried: Option<Known> = None;
        for _ in 0..MAX_HOPS {
            let token = carried
                .as_ref()
                .map_or(presented, |known| &known.session.refresh_token);
            let fp = TokenFingerprint::of(token);
            match inner.known_step(&fp, token, carried.as_ref(), now)? {
                Step::Done(resolution) => return Some(resolution),
                Step::Follow(next) => carried = Some(next),
                // `known_step` neither waits nor leads; `resolve` decides those under its lock.
                Step::Wait(_) | Step::Lead(_) => return None,
            }
        }
        None
    }

    async fn remember(&self, session: Arc<SharedSession>) {
        let inner = &self.inner;
        let now = inner.clock.now();
        let lifetime = session.expires_at - now;
        let fp = TokenFingerprint::of(&session.refresh_token);
        let known = Known::new(session, Some(lifetime), &inner.settings);
        inner.outcomes.remove(&fp);
        inner.sessions.insert(fp, known);
    }

    async fn forget(&self, token: &RefreshToken) {
        let inner = &self.inner;
        let fp = TokenFingerprint::of(token);
        let now = inner.clock.now();
        inner.sessions.remove(&fp);
        let memory = inner.settings.grace + inner.settings.dead_token_memory;
        inner.outcomes.insert(fp, inner.dead(now, memory));
    }
}

/// The time for the answer to every request of a known session: the clock's cheap coarse
/// reading, which may lag by up to [`COARSE_CLOCK_LAG`](nhost_session_core::COARSE_CLOCK_LAG).
/// That lag only keeps a session fresh a few milliseconds longer within a margin of seconds;
/// refreshes and their records use the precise time.
fn hot_path_now(clock: &dyn Clock) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(clock.now_unix_nanos())
        .unwrap_or_else(|_| clock.now())
}

/// The error waiters get when the refresh they waited for vanished.
fn abandoned(now: OffsetDateTime) -> Error {
    Error::TemporarilyUnavailable {
        retry_at: now + Duration::seconds(1),
    }
}

/// The margin for a token of `lifetime`: at most half of it, never negative.
pub(crate) fn effective_margin(margin: Duration, lifetime: Option<Duration>) -> Duration {
    let margin = margin.max(Duration::ZERO);
    match lifetime {
        Some(lifetime) => margin.min(lifetime / 2).max(Duration::ZERO),
        None => margin,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use nhost_session_core::{ManualClock, Session};

    use super::*;

    /// A refresher that rotates tokens `t0 → t1 → t2 …`, counting calls, after an optional
    /// delay, or answers with a prepared error.
    struct FakeRefresher {
        calls: AtomicUsize,
        lifetime: u64,
        fail: Mutex<Option<Error>>,
        delay: std::time::Duration,
    }

    impl FakeRefresher {
        fn new(lifetime: u64) -> Self {
            Self {
                calls: AtomicUsize::new(0),
                lifetime,
                fail: Mutex::new(None),
                delay: std::time::Duration::ZERO,
            }
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl Refresher for FakeRefresher {
        async fn refresh(&self, token: &RefreshToken) -> Result<Session, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if let Some(error) = self.fail.lock().unwrap().clone() {
                return Err(error);
            }
            let n: u32 = token.expose_secret()[1..].parse().unwrap();
            Ok(Session {
                access_token: nhost_session_core::AccessToken::new(format!("jwt{}", n + 1)),
                access_token_expires_in: self.lifetime,
                refresh_token: RefreshToken::new(format!("t{}", n + 1)),
                refresh_token_id: "id".into(),
                user: None,
            })
        }
    }

    fn rejected() -> Error {
        Error::RefreshTokenRejected(Box::new(nhost_session_core::ServerError {
            status: 401,
            body: nhost_session_core::ErrorBody::parse(br#"{"error":"invalid-refresh-token"}"#),
            raw: nhost_session_core::RawBody::new(b""),
        }))
    }

    fn transient() -> Error {
        Error::Transport(nhost_session_core::TransportError::new(
            nhost_session_core::TransportErrorKind::Connect,
            "refused",
        ))
    }

    fn setup() -> (Arc<ManualClock>, LocalCoordinator) {
        let clock = Arc::new(ManualClock::default());
        let coordinator = LocalCoordinator::builder().clock(clock.clone()).build();
        (clock, coordinator)
    }

    fn token_of(resolution: &Resolution) -> String {
        match resolution {
            Resolution::Session(s) => s.refresh_token.expose_secret().to_owned(),
            Resolution::Rejected => "rejected".into(),
            Resolution::Unavailable(_) => "unavailable".into(),
        }
    }

    #[tokio::test]
    async fn refreshes_once_then_serves_from_memory_until_the_margin() {
        let (clock, coordinator) = setup();
        let refresher = FakeRefresher::new(900);
        let t0 = RefreshToken::new("t0");
        assert_eq!(token_of(&coordinator.resolve(&t0, &refresher).await), "t1");
        let t1 = RefreshToken::new("t1");
        for _ in 0..5 {
            assert_eq!(token_of(&coordinator.resolve(&t1, &refresher).await), "t1");
        }
        assert_eq!(refresher.calls(), 1);
        clock.advance(Duration::seconds(839));
        assert_eq!(token_of(&coordinator.resolve(&t1, &refresher).await), "t1");
        clock.advance(Duration::seconds(2));
        assert_eq!(token_of(&coordinator.resolve(&t1, &refresher).await), "t2");
        assert_eq!(refresher.calls(), 2);
    }

    /// `resolve_known`'s answer for `token`, checked against what `resolve` answers at the
    /// same moment: the same session (or rejection), and no refresh on the way.
    async fn known(
        coordinator: &LocalCoordinator,
        token: &str,
        refresher: &FakeRefresher,
    ) -> String {
        let token = RefreshToken::new(token);
        let Some(known) = coordinator.resolve_known(&token) else {
            return "unknown".into();
        };
        let calls = refresher.calls();
        let resolved = coordinator.resolve(&token, refresher).await;
        assert_eq!(token_of(&known), token_of(&resolved));
        assert_eq!(
            refresher.calls(),
            calls,
            "resolve refreshed a token known without it"
        );
        token_of(&known)
    }

    #[tokio::test]
    async fn known_answers_are_resolves_answers_without_waiting() {
        let (clock, coordinator) = setup();
        let refresher = FakeRefresher::new(900);
        assert_eq!(known(&coordinator, "t0", &refresher).await, "unknown");
        let t0 = RefreshToken::new("t0");
        assert_eq!(token_of(&coordinator.resolve(&t0, &refresher).await), "t1");
        assert_eq!(known(&coordinator, "t1", &refresher).await, "t1");
        // The old token, within its grace period: its successor.
        assert_eq!(known(&coordinator, "t0", &refresher).await, "t1");
        clock.advance(Duration::seconds(61));
        // After the grace period the old token is known to be dead.
        assert_eq!(known(&coordinator, "t0", &refresher).await, "rejected");
        clock.advance(Duration::seconds(778));
        assert_eq!(known(&coordinator, "t1", &refresher).await, "t1");
        // Within the margin: only `resolve` (a refresh) can answer.
        clock.advance(Duration::seconds(2));
        assert_eq!(known(&coordinator, "t1", &refresher).await, "unknown");
        assert_eq!(refresher.calls(), 1);
        coordinator.forget(&RefreshToken::new("t1")).await;
        assert_eq!(known(&coordinator, "t1", &refresher).await, "rejected");
        assert_eq!(refresher.calls(), 1);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let (_clock, coordinator) = setup();
        let refresher = FakeRefresher {
            delay: std::time::Duration::from_millis(50),
            ..FakeRefresher::new(900)
        };
        let t0 = RefreshToken::new("t0");
        let all =
            futures_util::future::join_all((0..50).map(|_| coordinator.resolve(&t0, &refresher)))
                .await;
        assert!(all.iter().all(|r| token_of(r) == "t1"));
        assert_eq!(refresher.calls(), 1);
    }

    #[tokio::test]
    async fn old_tokens_get_the_newest_session_during_the_grace_period_only() {
        let (clock, coordinator) = setup();
        let refresher = FakeRefresher::new(20);
        let t0 = RefreshToken::new("t0");
        assert_eq!(token_of(&coordinator.resolve(&t0, &refresher).await), "t1");
        clock.advance(Duration::seconds(15));
        // t1 is within its margin (10 s, half of 20 s): refreshed once to t2.
        let t1 = RefreshToken::new("t1");
        assert_eq!(token_of(&coordinator.resolve(&t1, &refresher).await), "t2");
        // t0 follows the chain t0 → t1 → t2 without a call.
        assert_eq!(token_of(&coordinator.resolve(&t0, &refresher).await), "t2");
        assert_eq!(refresher.calls(), 2);
        clock.advance(Duration::seconds(50));
        // t0's grace is over (refreshed 65 s ago): dead, and not sent again.
        assert_eq!(
            token_of(&coordinator.resolve(&t0, &refresher).await),
            "rejected"
        );
        assert_eq!(refresher.calls(), 2);
        // Long after, the auth service is asked (and would refuse).
        clock.advance(Duration::minutes(20));
        *refresher.fail.lock().unwrap() = Some(rejected());
        assert_eq!(
            token_of(&coordinator.resolve(&t0, &refresher).await),
            "rejected"
        );
        assert_eq!(refresher.calls(), 3);
    }

    #[tokio::test]
    async fn rejections_are_remembered_briefly_and_transient_failures_not_at_all() {
        let (clock, coordinator) = setup();
        let refresher = FakeRefresher::new(900);
        *refresher.fail.lock().unwrap() = Some(rejected());
        let t5 = RefreshToken::new("t5");
        assert!(matches!(
            coordinator.resolve(&t5, &refresher).await,
            Resolution::Rejected
        ));
        assert!(matches!(
            coordinator.resolve(&t5, &refresher).await,
            Resolution::Rejected
        ));
        assert_eq!(refresher.calls(), 1);
        clock.advance(Duration::seconds(6));
        *refresher.fail.lock().unwrap() = Some(transient());
        assert!(matches!(
            coordinator.resolve(&t5, &refresher).await,
            Resolution::Unavailable(_)
        ));
        assert!(matches!(
            coordinator.resolve(&t5, &refresher).await,
            Resolution::Unavailable(_)
        ));
        assert_eq!(refresher.calls(), 3);
        *refresher.fail.lock().unwrap() = None;
        assert_eq!(token_of(&coordinator.resolve(&t5, &refresher).await), "t6");
    }

    #[tokio::test]
    async fn a_transient_failure_keeps_serving_a_still_valid_jwt() {
        let (clock, coordinator) = setup();
        let refresher = FakeRefresher::new(900);
        let t0 = RefreshToken::new("t0");
        coordinator.resolve(&t0, &refresher).await;
        clock.advance(Duration::seconds(870));
        *refresher.fail.lock().unwrap() = Some(transient());
        let t1 = RefreshToken::new("t1");
        assert_eq!(token_of(&coordinator.resolve(&t1, &refresher).await), "t1");
        clock.advance(Duration::seconds(31));
        assert!(matches!(
            coordinator.resolve(&t1, &refresher).await,
            Resolution::Unavailable(_)
        ));
    }

    #[tokio::test]
    async fn remembered_sessions_need_no_call_and_forgotten_tokens_are_dead() {
        let (clock, coordinator) = setup();
        let refresher = FakeRefresher::new(900);
        let session = Arc::new(SharedSession {
            access_token: nhost_session_core::AccessToken::new("jwt"),
            expires_at: clock.now() + Duration::seconds(900),
            refresh_token: RefreshToken::new("t7"),
            refresh_token_id: "id".into(),
            user: None,
        });
        coordinator.remember(session).await;
        let t7 = RefreshToken::new("t7");
        assert_eq!(token_of(&coordinator.resolve(&t7, &refresher).await), "t7");
        coordinator.forget(&t7).await;
        assert_eq!(
            token_of(&coordinator.resolve(&t7, &refresher).await),
            "rejected"
        );
        assert_eq!(refresher.calls(), 0);
    }

    #[tokio::test]
    async fn waiters_of_an_abandoned_refresh_do_not_resend_the_token() {
        let (_clock, coordinator) = setup();
        let refresher = Arc::new(FakeRefresher {
            delay: std::time::Duration::from_millis(200),
            ..FakeRefresher::new(900)
        });
        let t0 = RefreshToken::new("t0");
        let leader = {
            let (coordinator, refresher, t0) = (coordinator.clone(), refresher.clone(), t0.clone());
            tokio::spawn(async move { coordinator.resolve(&t0, &*refresher).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let waiter = coordinator.resolve(&t0, &*refresher);
        let abort = async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            leader.abort();
        };
        let (waited, ()) = tokio::join!(waiter, abort);
        assert!(matches!(waited, Resolution::Unavailable(_)));
        assert_eq!(refresher.calls(), 1);
    }

    #[tokio::test]
    async fn memory_is_bounded_by_the_capacity() {
        let clock = Arc::new(ManualClock::default());
        let coordinator = LocalCoordinator::builder()
            .clock(clock.clone())
            .capacity(10)
            .build();
        for i in 0..1000 {
            coordinator
                .remember(Arc::new(SharedSession {
                    access_token: nhost_session_core::AccessToken::new("jwt"),
                    expires_at: clock.now() + Duration::seconds(900),
                    refresh_token: RefreshToken::new(format!("t{i}")),
                    refresh_token_id: "id".into(),
                    user: None,
                }))
                .await;
            coordinator
                .forget(&RefreshToken::new(format!("x{i}")))
                .await;
        }
        let (sessions, outcomes) = coordinator.entry_counts();
        assert!(sessions <= 10 && outcomes <= 10, "{sessions} {outcomes}");
    }

    #[tokio::test]
    async fn purging_drops_only_what_no_longer_means_anything() {
        let clock = Arc::new(ManualClock::default());
        let coordinator = LocalCoordinator::builder().clock(clock.clone()).build();
        let session = |token: &str, lifetime: i64| {
            Arc::new(SharedSession {
                access_token: nhost_session_core::AccessToken::new("jwt"),
                expires_at: clock.now() + Duration::seconds(lifetime),
                refresh_token: RefreshToken::new(token),
                refresh_token_id: "id".into(),
                user: None,
            })
        };
        coordinator.remember(session("short", 100)).await;
        coordinator.remember(session("long", 900)).await;
        coordinator.forget(&RefreshToken::new("dead")).await;
        coordinator.purge_expired();
        assert_eq!(coordinator.entry_counts(), (2, 1), "nothing expired yet");

        clock.advance(Duration::seconds(101));
        coordinator.purge_expired();
        assert_eq!(
            coordinator.entry_counts(),
            (1, 1),
            "the short session's JWT expired"
        );
        assert!(matches!(
            coordinator.resolve_known(&RefreshToken::new("long")),
            Some(Resolution::Session(_))
        ));

        let memory = DEFAULT_GRACE + DEFAULT_DEAD_TOKEN_MEMORY;
        clock.advance(memory);
        coordinator.purge_expired();
        assert_eq!(
            coordinator.entry_counts(),
            (1, 0),
            "the dead token is forgotten"
        );
    }

    #[test]
    fn margins_are_capped_at_half_the_lifetime() {
        let m = Duration::seconds(60);
        assert_eq!(effective_margin(m, Some(Duration::seconds(900))), m);
        assert_eq!(
            effective_margin(m, Some(Duration::seconds(6))),
            Duration::seconds(3)
        );
        assert_eq!(effective_margin(m, None), m);
        assert_eq!(
            effective_margin(m, Some(Duration::seconds(-5))),
            Duration::ZERO
        );
    }

    #[test]
    fn debug_shows_no_tokens() {
        let (_clock, coordinator) = setup();
        let text = format!("{coordinator:?}");
        assert!(text.contains("LocalCoordinator"), "{text}");
    }
}
