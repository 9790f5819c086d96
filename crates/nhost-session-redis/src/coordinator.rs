//! [`RedisCoordinator`]: the resolution of a presented refresh token across instances.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use nhost_session_core::{
    Clock, Error, RefreshCoordinator, RefreshToken, Refresher, Resolution, SharedSession,
    TokenFingerprint,
};
use redis::{Client, Pipeline};
use time::{Duration, OffsetDateTime};

use crate::config::{RedisCoordinatorBuilder, Settings};
use crate::connection::{Connection, Failure};
use crate::crypto::{EncryptionKey, Sealer};
use crate::entry::{Entry, Known, View, effective_margin, ttl_ms, unix_ms};
use crate::fallback::{Health, Memory};
use crate::flight::{Flights, Join};
use crate::keys::Keys;
use crate::lock::{self, Keeper};

/// How many replaced tokens a request may be behind the newest one and still be caught up.
const MAX_HOPS: usize = 64;
/// The first and the longest pause between two looks at a refresh made elsewhere.
const FIRST_POLL: StdDuration = StdDuration::from_millis(10);
const MAX_POLL: StdDuration = StdDuration::from_millis(100);

/// A [`RefreshCoordinator`] shared by several instances of an app through Redis: across all
/// of them, at most one `POST /token` per refresh token; the others wait for its outcome and
/// use it. See the [crate documentation](crate) for the protocol and its guarantees.
///
/// Build ONE per process (outside `HttpServer::new`'s closure) and give it to
/// `SessionMiddleware::builder(..).coordinator(..)`. It needs a tokio runtime when it is used
/// (actix's is one). Cloning is cheap and shares everything.
#[derive(Clone)]
pub struct RedisCoordinator {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Arc<Connection>,
    keys: Keys,
    sealer: Sealer,
    settings: Settings,
    clock: Arc<dyn Clock>,
    health: Health,
    memory: Memory,
    /// One resolution per presented token in this process.
    resolutions: Flights<Resolution>,
    /// One `POST /token` per token in this process, whatever path leads to it.
    refreshes: Flights<Arc<Refreshed>>,
    url: String,
}

impl fmt::Debug for RedisCoordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCoordinator")
            .field("url", &self.inner.url)
            .field("prefix", &self.inner.keys.prefix())
            .field("settings", &self.inner.settings)
            .field("redis_down", &self.inner.health.is_down())
            .field("memory_entries", &self.inner.memory.entry_count())
            .finish_non_exhaustive()
    }
}

impl RedisCoordinator {
    /// Settings, starting from the defaults, with the key that encrypts what is stored.
    pub fn builder(key: EncryptionKey) -> RedisCoordinatorBuilder {
        RedisCoordinatorBuilder::new(key)
    }

    pub(crate) fn new(
        client: Client,
        keys: Keys,
        key: &EncryptionKey,
        settings: Settings,
        clock: Arc<dyn Clock>,
        url: String,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connection: Arc::new(Connection::new(client, settings.command_timeout)),
                keys,
                sealer: Sealer::new(key),
                health: Health::new(settings.retry_after),
                memory: Memory::new(settings.capacity),
                settings,
                clock,
                resolutions: Flights::default(),
                refreshes: Flights::default(),
                url,
            }),
        }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.inner.keys.prefix()
    }

    /// Whether Redis is considered down right now (after a failure, for
    /// [`retry_after`](RedisCoordinatorBuilder::retry_after)): requests are then resolved
    /// in-process.
    pub fn is_redis_down(&self) -> bool {
        self.inner.health.is_down()
    }

    /// Sends `PING` to Redis: `true` when it answered in time. For health checks and startup
    /// logs; the coordinator works (in-process) without Redis.
    pub async fn ping(&self) -> bool {
        let answer = self
            .inner
            .connection
            .query::<String>(&redis::cmd("PING"))
            .await;
        match answer {
            Ok(_) => {
                self.inner.health.succeeded();
                true
            }
            Err(_) => false,
        }
    }
}

/// What to do with a token after one look.
enum Decision {
    /// The answer.
    Done(Resolution),
    /// The token was replaced within the grace period: go on with its successor.
    Follow(Known),
    /// It needs a refresh; `stale` is its session if known (still served if the refresh fails
    /// transiently while its JWT is valid).
    Refresh { stale: Option<Known> },
}

/// How a resolution through Redis ended.
enum Outcome {
    /// Redis answered (or failed after this process committed to an answer).
    Resolved(Resolution),
    /// Redis failed before anything was decided: resolve in-process.
    Fallback(Failure),
}

/// What a step of the shared protocol ended with.
enum Step {
    Done(Outcome),
    Follow(Known),
}

/// What one `POST /token` gave.
#[derive(Clone)]
enum RefreshResult {
    Refreshed(Known),
    Rejected,
    Transient(Error),
}

/// A refresh's result and the entries that record it (written to memory, then to Redis).
struct Refreshed {
    result: RefreshResult,
    entries: Vec<(TokenFingerprint, Entry)>,
}

/// Decides from one entry (from Redis or memory). `carried` is the successor that led to
/// `token`, used when nothing is stored under it.
fn decide(
    token: &RefreshToken,
    entry: Option<&Entry>,
    carried: Option<&Known>,
    now: OffsetDateTime,
) -> Decision {
    let view = entry.map_or(View::Unknown, |entry| entry.view(now));
    match view {
        View::Successor(next) => Decision::Follow(next),
        View::Dead => Decision::Done(Resolution::Rejected),
        View::Current(known) if known.is_fresh(now) => {
            Decision::Done(Resolution::Session(known.session))
        }
        View::Current(known) => Decision::Refresh { stale: Some(known) },
        View::Unknown => {
            let carried = carried.filter(|k| k.session.refresh_token.ct_eq(token));
            match carried {
                Some(known) if known.is_fresh(now) => {
                    Decision::Done(Resolution::Session(Arc::clone(&known.session)))
                }
                other => Decision::Refresh {
                    stale: other.cloned(),
                },
            }
        }
    }
}

impl Inner {
    fn unavailable(&self) -> Resolution {
        Resolution::Unavailable(Error::TemporarilyUnavailable {
            retry_at: self.clock.now() + Duration::seconds(1),
        })
    }

    /// A transient failure: the stale session is still served while its JWT is valid.
    fn after_transient(&self, stale: Option<&Known>, error: Option<Error>) -> Resolution {
        match stale {
            Some(known) if known.is_valid(self.clock.now()) => {
                Resolution::Session(Arc::clone(&known.session))
            }
            _ => error.map_or_else(|| self.unavailable(), Resolution::Unavailable),
        }
    }

    fn after_refresh(&self, result: &RefreshResult, stale: Option<&Known>) -> Resolution {
        match result {
            RefreshResult::Refreshed(known) => Resolution::Session(Arc::clone(&known.session)),
            RefreshResult::Rejected => Resolution::Rejected,
            RefreshResult::Transient(error) => self.after_transient(stale, Some(error.clone())),
        }
    }

    /// Reads and opens what Redis holds under a token (and keeps a copy in memory). An
    /// unreadable value (another key, a tampered value, an old format) counts as nothing.
    async fn get_entry(&self, fp: &TokenFingerprint) -> Result<Option<Entry>, Failure> {
        let key = self.keys.session(fp);
        let value: Option<Vec<u8>> = self.connection.query(redis::cmd("GET").arg(&key)).await?;
        self.health.succeeded();
        let entry = value.and_then(|value| self.open(&key, fp, &value));
        if let Some(entry) = &entry {
            self.memory.put_read(*fp, entry, self.clock.now());
        }
        Ok(entry)
    }

    fn open(&self, key: &str, fp: &TokenFingerprint, value: &[u8]) -> Option<Entry> {
        let opened = match self.sealer.open(key, value) {
            Ok(plain) => plain,
            Err(error) => {
                tracing::error!(
                    token = %fp,
                    ?error,
                    "nhost-session-redis: a value in Redis does not open with this key (do all \
                     instances share one encryption key?); ignored"
                );
                return None;
            }
        };
        match serde_json::from_slice(&opened) {
            Ok(entry) => Some(entry),
            Err(_) => {
                tracing::warn!(token = %fp, "nhost-session-redis: an unreadable entry was ignored");
                None
            }
        }
    }

    /// Adds `SET {prefix}:s:{fp} sealed(entry) PX ttl` to a pipeline, with the TTL until the
    /// entry means nothing (nothing when that is past, or sealing failed).
    fn set_entry(
        &self,
        pipeline: &mut Pipeline,
        fp: &TokenFingerprint,
        entry: &Entry,
        now: OffsetDateTime,
    ) {
        let key = self.keys.session(fp);
        let Some(ttl) = ttl_ms(entry.meaningful_until() - now) else {
            return;
        };
        let Some(value) = serde_json::to_vec(entry)
            .ok()
            .and_then(|plain| self.sealer.seal(&key, &plain).ok())
        else {
            return;
        };
        pipeline
            .cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(ttl)
            .ignore();
    }

    fn mark_failed(&self, pipeline: &mut Pipeline, fp: &TokenFingerprint) {
        let ms = u64::try_from(self.settings.failure_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        pipeline
            .cmd("SET")
            .arg(self.keys.failure(fp))
            .arg("1")
            .arg("PX")
            .arg(ms)
            .ignore();
    }

    /// The entry of a token's own session.
    fn session_entry(&self, session: &SharedSession, now: OffsetDateTime) -> (Entry, Duration) {
        let margin = effective_margin(self.settings.margin, session.expires_at - now);
        let entry = Entry::Session {
            session: session.clone(),
            margin_ms: i64::try_from(margin.whole_milliseconds()).unwrap_or(0),
        };
        (entry, margin)
    }

    /// One `POST /token` for `token` in this process, whoever asks (the owner of the Redis
    /// lock, or a request served in-process): its outcome is recorded in memory.
    async fn refresh_once(
        &self,
        token: &RefreshToken,
        refresher: &dyn Refresher,
    ) -> Arc<Refreshed> {
        let fp = TokenFingerprint::of(token);
        let guard = match self.refreshes.join(fp) {
            Join::Wait(flight) => {
                return flight.await.unwrap_or_else(|_| {
                    // The refresh vanished (its task was dropped): it may have used the token,
                    // so it is not sent again now.
                    Arc::new(Refreshed {
                        result: RefreshResult::Transient(Error::TemporarilyUnavailable {
                            retry_at: self.clock.now() + Duration::seconds(1),
                        }),
                        entries: Vec::new(),
                    })
                });
            }
            Join::Lead(guard) => guard,
        };
        let answer = refresher.refresh(token).await;
        let now = self.clock.now();
        let mut entries = Vec::new();
        let result = match answer {
            Ok(session) => {
                let shared = SharedSession::from_session(session, now);
                let new_fp = TokenFingerprint::of(&shared.refresh_token);
                let (entry, margin) = self.session_entry(&shared, now);
                entries.push((new_fp, entry));
                if new_fp != fp {
                    let grace_until = now + self.settings.grace;
                    entries.push((
                        fp,
                        Entry::Replaced {
                            successor: shared.clone(),
                            margin_ms: i64::try_from(margin.whole_milliseconds()).unwrap_or(0),
                            grace_until: unix_ms(grace_until),
                            dead_until: unix_ms(grace_until + self.settings.dead_token_memory),
                        },
                    ));
                }
                tracing::debug!(token = %fp, "nhost-session-redis: refreshed");
                RefreshResult::Refreshed(Known {
                    session: Arc::new(shared),
                    margin,
                })
            }
            Err(error) if error.ends_session() => {
                entries.push((
                    fp,
                    Entry::Dead {
                        until: unix_ms(now + self.settings.rejection_ttl),
                    },
                ));
                tracing::debug!(token = %fp, "nhost-session-redis: refresh token rejected");
                RefreshResult::Rejected
            }
            Err(error) => {
                tracing::warn!(token = %fp, %error, "nhost-session-redis: refresh failed, will retry");
                RefreshResult::Transient(error)
            }
        };
        for (fp, entry) in &entries {
            self.memory.put(*fp, entry.clone(), now);
        }
        let refreshed = Arc::new(Refreshed { result, entries });
        guard.finish(Arc::clone(&refreshed));
        refreshed
    }

    /// The resolution from memory only (Redis is down): what this instance learnt, and its
    /// own refreshes.
    async fn resolve_in_memory(
        &self,
        presented: &RefreshToken,
        refresher: &dyn Refresher,
    ) -> Resolution {
        let mut token = presented.clone();
        let mut carried: Option<Known> = None;
        for _ in 0..MAX_HOPS {
            let fp = TokenFingerprint::of(&token);
            let now = self.clock.now();
            let entry = self.memory.get(&fp, now);
            match decide(&token, entry.as_ref(), carried.as_ref(), now) {
                Decision::Done(resolution) => return resolution,
                Decision::Follow(next) => {
                    token = next.session.refresh_token.clone();
                    carried = Some(next);
                }
                Decision::Refresh { stale } => {
                    let refreshed = self.refresh_once(&token, refresher).await;
                    return self.after_refresh(&refreshed.result, stale.as_ref());
                }
            }
        }
        tracing::warn!("nhost-session-redis: too many replaced tokens in a row");
        self.unavailable()
    }

    /// The resolution through Redis.
    async fn resolve_shared(&self, presented: &RefreshToken, refresher: &dyn Refresher) -> Outcome {
        let mut token = presented.clone();
        let mut carried: Option<Known> = None;
        for _ in 0..MAX_HOPS {
            let fp = TokenFingerprint::of(&token);
            let entry = match self.get_entry(&fp).await {
                Ok(entry) => entry,
                Err(failure) => match carried {
                    None => return Outcome::Fallback(failure),
                    Some(known) => {
                        // Following a chain: the successor in hand is the best answer.
                        self.health.failed("GET", &failure);
                        return Outcome::Resolved(self.after_transient(Some(&known), None));
                    }
                },
            };
            let step = match decide(&token, entry.as_ref(), carried.as_ref(), self.clock.now()) {
                Decision::Done(resolution) => return Outcome::Resolved(resolution),
                Decision::Follow(next) => Step::Follow(next),
                Decision::Refresh { stale } => self.refresh_shared(&token, stale, refresher).await,
            };
            match step {
                Step::Done(outcome) => return outcome,
                Step::Follow(next) => {
                    token = next.session.refresh_token.clone();
                    carried = Some(next);
                }
            }
        }
        tracing::warn!("nhost-session-redis: too many replaced tokens in a row");
        Outcome::Resolved(self.unavailable())
    }

    /// One refresh of `token` across all instances: take the lock and refresh, or wait for
    /// whoever holds it.
    async fn refresh_shared(
        &self,
        token: &RefreshToken,
        mut stale: Option<Known>,
        refresher: &dyn Refresher,
    ) -> Step {
        let fp = TokenFingerprint::of(token);
        let lock_key = self.keys.lock(&fp);
        let owner = match lock::new_owner_id() {
            Ok(owner) => owner,
            Err(failure) => return Step::Done(Outcome::Fallback(failure)),
        };
        match lock::try_acquire(&self.connection, &lock_key, &owner, self.settings.lock_ttl).await {
            Ok(true) => {
                return self
                    .lead(token, &fp, &lock_key, &owner, stale, refresher)
                    .await;
            }
            Ok(false) => {}
            Err(failure) => return Step::Done(Outcome::Fallback(failure)),
        }
        // Someone else refreshes: wait for the outcome, with growing jittered pauses.
        let deadline = Instant::now() + self.settings.wait_timeout;
        let mut pause = FIRST_POLL;
        loop {
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(
                    token = %fp,
                    "nhost-session-redis: gave up waiting for a refresh made elsewhere"
                );
                return Step::Done(Outcome::Resolved(self.unavailable()));
            }
            tokio::time::sleep(jitter(pause).min(deadline - now)).await;
            pause = (pause * 3 / 2).min(MAX_POLL);
            let (entry, failed, locked) = match self.poll(&fp).await {
                Ok(seen) => seen,
                Err(failure) => {
                    // The refresh elsewhere may have used the token: never send it from here.
                    self.health.failed("MGET", &failure);
                    return Step::Done(Outcome::Resolved(
                        self.after_transient(stale.as_ref(), None),
                    ));
                }
            };
            match decide(token, entry.as_ref(), None, self.clock.now()) {
                Decision::Done(resolution) => return Step::Done(Outcome::Resolved(resolution)),
                Decision::Follow(next) => return Step::Follow(next),
                Decision::Refresh { stale: seen } => {
                    if seen.is_some() {
                        stale = seen;
                    }
                }
            }
            if failed {
                return Step::Done(Outcome::Resolved(
                    self.after_transient(stale.as_ref(), None),
                ));
            }
            if !locked {
                // The lock expired without an outcome (its owner died): take it over.
                match lock::try_acquire(&self.connection, &lock_key, &owner, self.settings.lock_ttl)
                    .await
                {
                    Ok(true) => {
                        return self
                            .lead(token, &fp, &lock_key, &owner, stale, refresher)
                            .await;
                    }
                    Ok(false) => {}
                    Err(failure) => {
                        self.health.failed("SET NX", &failure);
                        return Step::Done(Outcome::Resolved(
                            self.after_transient(stale.as_ref(), None),
                        ));
                    }
                }
            }
        }
    }

    /// The session entry, the transient-failure marker and the lock of a token, at once.
    async fn poll(&self, fp: &TokenFingerprint) -> Result<(Option<Entry>, bool, bool), Failure> {
        let key = self.keys.session(fp);
        let mut cmd = redis::cmd("MGET");
        cmd.arg(&key)
            .arg(self.keys.failure(fp))
            .arg(self.keys.lock(fp));
        let values: Vec<Option<Vec<u8>>> = self.connection.query(&cmd).await?;
        let mut values = values.into_iter();
        let entry = values
            .next()
            .flatten()
            .and_then(|value| self.open(&key, fp, &value));
        if let Some(entry) = &entry {
            self.memory.put_read(*fp, entry, self.clock.now());
        }
        let failed = values.next().flatten().is_some();
        let locked = values.next().flatten().is_some();
        Ok((entry, failed, locked))
    }

    /// Holds the lock of `token`: looks again, refreshes once, stores the outcome for every
    /// instance and releases the lock, in one round trip.
    async fn lead(
        &self,
        token: &RefreshToken,
        fp: &TokenFingerprint,
        lock_key: &str,
        owner: &str,
        mut stale: Option<Known>,
        refresher: &dyn Refresher,
    ) -> Step {
        let keeper = Keeper::start(
            Arc::clone(&self.connection),
            lock_key.to_owned(),
            owner.to_owned(),
            self.settings.lock_ttl,
        );
        let mut pipeline = redis::pipe();
        // Look again: the previous owner may have finished between the first look and the
        // lock.
        let decided = match self.get_entry(fp).await {
            Ok(entry) => match decide(token, entry.as_ref(), None, self.clock.now()) {
                Decision::Refresh { stale: seen } => {
                    stale = seen.or(stale);
                    None
                }
                decided => Some(decided),
            },
            Err(failure) => {
                // Redis went away after the lock: the lock expires on its own.
                return Step::Done(Outcome::Fallback(failure));
            }
        };
        // This instance may know better than Redis (a refresh or a sign-in made while Redis
        // was away): share that instead of refreshing.
        let decided = decided.or_else(|| {
            let now = self.clock.now();
            let entry = self.memory.get(fp, now)?;
            match decide(token, Some(&entry), None, now) {
                Decision::Refresh { stale: seen } => {
                    stale = stale.take().or(seen);
                    None
                }
                decided => {
                    self.set_entry(&mut pipeline, fp, &entry, now);
                    Some(decided)
                }
            }
        });
        let step = match decided {
            Some(Decision::Done(resolution)) => Step::Done(Outcome::Resolved(resolution)),
            Some(Decision::Follow(next)) => Step::Follow(next),
            Some(Decision::Refresh { .. }) => Step::Done(Outcome::Resolved(self.unavailable())),
            None => {
                let refreshed = self.refresh_once(token, refresher).await;
                let now = self.clock.now();
                for (fp, entry) in &refreshed.entries {
                    self.set_entry(&mut pipeline, fp, entry, now);
                }
                if matches!(refreshed.result, RefreshResult::Transient(_)) {
                    self.mark_failed(&mut pipeline, fp);
                }
                Step::Done(Outcome::Resolved(
                    self.after_refresh(&refreshed.result, stale.as_ref()),
                ))
            }
        };
        drop(keeper);
        pipeline
            .add_command(lock::release_cmd(lock_key, owner))
            .ignore();
        if let Err(failure) = self.connection.query_pipeline::<()>(&pipeline).await {
            // This instance remembers the outcome; the lock expires on its own.
            self.health.failed("store outcome", &failure);
        }
        step
    }

    /// The resolution of one token for this process: through Redis, or in-process when
    /// Redis is down.
    async fn resolve_uncoalesced(
        &self,
        presented: &RefreshToken,
        refresher: &dyn Refresher,
    ) -> Resolution {
        if !self.health.is_down() {
            match self.resolve_shared(presented, refresher).await {
                Outcome::Resolved(resolution) => return resolution,
                Outcome::Fallback(failure) => self.health.failed("resolve", &failure),
            }
        }
        self.resolve_in_memory(presented, refresher).await
    }

    /// Records `entry` in memory and, best effort, in Redis.
    async fn store(&self, what: &str, fp: TokenFingerprint, entry: Entry) {
        let now = self.clock.now();
        let mut pipeline = redis::pipe();
        self.set_entry(&mut pipeline, &fp, &entry, now);
        self.memory.put(fp, entry, now);
        if pipeline.is_empty() {
            return;
        }
        if let Err(failure) = self.connection.query_pipeline::<()>(&pipeline).await {
            self.health.failed(what, &failure);
        }
    }
}

/// `pause` ± 50 %, so that waiters of several instances do not poll in step.
fn jitter(pause: StdDuration) -> StdDuration {
    let random = getrandom::u32().unwrap_or(u32::MAX / 2);
    // A factor in [0.5, 1.5].
    let factor = 0.5 + f64::from(random) / f64::from(u32::MAX);
    pause.mul_f64(factor)
}

#[async_trait]
impl RefreshCoordinator for RedisCoordinator {
    async fn resolve(&self, presented: &RefreshToken, refresher: &dyn Refresher) -> Resolution {
        let inner = &self.inner;
        // One resolution per token in this process: N concurrent requests make one look at
        // Redis and at most one lock attempt.
        match inner.resolutions.join(TokenFingerprint::of(presented)) {
            Join::Wait(flight) => flight.await.unwrap_or_else(|_| inner.unavailable()),
            Join::Lead(guard) => {
                let resolution = inner.resolve_uncoalesced(presented, refresher).await;
                guard.finish(resolution.clone());
                resolution
            }
        }
    }

    async fn remember(&self, session: Arc<SharedSession>) {
        let inner = &self.inner;
        let (entry, _) = inner.session_entry(&session, inner.clock.now());
        let fp = TokenFingerprint::of(&session.refresh_token);
        inner.store("remember", fp, entry).await;
    }

    async fn forget(&self, token: &RefreshToken) {
        let inner = &self.inner;
        let memory = inner.settings.grace + inner.settings.dead_token_memory;
        let dead = Entry::Dead {
            until: unix_ms(inner.clock.now() + memory),
        };
        inner
            .store("forget", TokenFingerprint::of(token), dead)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use nhost_session_core::AccessToken;

    use super::*;

    #[test]
    fn jitter_stays_within_half_either_way() {
        for _ in 0..100 {
            let j = jitter(StdDuration::from_millis(100));
            assert!(j >= StdDuration::from_millis(50) && j <= StdDuration::from_millis(150));
        }
    }

    #[test]
    fn decisions() {
        let now = OffsetDateTime::now_utc();
        let t1 = RefreshToken::new("t1");
        let known = Known {
            session: Arc::new(SharedSession {
                access_token: AccessToken::new("jwt"),
                expires_at: now + Duration::seconds(900),
                refresh_token: t1.clone(),
                refresh_token_id: "id".into(),
                user: None,
            }),
            margin: Duration::seconds(60),
        };
        assert!(matches!(
            decide(&t1, None, None, now),
            Decision::Refresh { stale: None }
        ));
        assert!(matches!(
            decide(&t1, None, Some(&known), now),
            Decision::Done(Resolution::Session(_))
        ));
        assert!(matches!(
            decide(&t1, None, Some(&known), now + Duration::seconds(850)),
            Decision::Refresh { stale: Some(_) }
        ));
        let other = RefreshToken::new("t2");
        assert!(matches!(
            decide(&other, None, Some(&known), now),
            Decision::Refresh { stale: None }
        ));
        let dead = Entry::Dead {
            until: unix_ms(now + Duration::seconds(5)),
        };
        assert!(matches!(
            decide(&t1, Some(&dead), Some(&known), now),
            Decision::Done(Resolution::Rejected)
        ));
    }
}
