//! The JWKS cache: one fetch at a time, a floor between fetches, stale keys kept when the
//! endpoint is down.

use std::sync::{Arc, RwLock};

use time::{Duration, OffsetDateTime};
use url::Url;

use super::algorithm::Algorithm;
use super::error::{JwksError, VerifyError};
use super::keys::KeySet;
use crate::transport::HttpTransport;

/// The keys of a JWKS endpoint, fetched on first use, refreshed when older than `max_age`, and
/// refetched when a token names an unknown `kid`; never two fetches at once, and never two
/// within `floor` of each other.
pub(crate) struct JwksCache {
    url: Url,
    transport: Arc<dyn HttpTransport>,
    allowed: Vec<Algorithm>,
    floor: Duration,
    max_age: Duration,
    state: RwLock<CacheState>,
    /// Held for the whole of a fetch: the single flight.
    fetch_lock: futures_util::lock::Mutex<()>,
}

#[derive(Clone, Default)]
struct CacheState {
    /// The keys of the last successful fetch.
    keys: Option<Arc<KeySet>>,
    /// When they were fetched.
    fetched_at: Option<OffsetDateTime>,
    /// When the last fetch (successful or not) started.
    last_attempt: Option<OffsetDateTime>,
    /// Why the last fetch failed, if it did.
    last_error: Option<JwksError>,
    /// Counts completed fetches, so that a caller can tell whether one happened since it looked.
    generation: u64,
}

/// The keys to verify with, and how the cache got there.
pub(crate) struct Snapshot {
    pub(crate) keys: Arc<KeySet>,
    pub(crate) generation: u64,
    /// The last fetch failed (the keys may be stale or empty).
    pub(crate) last_error: Option<JwksError>,
}

impl JwksCache {
    pub(crate) fn new(
        url: Url,
        transport: Arc<dyn HttpTransport>,
        allowed: Vec<Algorithm>,
        floor: Duration,
        max_age: Duration,
    ) -> Self {
        Self {
            url,
            transport,
            allowed,
            floor,
            max_age,
            state: RwLock::new(CacheState::default()),
            fetch_lock: futures_util::lock::Mutex::new(()),
        }
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    fn read(&self) -> CacheState {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn floor_passed(&self, state: &CacheState, now: OffsetDateTime) -> bool {
        // A clock that went backwards does not block fetching for the distance it jumped.
        state
            .last_attempt
            .is_none_or(|last| now < last || now - last >= self.floor)
    }

    fn is_fresh(&self, state: &CacheState, now: OffsetDateTime) -> bool {
        state
            .fetched_at
            .is_some_and(|at| now >= at && now - at < self.max_age)
    }

    fn snapshot(state: &CacheState) -> Option<Snapshot> {
        state.keys.clone().map(|keys| Snapshot {
            keys,
            generation: state.generation,
            last_error: state.last_error.clone(),
        })
    }

    /// The keys to verify with now. Fetches them the first time (waiting for a fetch in
    /// flight), and refreshes them when older than `max_age` unless another call is already
    /// doing it (then the current keys serve). A failed refresh keeps the cached keys.
    pub(crate) async fn keys(
        &self,
        now: impl Fn() -> OffsetDateTime,
    ) -> Result<Snapshot, VerifyError> {
        let state = self.read();
        if let Some(snapshot) = Self::snapshot(&state) {
            if self.is_fresh(&state, now()) || !self.floor_passed(&state, now()) {
                return Ok(snapshot);
            }
            // Stale: refresh, unless someone else is on it.
            let Some(_guard) = self.fetch_lock.try_lock() else {
                return Ok(snapshot);
            };
            let state = self.read();
            if state.generation == snapshot.generation && self.floor_passed(&state, now()) {
                self.fetch(now()).await;
            }
            let state = self.read();
            return Ok(Self::snapshot(&state).unwrap_or(snapshot));
        }
        // Never fetched successfully: wait for the keys.
        let _guard = self.fetch_lock.lock().await;
        let state = self.read();
        if state.keys.is_none() && self.floor_passed(&state, now()) {
            self.fetch(now()).await;
        }
        let state = self.read();
        match Self::snapshot(&state) {
            Some(snapshot) => Ok(snapshot),
            None => {
                Err(VerifyError::JwksUnavailable(state.last_error.unwrap_or(
                    JwksError::Invalid("no fetch has succeeded yet"),
                )))
            }
        }
    }

    /// A token named a `kid` that the keys of `seen_generation` lack: refetch, unless a fetch
    /// completed since (then its keys serve) or the floor forbids it.
    pub(crate) async fn refetch(
        &self,
        seen_generation: u64,
        now: impl Fn() -> OffsetDateTime,
    ) -> Snapshot {
        let _guard = self.fetch_lock.lock().await;
        let state = self.read();
        if state.generation == seen_generation && self.floor_passed(&state, now()) {
            tracing::debug!(url = %self.url, "nhost-session: unknown key id, refetching the JWKS");
            self.fetch(now()).await;
        }
        let state = self.read();
        Snapshot {
            keys: state.keys.clone().unwrap_or_default(),
            generation: state.generation,
            last_error: state.last_error.clone(),
        }
    }

    /// Fetches now if the floor allows, whatever the age of the keys; for warming the cache at
    /// start-up.
    pub(crate) async fn prefetch(&self, now: impl Fn() -> OffsetDateTime) -> Result<(), JwksError> {
        let _guard = self.fetch_lock.lock().await;
        let state = self.read();
        if self.floor_passed(&state, now()) {
            self.fetch(now()).await;
        }
        match self.read().last_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// One fetch; the caller holds `fetch_lock`. Records the outcome.
    async fn fetch(&self, started: OffsetDateTime) {
        self.state
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .last_attempt = Some(started);
        let outcome = self.download().await;
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.generation += 1;
        match outcome {
            Ok(keys) => {
                tracing::debug!(
                    url = %self.url,
                    keys = keys.keys.len(),
                    "nhost-session: JWKS fetched"
                );
                state.keys = Some(Arc::new(keys));
                state.fetched_at = Some(started);
                state.last_error = None;
            }
            Err(error) => {
                tracing::warn!(
                    url = %self.url,
                    %error,
                    "nhost-session: JWKS fetch failed; cached keys (if any) stay in use"
                );
                state.last_error = Some(error);
            }
        }
    }

    async fn download(&self) -> Result<KeySet, JwksError> {
        let request = http::Request::get(self.url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|_| JwksError::Invalid("cannot build the request"))?;
        let response = self
            .transport
            .send(request)
            .await
            .map_err(JwksError::Transport)?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        KeySet::from_jwks(response.body(), &self.allowed)
    }
}
