//! The session state machine: plain data and a pure transition function.
//!
//! `(state, event, now) -> (state, effects)`: no I/O, no clock reads, no async. The driver
//! ([`AuthClient`](crate::AuthClient)) feeds it [`Event`]s with the current time and carries
//! out the [`Effect`]s it returns, in order. This keeps the protocol logic testable without a
//! runtime: the property tests drive it through thousands of generated event sequences and
//! check the invariants of design.md on every step.
//!
//! ```
//! use nhost_session_core::machine::{Effect, Event, SessionMachine, TokenAnswer};
//! use nhost_session_core::{RefreshPolicy, Session};
//! use time::{Duration, OffsetDateTime};
//!
//! let mut machine = SessionMachine::new(RefreshPolicy::default(), 7);
//! let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
//! let session: Session = serde_json::from_str(
//!     r#"{"accessToken":"a.b.c","accessTokenExpiresIn":900,"refreshToken":"r1","refreshTokenId":"id"}"#,
//! ).unwrap();
//! machine.handle(Event::SignedIn { session, saved: true }, now);
//!
//! // Fresh: the token is handed out, nothing to do.
//! let out = machine.handle(Event::TokenWanted { force: false }, now);
//! assert!(matches!(out.answer, Some(TokenAnswer::Ready(_))) && out.effects.is_empty());
//!
//! // Fourteen minutes later the token is within the margin: one refresh is started.
//! let later = now + Duration::minutes(14);
//! let out = machine.handle(Event::TokenWanted { force: false }, later);
//! assert!(matches!(out.effects[..], [Effect::SendRefresh { .. }]));
//! // A second caller waits for the same refresh instead of starting another.
//! let again = machine.handle(Event::TokenWanted { force: false }, later);
//! assert!(matches!(again.answer, Some(TokenAnswer::Wait(_))) && again.effects.is_empty());
//! ```

mod effect;
mod event;
mod policy;
mod state;

use std::collections::VecDeque;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

pub use effect::{Effect, SessionEvent, SignOutReason, TokenAnswer};
pub use event::{Event, RefreshFailure};
pub(crate) use policy::Jitter;
pub use policy::RefreshPolicy;
pub use state::{Access, AttemptId, Backoff, Credentials, Phase, SessionStatus, State};

use crate::fingerprint::TokenFingerprint;
use crate::protocol::Session;
use crate::secret::RefreshToken;
use crate::store::{StoredTokens, clamp_lifetime};

/// How many replaced tokens the machine remembers, to refuse ever sending one again.
const RETIRED_MEMORY: usize = 64;

/// The effects and the answer of one transition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transition {
    /// What the driver must do, in order.
    pub effects: Vec<Effect>,
    /// The answer to [`Event::TokenWanted`]; `None` for other events.
    pub answer: Option<TokenAnswer>,
}

/// The session state machine. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct SessionMachine {
    policy: RefreshPolicy,
    jitter: Jitter,
    state: State,
    /// Fingerprints of refresh tokens that a completed refresh replaced, or that the server
    /// rejected, or that a sign-out revoked: never sent again.
    retired: VecDeque<TokenFingerprint>,
    next_attempt: u64,
    /// The store does not hold the current session (a save failed or raced); re-save.
    dirty: bool,
    /// A re-save in flight.
    resave: Option<AttemptId>,
    /// The fresh token and its refresh time in Unix nanoseconds, kept in step with `state` so
    /// that the hot path compares integers.
    fresh_until: Option<(i128, crate::secret::AccessToken)>,
}

impl SessionMachine {
    /// A machine without a session. `seed` feeds the jitter; give each client its own.
    pub fn new(policy: RefreshPolicy, seed: u64) -> Self {
        Self {
            policy,
            jitter: Jitter::new(seed),
            state: State::Anonymous,
            retired: VecDeque::new(),
            next_attempt: 0,
            dirty: false,
            resave: None,
            fresh_until: None,
        }
    }

    /// Recomputes the hot path's copy of the fresh token after a change of state.
    fn sync_fresh_until(&mut self) {
        self.fresh_until = match &self.state {
            State::Active {
                credentials:
                    Credentials {
                        access: Some(access),
                        ..
                    },
                ..
            } => Some((
                access.refresh_at.unix_timestamp_nanos(),
                access.token.clone(),
            )),
            _ => None,
        };
    }

    /// The state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The refresh policy.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.policy
    }

    /// The session's status at `now`.
    pub fn status(&self, now: OffsetDateTime) -> SessionStatus {
        match &self.state {
            State::Anonymous => SessionStatus::Anonymous,
            State::Refreshing { .. } => SessionStatus::Refreshing,
            State::Active { credentials, .. } => match &credentials.access {
                Some(access) if now < access.expires_at => SessionStatus::Authenticated,
                _ => SessionStatus::Expired,
            },
        }
    }

    /// The current credentials (during a refresh: the ones it started from).
    pub fn credentials(&self) -> Option<&Credentials> {
        match &self.state {
            State::Anonymous => None,
            State::Active { credentials, .. } | State::Refreshing { credentials, .. } => {
                Some(credentials)
            }
        }
    }

    /// When the session should next be refreshed: the refresh time of the access token, or the
    /// end of the back-off, whichever is later. `None` without a session or during a refresh.
    pub fn next_refresh_at(&self) -> Option<OffsetDateTime> {
        match &self.state {
            State::Active {
                credentials,
                backoff,
            } => {
                let due = credentials
                    .access
                    .as_ref()
                    .map(|a| a.refresh_at)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                Some(backoff.not_before.map_or(due, |nb| nb.max(due)))
            }
            _ => None,
        }
    }

    /// Whether the token was replaced, rejected or revoked (as far as the machine remembers).
    pub fn is_retired(&self, token: &RefreshToken) -> bool {
        self.retired.contains(&TokenFingerprint::of(token))
    }

    /// Feeds one event at time `now`.
    pub fn handle(&mut self, event: Event, now: OffsetDateTime) -> Transition {
        let mut effects = Vec::new();
        let answer = match event {
            Event::TokenWanted { force } => {
                let answer = self.token_wanted(force, now, &mut effects);
                return Transition {
                    effects,
                    answer: Some(answer),
                };
            }
            Event::SignedIn { session, saved } => {
                self.on_signed_in(session, saved, now, &mut effects);
                None
            }
            Event::Restored(stored) => {
                self.on_restored(stored, &mut effects);
                None
            }
            Event::RefreshSucceeded { attempt, session } => {
                self.on_refresh_succeeded(attempt, session, now, &mut effects);
                None
            }
            Event::RefreshFailed { attempt, failure } => {
                self.on_refresh_failed(attempt, failure, now, &mut effects);
                None
            }
            Event::Persisted { attempt, ok } => {
                self.on_persisted(attempt, ok, &mut effects);
                None
            }
            Event::StoreReloaded { attempt, stored } => {
                self.on_store_reloaded(attempt, stored, &mut effects);
                None
            }
            Event::SignedOut => {
                self.on_signed_out(&mut effects);
                None
            }
        };
        self.sync_fresh_until();
        Transition { effects, answer }
    }

    /// The access token if it can be handed out at `now` with nothing else to do: a session
    /// whose token is valid beyond the margin and whose store is up to date. Takes `&self`, so
    /// that callers can check under a shared lock.
    ///
    /// `now_unix_nanos` is the time as [`Clock::now_unix_nanos`](crate::Clock::now_unix_nanos)
    /// gives it: comparing integers keeps the hot path cheap.
    #[inline]
    pub fn fresh_token(&self, now_unix_nanos: i128) -> Option<&crate::secret::AccessToken> {
        if self.dirty {
            return None;
        }
        match self.fresh_until {
            Some((until, ref token)) if now_unix_nanos < until => Some(token),
            _ => None,
        }
    }

    /// The hot path of [`Event::TokenWanted`], without building a [`Transition`]: pushes
    /// effects into `effects` (nothing, and no allocation, when the token is fresh).
    pub fn token_wanted(
        &mut self,
        force: bool,
        now: OffsetDateTime,
        effects: &mut Vec<Effect>,
    ) -> TokenAnswer {
        let (credentials, backoff) = match &self.state {
            State::Anonymous => return TokenAnswer::NotSignedIn,
            State::Refreshing { attempt, .. } => return TokenAnswer::Wait(*attempt),
            State::Active {
                credentials,
                backoff,
            } => (credentials, backoff),
        };
        if !force {
            if let Some(access) = &credentials.access {
                if now < access.refresh_at {
                    let token = access.token.clone();
                    self.resave_if_dirty(effects);
                    return TokenAnswer::Ready(token);
                }
            }
            if let Some(not_before) = backoff.not_before {
                if now < not_before {
                    let answer = match &credentials.access {
                        Some(access) if now < access.expires_at => {
                            TokenAnswer::Ready(access.token.clone())
                        }
                        _ => TokenAnswer::Backoff(not_before),
                    };
                    // No refresh now, but a session whose save failed is saved again: the
                    // store must not keep a dead token while the refreshes fail.
                    self.resave_if_dirty(effects);
                    return answer;
                }
            }
        }
        self.fresh_until = None;
        let State::Active {
            credentials,
            backoff,
        } = std::mem::replace(&mut self.state, State::Anonymous)
        else {
            unreachable_state();
            return TokenAnswer::NotSignedIn;
        };
        if self.is_retired(&credentials.refresh_token) {
            // Never send a token known to be dead; this cannot happen through the public
            // events, but ending the session is the only safe answer if it ever does.
            self.end_session(SignOutReason::RefreshTokenRejected, effects);
            return TokenAnswer::NotSignedIn;
        }
        let attempt = self.new_attempt();
        effects.push(Effect::SendRefresh {
            attempt,
            refresh_token: credentials.refresh_token.clone(),
        });
        let sent = credentials.refresh_token.clone();
        self.state = State::Refreshing {
            credentials,
            backoff,
            attempt,
            phase: Phase::AwaitingServer { sent },
        };
        TokenAnswer::Wait(attempt)
    }

    fn on_signed_in(
        &mut self,
        session: Session,
        saved: bool,
        now: OffsetDateTime,
        effects: &mut Vec<Effect>,
    ) {
        let credentials = self.credentials_from_session(session, None, now);
        let user = credentials.user.as_deref().cloned();
        self.state = State::Active {
            credentials,
            backoff: Backoff::default(),
        };
        self.dirty = !saved;
        if !saved {
            effects.push(Effect::Publish(SessionEvent::StoreFailed));
        }
        effects.push(Effect::Publish(SessionEvent::SignedIn { user }));
    }

    fn on_restored(&mut self, stored: StoredTokens, effects: &mut Vec<Effect>) {
        if !matches!(self.state, State::Anonymous) || self.is_retired(&stored.refresh_token) {
            return;
        }
        self.state = State::Active {
            credentials: self.credentials_from_store(stored),
            backoff: Backoff::default(),
        };
        effects.push(Effect::Publish(SessionEvent::Restored));
    }

    fn on_refresh_succeeded(
        &mut self,
        attempt: AttemptId,
        session: Session,
        now: OffsetDateTime,
        effects: &mut Vec<Effect>,
    ) {
        let Some(Phase::AwaitingServer { sent }) = self.phase_of(attempt) else {
            return;
        };
        let sent = sent.clone();
        let previous_user = self.credentials().and_then(|c| c.user.clone());
        if !session.refresh_token.ct_eq(&sent) {
            self.retire(&sent);
        }
        let next = self.credentials_from_session(session, previous_user, now);
        effects.push(Effect::Persist {
            attempt,
            tokens: stored_tokens(&next),
        });
        if let State::Refreshing { phase, .. } = &mut self.state {
            *phase = Phase::Persisting { next };
        }
    }

    fn on_refresh_failed(
        &mut self,
        attempt: AttemptId,
        failure: RefreshFailure,
        now: OffsetDateTime,
        effects: &mut Vec<Effect>,
    ) {
        let Some(Phase::AwaitingServer { sent }) = self.phase_of(attempt) else {
            return;
        };
        let sent = sent.clone();
        match failure {
            RefreshFailure::Rejected(_) => {
                self.retire(&sent);
                effects.push(Effect::ReloadStore { attempt });
                if let State::Refreshing { phase, .. } = &mut self.state {
                    *phase = Phase::CheckingStore { rejected: sent };
                }
            }
            RefreshFailure::Transient => {
                let fraction = self.jitter.next_fraction();
                let State::Refreshing {
                    credentials,
                    mut backoff,
                    ..
                } = std::mem::replace(&mut self.state, State::Anonymous)
                else {
                    return;
                };
                backoff.failures = backoff.failures.saturating_add(1);
                let retry_at = now + self.policy.backoff(backoff.failures, fraction);
                backoff.not_before = Some(retry_at);
                effects.push(Effect::Publish(SessionEvent::RefreshDeferred {
                    failures: backoff.failures,
                    retry_at,
                }));
                self.state = State::Active {
                    credentials,
                    backoff,
                };
            }
        }
    }

    fn on_persisted(&mut self, attempt: AttemptId, ok: bool, effects: &mut Vec<Effect>) {
        if let Some(Phase::Persisting { .. }) = self.phase_of(attempt) {
            self.finish_refresh(ok, effects);
            return;
        }
        if self.resave == Some(attempt) {
            self.resave = None;
            if ok {
                self.dirty = false;
            } else {
                effects.push(Effect::Publish(SessionEvent::StoreFailed));
            }
            return;
        }
        // A save that finished after the session moved on: the store may now hold an older
        // session than the one in memory, or one that was signed out.
        if ok {
            match self.state {
                State::Anonymous => effects.push(Effect::ClearStore),
                _ => self.dirty = true,
            }
        }
    }

    /// The refreshed session is saved (or the save failed): it becomes the session.
    fn finish_refresh(&mut self, saved: bool, effects: &mut Vec<Effect>) {
        let State::Refreshing {
            phase: Phase::Persisting { next },
            ..
        } = std::mem::replace(&mut self.state, State::Anonymous)
        else {
            return;
        };
        let expires_at = next
            .access
            .as_ref()
            .map_or(OffsetDateTime::UNIX_EPOCH, |a| a.expires_at);
        self.state = State::Active {
            credentials: next,
            backoff: Backoff::default(),
        };
        self.dirty = !saved;
        if !saved {
            effects.push(Effect::Publish(SessionEvent::StoreFailed));
        }
        effects.push(Effect::Publish(SessionEvent::TokenRefreshed { expires_at }));
    }

    fn on_store_reloaded(
        &mut self,
        attempt: AttemptId,
        stored: Option<StoredTokens>,
        effects: &mut Vec<Effect>,
    ) {
        let Some(Phase::CheckingStore { rejected }) = self.phase_of(attempt) else {
            return;
        };
        let newer = stored
            .filter(|s| !s.refresh_token.ct_eq(rejected) && !self.is_retired(&s.refresh_token));
        match newer {
            Some(stored) => {
                // Another process (or instance) refreshed and saved first: adopt its session.
                self.state = State::Active {
                    credentials: self.credentials_from_store(stored),
                    backoff: Backoff::default(),
                };
                self.dirty = false;
                effects.push(Effect::Publish(SessionEvent::Restored));
            }
            None => self.end_session(SignOutReason::RefreshTokenRejected, effects),
        }
    }

    fn on_signed_out(&mut self, effects: &mut Vec<Effect>) {
        if let Some(credentials) = self.credentials() {
            let token = credentials.refresh_token.clone();
            self.retire(&token);
        }
        self.end_session(SignOutReason::Requested, effects);
    }

    fn end_session(&mut self, reason: SignOutReason, effects: &mut Vec<Effect>) {
        self.state = State::Anonymous;
        self.dirty = false;
        effects.push(Effect::ClearStore);
        effects.push(Effect::Publish(SessionEvent::SignedOut { reason }));
    }

    fn resave_if_dirty(&mut self, effects: &mut Vec<Effect>) {
        if !self.dirty || self.resave.is_some() {
            return;
        }
        let Some(credentials) = self.credentials() else {
            return;
        };
        let tokens = stored_tokens(credentials);
        let attempt = self.new_attempt();
        self.resave = Some(attempt);
        effects.push(Effect::Persist { attempt, tokens });
    }

    /// The phase of refresh `attempt`, when it is the one in flight; answers to any other
    /// (older) attempt are ignored.
    fn phase_of(&self, attempt: AttemptId) -> Option<&Phase> {
        match &self.state {
            State::Refreshing {
                attempt: current,
                phase,
                ..
            } if *current == attempt => Some(phase),
            _ => None,
        }
    }

    fn new_attempt(&mut self) -> AttemptId {
        self.next_attempt += 1;
        AttemptId(self.next_attempt)
    }

    fn retire(&mut self, token: &RefreshToken) {
        let fingerprint = TokenFingerprint::of(token);
        if self.retired.contains(&fingerprint) {
            return;
        }
        if self.retired.len() == RETIRED_MEMORY {
            self.retired.pop_front();
        }
        self.retired.push_back(fingerprint);
    }

    fn credentials_from_session(
        &mut self,
        session: Session,
        previous_user: Option<Arc<crate::protocol::User>>,
        now: OffsetDateTime,
    ) -> Credentials {
        let lifetime = Duration::seconds(clamp_lifetime(session.access_token_expires_in));
        let expires_at = now + lifetime;
        let margin = self
            .policy
            .effective_margin(Some(lifetime), self.jitter.next_fraction());
        Credentials {
            refresh_token: session.refresh_token,
            refresh_token_id: session.refresh_token_id,
            access: Some(Access {
                token: session.access_token,
                expires_at,
                refresh_at: expires_at - margin,
            }),
            user: session.user.map(Arc::new).or(previous_user),
        }
    }

    fn credentials_from_store(&mut self, stored: StoredTokens) -> Credentials {
        let margin = self
            .policy
            .effective_margin(None, self.jitter.next_fraction());
        let access = match (stored.access_token, stored.access_token_expires_at) {
            (Some(token), Some(expires_at)) => Some(Access {
                token,
                expires_at,
                // Saturating: a stored expiry (from a cookie, say) may be the earliest time
                // there is, and restoring it must not panic.
                refresh_at: expires_at.saturating_sub(margin),
            }),
            _ => None,
        };
        Credentials {
            refresh_token: stored.refresh_token,
            refresh_token_id: stored.refresh_token_id,
            access,
            user: stored.user.map(Arc::new),
        }
    }
}

/// What to save of a session.
pub(crate) fn stored_tokens(credentials: &Credentials) -> StoredTokens {
    StoredTokens {
        refresh_token: credentials.refresh_token.clone(),
        refresh_token_id: credentials.refresh_token_id.clone(),
        access_token_expires_at: credentials.access.as_ref().map(|a| a.expires_at),
        access_token: credentials.access.as_ref().map(|a| a.token.clone()),
        user: credentials.user.as_deref().cloned(),
    }
}

#[cold]
fn unreachable_state() {
    tracing::error!("nhost-session: the session machine reached a state it cannot be in");
}
