//! Building an [`AuthClient`].

use std::sync::Arc;

use super::{AuthClient, Inner};
use crate::api::AuthApi;
use crate::auth_url::AuthUrl;
use crate::clock::{Clock, SystemClock};
use crate::machine::{RefreshPolicy, SessionMachine};
use crate::store::{MemoryTokenStore, TokenStore};
use crate::transport::HttpTransport;

/// Builds an [`AuthClient`]: a transport is required, the store defaults to memory, the clock
/// to the system's, the policy to [`RefreshPolicy::default`].
#[derive(Debug)]
#[must_use = "call .build() to get the client"]
pub struct AuthClientBuilder<T, S = MemoryTokenStore, C = SystemClock> {
    url: AuthUrl,
    transport: T,
    store: S,
    clock: C,
    policy: RefreshPolicy,
    seed: Option<u64>,
}

impl<T: HttpTransport + 'static> AuthClientBuilder<T> {
    pub(crate) fn new(url: AuthUrl, transport: T) -> Self {
        Self {
            url,
            transport,
            store: MemoryTokenStore::new(),
            clock: SystemClock,
            policy: RefreshPolicy::default(),
            seed: None,
        }
    }
}

impl<T, S, C> AuthClientBuilder<T, S, C>
where
    T: HttpTransport + 'static,
    S: TokenStore + 'static,
    C: Clock + 'static,
{
    /// Where the session is kept.
    pub fn store<S2: TokenStore + 'static>(self, store: S2) -> AuthClientBuilder<T, S2, C> {
        AuthClientBuilder {
            url: self.url,
            transport: self.transport,
            store,
            clock: self.clock,
            policy: self.policy,
            seed: self.seed,
        }
    }

    /// Where the time comes from.
    pub fn clock<C2: Clock + 'static>(self, clock: C2) -> AuthClientBuilder<T, S, C2> {
        AuthClientBuilder {
            url: self.url,
            transport: self.transport,
            store: self.store,
            clock,
            policy: self.policy,
            seed: self.seed,
        }
    }

    /// When to refresh and how to back off.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// A fixed seed for the jitter, for reproducible tests. By default each client draws one
    /// from the system's random source.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The client. It reads the store on first use, not here.
    pub fn build(self) -> AuthClient<T, S, C> {
        let seed = self.seed.unwrap_or_else(random_seed);
        AuthClient {
            inner: Arc::new(Inner::new(
                AuthApi::new(self.url, self.transport),
                self.store,
                self.clock,
                SessionMachine::new(self.policy, seed),
            )),
        }
    }
}

fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Jitter only spreads load; the time is a good enough seed when randomness fails.
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        return nanos as u64 ^ (nanos >> 64) as u64;
    }
    u64::from_le_bytes(bytes)
}
