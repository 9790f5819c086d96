//! [`AuthClient`]: the async driver around the session machine.

mod builder;
mod events;
mod operations;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use time::OffsetDateTime;

pub use builder::AuthClientBuilder;
pub use events::Subscription;

use crate::api::AuthApi;
use crate::auth_url::AuthUrl;
use crate::clock::Clock;
use crate::error::Error;
use crate::machine::{
    AttemptId, Effect, Event, RefreshFailure, SessionEvent, SessionMachine, SessionStatus,
    TokenAnswer,
};
use crate::protocol::User;
use crate::secret::{AccessToken, RefreshToken};
use crate::store::{StoreError, StoredTokens, TokenStore};
use crate::transport::HttpTransport;
use events::Subscribers;

/// How many times one call may wait for a refresh before giving up: a refresh, an adoption of a
/// session another process saved, and its refresh.
const MAX_WAITS: usize = 4;

/// A session with the Nhost auth service: signs in, hands out valid access tokens, refreshes
/// them (one refresh at a time, shared by every caller), keeps the session in a
/// [`TokenStore`], and signs out.
///
/// Cheap to clone: clones share one session. Generic over the transport, the store and the
/// clock; runtime-agnostic (it never sleeps and spawns nothing).
///
/// ```no_run
/// # async fn demo(transport: impl nhost_session_core::HttpTransport + 'static) -> Result<(), nhost_session_core::Error> {
/// use nhost_session_core::{AuthClient, AuthUrl};
///
/// let client = AuthClient::builder(AuthUrl::from_subdomain("local", "local")?, transport).build();
/// client.sign_in_email_password("demo@example.com", "correct horse").await?;
/// let jwt = client.access_token().await?; // refreshed when within the margin
/// println!("user: {:?}", client.current_user().map(|u| u.id));
/// # let _ = jwt;
/// client.sign_out().await?;
/// # Ok(()) }
/// ```
pub struct AuthClient<T, S = crate::store::MemoryTokenStore, C = crate::clock::SystemClock> {
    inner: Arc<Inner<T, S, C>>,
}

impl<T, S, C> Clone for AuthClient<T, S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T, S, C> std::fmt::Debug for AuthClient<T, S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("url", self.inner.api.url())
            .finish_non_exhaustive()
    }
}

type Flight = Shared<BoxFuture<'static, Result<(), Error>>>;

/// Whether a token request refreshes even when the token is fresh.
enum Force {
    No,
    Yes,
    /// Only if this is still the current access token.
    IfCurrent(AccessToken),
}

struct Core {
    machine: SessionMachine,
    flight: Option<(AttemptId, Flight)>,
}

pub(crate) struct Inner<T, S, C> {
    api: AuthApi<T>,
    store: S,
    clock: C,
    core: RwLock<Core>,
    restored: AtomicBool,
    restore_lock: futures_util::lock::Mutex<()>,
    /// Store writes in the order the machine asked for them.
    store_lock: futures_util::lock::Mutex<()>,
    subscribers: Subscribers,
}

impl<T, S, C> Inner<T, S, C> {
    pub(crate) fn new(api: AuthApi<T>, store: S, clock: C, machine: SessionMachine) -> Self {
        Self {
            api,
            store,
            clock,
            core: RwLock::new(Core {
                machine,
                flight: None,
            }),
            restored: AtomicBool::new(false),
            restore_lock: futures_util::lock::Mutex::new(()),
            store_lock: futures_util::lock::Mutex::new(()),
            subscribers: Subscribers::default(),
        }
    }

    // The machine never panics while the lock is held, but a poisoned lock must not take every
    // later call down with it.
    fn core(&self) -> RwLockWriteGuard<'_, Core> {
        self.core.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn core_read(&self) -> RwLockReadGuard<'_, Core> {
        self.core.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The future of [`AuthClient::access_token`]: ready at once on the hot path (a fresh
/// session), boxed only when it has to wait for a refresh.
#[must_use = "futures do nothing unless polled"]
pub struct AccessTokenFuture<'a>(TokenFutureState<'a>);

enum TokenFutureState<'a> {
    Fresh(Option<AccessToken>),
    Slow(Pin<Box<dyn Future<Output = Result<AccessToken, Error>> + Send + 'a>>),
}

impl Future for AccessTokenFuture<'_> {
    type Output = Result<AccessToken, Error>;

    // Inlined into the caller's crate so that the fresh path's token stays in registers
    // instead of going through a 56-byte `Result` in memory.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            TokenFutureState::Fresh(token) => match token.take() {
                Some(token) => Poll::Ready(Ok(token)),
                // Polled again after completion: a contract violation of the caller; answer
                // with an error rather than a panic.
                None => Poll::Ready(Err(Error::NotSignedIn)),
            },
            TokenFutureState::Slow(future) => future.as_mut().poll(cx),
        }
    }
}

impl std::fmt::Debug for AccessTokenFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessTokenFuture")
    }
}

/// A snapshot of a valid session, from [`AuthClient::session`].
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// A valid access token.
    pub access_token: AccessToken,
    /// Its local expiry.
    pub expires_at: OffsetDateTime,
    /// The device session's id.
    pub refresh_token_id: String,
    /// The user, when known.
    pub user: Option<User>,
}

impl<T: HttpTransport + 'static> AuthClient<T> {
    /// Starts building a client for the auth service at `url`, reached through `transport`.
    pub fn builder(url: AuthUrl, transport: T) -> AuthClientBuilder<T> {
        AuthClientBuilder::new(url, transport)
    }
}

impl<T, S, C> AuthClient<T, S, C>
where
    T: HttpTransport + 'static,
    S: TokenStore + 'static,
    C: Clock + 'static,
{
    /// The stateless API, for calls the client does not wrap.
    pub fn api(&self) -> &AuthApi<T> {
        &self.inner.api
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.inner.clock
    }

    /// Subscribes to session changes.
    pub fn subscribe(&self) -> Subscription {
        self.inner.subscribers.subscribe()
    }

    /// The session's status now (without touching the store or the network).
    pub fn status(&self) -> SessionStatus {
        let now = self.inner.clock.now();
        self.inner.core_read().machine.status(now)
    }

    /// The signed-in user as last seen, without any network call.
    pub fn current_user(&self) -> Option<User> {
        self.inner
            .core_read()
            .machine
            .credentials()
            .and_then(|c| c.user.as_deref().cloned())
    }

    /// When the session should next be refreshed; what an auto-refresh task sleeps until.
    /// `None` without a session, or while a refresh runs.
    pub fn next_refresh_at(&self) -> Option<OffsetDateTime> {
        self.inner.core_read().machine.next_refresh_at()
    }

    /// A valid access token, refreshing first when it is within the margin of its expiry.
    ///
    /// Any number of concurrent callers share one `POST /token`. A token is never handed out
    /// when it is expired at the moment this returns. While refreshing fails transiently and the
    /// old token is still valid, the old token is returned; once it has expired, the error (or
    /// [`Error::TemporarilyUnavailable`] during back-off) is returned and the session is kept.
    ///
    /// The hot path, a fresh session, takes a shared lock, reads the clock and bumps a reference
    /// count: no allocation, no waiting.
    #[inline]
    pub fn access_token(&self) -> AccessTokenFuture<'_> {
        match self.fresh_token() {
            Some(token) => AccessTokenFuture(TokenFutureState::Fresh(Some(token))),
            None => AccessTokenFuture(TokenFutureState::Slow(Box::pin(async move {
                self.token(Force::No).await.0
            }))),
        }
    }

    /// The token, when the session is restored and fresh: the shared-lock fast path.
    #[inline]
    fn fresh_token(&self) -> Option<AccessToken> {
        if !self.inner.restored.load(Ordering::Acquire) {
            return None;
        }
        let now = self.inner.clock.now_unix_nanos();
        self.inner.core_read().machine.fresh_token(now).cloned()
    }

    /// Refreshes now, whatever the token's age (sharing a refresh already in flight), and
    /// returns the new access token. Unlike [`access_token`](Self::access_token) this reports
    /// a failed refresh even while the old access token is still valid (a transient error
    /// keeps the session, which goes on serving the old token), and a failed save of the new
    /// session as [`Error::Store`] (the session is kept in memory).
    pub async fn refresh(&self) -> Result<AccessToken, Error> {
        let (token, store_error) = self.token(Force::Yes).await;
        match (token, store_error) {
            (Ok(_), Some(e)) => Err(Error::Store(e)),
            (result, _) => result,
        }
    }

    /// After a service refused `rejected` (Hasura's `invalid-jwt`, a 401): refreshes only if it
    /// is still the current access token, and otherwise returns the current one, which another
    /// caller has refreshed already. The check and the start of the refresh happen under one
    /// lock, so any number of callers refused together cause one `POST /token`.
    pub async fn refresh_if_current(&self, rejected: &AccessToken) -> Result<AccessToken, Error> {
        self.token(Force::IfCurrent(rejected.clone())).await.0
    }

    /// The session with a valid access token (refreshing if needed).
    pub async fn session(&self) -> Result<SessionInfo, Error> {
        let access_token = self.access_token().await?;
        let core = self.inner.core();
        let credentials = core.machine.credentials().ok_or(Error::NotSignedIn)?;
        Ok(SessionInfo {
            expires_at: credentials
                .access
                .as_ref()
                .filter(|a| a.token == access_token)
                .map_or(OffsetDateTime::UNIX_EPOCH, |a| a.expires_at),
            access_token,
            refresh_token_id: credentials.refresh_token_id.clone(),
            user: credentials.user.as_deref().cloned(),
        })
    }

    /// `GET /user`: the user as the server knows it now.
    pub async fn user(&self) -> Result<User, Error> {
        let token = self.access_token().await?;
        self.inner.api.user(&token).await
    }

    /// Signs out: the local session ends at once (the store is cleared, subscribers hear
    /// `SignedOut`), then the refresh token is revoked at the server. An error means the
    /// revocation was not confirmed; locally the user is signed out either way. When the
    /// stored session cannot be read, it cannot be revoked: the store is cleared, so that the
    /// session does not come back once it can be read, and the load error is returned.
    pub async fn sign_out(&self) -> Result<(), Error> {
        if let Err(load_error) = self.restore().await {
            let _restore = self.inner.restore_lock.lock().await;
            if !self.inner.restored.load(Ordering::Acquire) {
                {
                    let _store = self.inner.store_lock.lock().await;
                    self.inner.store.clear().await.map_err(Error::Store)?;
                }
                // Nothing left to load: the client is signed out.
                self.inner.restored.store(true, Ordering::Release);
                return Err(Error::Store(load_error));
            }
            // Restored or signed in meanwhile: sign out as usual.
        }
        // Revoke the newest token: let a refresh in flight finish first.
        let flight = self.inner.core().flight.as_ref().map(|(_, f)| f.clone());
        if let Some(flight) = flight {
            let _ = flight.await;
        }
        let now = self.inner.clock.now();
        let (refresh_token, access_token) = {
            let core = self.inner.core();
            match core.machine.credentials() {
                Some(c) => (
                    c.refresh_token.clone(),
                    c.access
                        .as_ref()
                        .filter(|a| now < a.expires_at)
                        .map(|a| a.token.clone()),
                ),
                None => return Ok(()),
            }
        };
        let local = self.apply(Event::SignedOut).await;
        let remote = self
            .inner
            .api
            .sign_out(&refresh_token, access_token.as_ref())
            .await;
        remote.and(local.map_err(Error::Store))
    }

    /// Signs out every session of the user (`{all: true}` with the bearer), then this one
    /// locally. Needs a valid access token; when the server call fails the local session is
    /// kept, so that it can be retried.
    pub async fn sign_out_all(&self) -> Result<(), Error> {
        let token = self.access_token().await?;
        self.inner.api.sign_out_all(&token).await?;
        self.apply(Event::SignedOut).await.map_err(Error::Store)
    }

    /// Loads the stored session once, before the first use.
    async fn restore(&self) -> Result<(), StoreError> {
        if self.inner.restored.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = self.inner.restore_lock.lock().await;
        if self.inner.restored.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.inner.store.load().await {
            Ok(Some(stored)) => {
                let _ = self.apply(Event::Restored(stored)).await;
            }
            Ok(None) => {}
            Err(e) => {
                // The next call tries again; until then the client is signed out.
                tracing::warn!(error = %e, "nhost-session: could not load the stored session");
                return Err(e);
            }
        }
        self.inner.restored.store(true, Ordering::Release);
        Ok(())
    }

    /// The token loop behind `access_token` and `refresh`; also returns a store failure seen on
    /// the way.
    async fn token(&self, force: Force) -> (Result<AccessToken, Error>, Option<StoreError>) {
        // A store that cannot be read leaves the client signed out until the next call.
        let _ = self.restore().await;
        // An explicit refresh reports the failure of the refresh it waited for, instead of
        // handing out the old (still valid) token as if it were new.
        let explicit = matches!(force, Force::Yes);
        let mut force = force;
        let mut last_error: Option<Error> = None;
        let mut store_error = None;
        for _ in 0..MAX_WAITS {
            let now = self.inner.clock.now();
            let mut effects = Vec::new();
            let (answer, flight) = {
                let mut core = self.inner.core();
                let forced = match &force {
                    Force::No => false,
                    Force::Yes => true,
                    Force::IfCurrent(rejected) => core
                        .machine
                        .credentials()
                        .and_then(|c| c.access.as_ref())
                        .is_some_and(|a| a.token.ct_eq(rejected)),
                };
                let answer = core.machine.token_wanted(forced, now, &mut effects);
                let flight = match &answer {
                    TokenAnswer::Wait(attempt) => {
                        Some(self.flight_for(&mut core, *attempt, &mut effects))
                    }
                    _ => None,
                };
                (answer, flight)
            };
            if !effects.is_empty() {
                // Only a re-save of a session whose earlier save failed lands here.
                if let Err(e) = self.run_effects(effects).await {
                    store_error = Some(e);
                }
            }
            match answer {
                TokenAnswer::Ready(token) => return (Ok(token), store_error),
                TokenAnswer::NotSignedIn => {
                    return (Err(last_error.unwrap_or(Error::NotSignedIn)), store_error);
                }
                TokenAnswer::Backoff(retry_at) => {
                    let error = last_error.unwrap_or(Error::TemporarilyUnavailable { retry_at });
                    return (Err(error), store_error);
                }
                TokenAnswer::Wait(_) => {}
            }
            force = Force::No;
            match flight {
                Some(Some(flight)) => match flight.await {
                    Ok(()) => last_error = None,
                    Err(Error::Store(e)) => store_error = Some(e),
                    Err(e) if explicit => return (Err(e), store_error),
                    Err(e) => last_error = Some(e),
                },
                _ => {
                    // A refresh is recorded in the machine but its future is gone; this
                    // cannot happen, and looping would not help.
                    return (
                        Err(Error::TemporarilyUnavailable {
                            retry_at: self.inner.clock.now(),
                        }),
                        store_error,
                    );
                }
            }
        }
        let error = last_error.unwrap_or(Error::TemporarilyUnavailable {
            retry_at: self.inner.clock.now(),
        });
        (Err(error), store_error)
    }

    /// The shared future of refresh `attempt`: a new one when the machine has just asked for it
    /// (a `SendRefresh` effect), otherwise the one in flight.
    fn flight_for(
        &self,
        core: &mut Core,
        attempt: AttemptId,
        effects: &mut Vec<Effect>,
    ) -> Option<Flight> {
        let started = effects
            .iter()
            .position(|e| matches!(e, Effect::SendRefresh { attempt: a, .. } if *a == attempt));
        if let Some(index) = started {
            let Effect::SendRefresh { refresh_token, .. } = effects.remove(index) else {
                return None;
            };
            let client = self.clone();
            let flight = async move { client.run_refresh(attempt, refresh_token).await }
                .boxed()
                .shared();
            core.flight = Some((attempt, flight.clone()));
            return Some(flight);
        }
        match &core.flight {
            Some((a, flight)) if *a == attempt => Some(flight.clone()),
            _ => None,
        }
    }

    /// One refresh: `POST /token`, then the machine's effects (save before anyone gets the new
    /// token; on rejection, a look at the store). Runs inside a shared future, so it goes on as
    /// long as any caller waits for it, even if the one that started it is dropped.
    async fn run_refresh(
        &self,
        attempt: AttemptId,
        refresh_token: RefreshToken,
    ) -> Result<(), Error> {
        let result = self.inner.api.refresh(&refresh_token).await;
        drop(refresh_token);
        let (event, error) = match result {
            Ok(session) => (Event::RefreshSucceeded { attempt, session }, None),
            Err(Error::RefreshTokenRejected(e)) => (
                Event::RefreshFailed {
                    attempt,
                    failure: RefreshFailure::Rejected((*e).clone()),
                },
                Some(Error::RefreshTokenRejected(e)),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "nhost-session: refresh failed, keeping the session");
                (
                    Event::RefreshFailed {
                        attempt,
                        failure: RefreshFailure::Transient,
                    },
                    Some(e),
                )
            }
        };
        let store_result = self.apply(event).await;
        {
            let mut core = self.inner.core();
            if matches!(&core.flight, Some((a, _)) if *a == attempt) {
                core.flight = None;
            }
        }
        let signed_in = self.inner.core().machine.credentials().is_some();
        match error {
            // Rejected, but another process had saved a newer session: adopted.
            Some(Error::RefreshTokenRejected(_)) if signed_in => Ok(()),
            Some(error) => Err(error),
            None => store_result.map_err(Error::Store),
        }
    }

    /// Feeds an event and carries out the effects, feeding back their outcomes, until the
    /// machine is quiet. Returns the last store failure, if any.
    pub(crate) async fn apply(&self, event: Event) -> Result<(), StoreError> {
        let now = self.inner.clock.now();
        let transition = self.inner.core().machine.handle(event, now);
        self.run_effects(transition.effects).await
    }

    async fn run_effects(&self, effects: Vec<Effect>) -> Result<(), StoreError> {
        let mut queue: VecDeque<Effect> = effects.into();
        let mut store_error = None;
        while let Some(effect) = queue.pop_front() {
            let follow_up = match effect {
                Effect::Persist { attempt, tokens } => {
                    let result = self.save(&tokens).await;
                    let ok = result.is_ok();
                    if let Err(e) = result {
                        store_error = Some(e);
                    }
                    Some(Event::Persisted { attempt, ok })
                }
                Effect::ReloadStore { attempt } => {
                    let stored = match self.inner.store.load().await {
                        Ok(stored) => stored,
                        Err(e) => {
                            tracing::warn!(error = %e, "nhost-session: could not re-read the store");
                            None
                        }
                    };
                    Some(Event::StoreReloaded { attempt, stored })
                }
                Effect::ClearStore => {
                    let _guard = self.inner.store_lock.lock().await;
                    if let Err(e) = self.inner.store.clear().await {
                        tracing::warn!(error = %e, "nhost-session: could not clear the store");
                        store_error = Some(e);
                    }
                    None
                }
                Effect::Publish(event) => {
                    self.publish(&event);
                    None
                }
                Effect::SendRefresh { .. } => {
                    // Refreshes start only from the token loop, never as a follow-up.
                    tracing::error!("nhost-session: unexpected refresh request from the machine");
                    None
                }
            };
            if let Some(event) = follow_up {
                let now = self.inner.clock.now();
                let transition = self.inner.core().machine.handle(event, now);
                queue.extend(transition.effects);
            }
        }
        store_error.map_or(Ok(()), Err)
    }

    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        let _guard = self.inner.store_lock.lock().await;
        let result = self.inner.store.save(tokens).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "nhost-session: could not save the session; keeping it in memory");
        }
        result
    }

    fn publish(&self, event: &SessionEvent) {
        tracing::debug!(?event, "nhost-session: session event");
        self.inner.subscribers.publish(event);
    }
}
