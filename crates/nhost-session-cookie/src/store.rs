//! A [`TokenStore`] over one request's cookies.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use nhost_session_core::{Clock, StoreError, StoredTokens, SystemClock, TokenStore};

use crate::config::CookieConfig;
use crate::request::RequestCookies;
use crate::set_cookie::{SetCookie, cache_control_no_store};

/// A [`TokenStore`] over the cookies of one request, collecting the `Set-Cookie` values the
/// response must carry.
///
/// Make one per request from the request's headers. `load` returns the session the request
/// carried, or what was saved or cleared since; `save` and `clear` record the cookies to send
/// back (the last call wins, so a response never carries two versions of the session). After
/// the handler ran, put [`take_set_cookies`](Self::take_set_cookies) (or
/// [`apply_to`](Self::apply_to)) on the response, with `Cache-Control: private, no-store`.
///
/// A `save` the format cannot write (too large, or the `@nhost/nhost-js` 4 format without an
/// access token) fails with [`StoreError::Rejected`] and changes nothing: the pending cookies
/// and the loaded session stay as they were.
pub struct CookieTokenStore {
    config: Arc<CookieConfig>,
    request: RequestCookies,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

struct State {
    current: Option<StoredTokens>,
    pending: Vec<SetCookie>,
    changed: bool,
}

impl CookieTokenStore {
    /// A store over the cookies in `headers` (a request's headers), read at once.
    pub fn new(config: impl Into<Arc<CookieConfig>>, headers: &HeaderMap) -> Self {
        let config = config.into();
        let request = config.request_cookies(headers);
        let current = config.read_cookies(&request);
        Self {
            config,
            request,
            clock: Arc::new(SystemClock),
            state: Mutex::new(State {
                current,
                pending: Vec::new(),
                changed: false,
            }),
        }
    }

    /// Uses `clock` for the cookies' `Expires` (the system clock by default).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &CookieConfig {
        &self.config
    }

    /// The format's cookies the request carried.
    pub fn request_cookies(&self) -> &RequestCookies {
        &self.request
    }

    /// What `load` would return, without `async`.
    pub fn current(&self) -> Option<StoredTokens> {
        self.lock().current.clone()
    }

    /// Whether `save` or `clear` succeeded on this store: the response must carry cookies.
    pub fn changed(&self) -> bool {
        self.lock().changed
    }

    /// The pending `Set-Cookie` values, taken out (a second call returns none until the next
    /// `save` or `clear`).
    pub fn take_set_cookies(&self) -> Vec<SetCookie> {
        std::mem::take(&mut self.lock().pending)
    }

    /// The pending `Set-Cookie` values as header values, left in place.
    pub fn set_cookie_headers(&self) -> Vec<HeaderValue> {
        self.lock()
            .pending
            .iter()
            .map(|c| c.header_value().clone())
            .collect()
    }

    /// Appends the pending `Set-Cookie` headers to a response's headers and takes them out;
    /// when there were any, also sets `Cache-Control: private, no-store`. Returns whether it
    /// added anything.
    pub fn apply_to(&self, headers: &mut HeaderMap) -> bool {
        let pending = self.take_set_cookies();
        if pending.is_empty() {
            return false;
        }
        for cookie in pending {
            headers.append(SET_COOKIE, cookie.into_header_value());
        }
        let (name, value) = cache_control_no_store();
        headers.insert(name, value);
        true
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for CookieTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("CookieTokenStore")
            .field("format", &self.config.format())
            .field("request", &self.request)
            .field("has_session", &state.current.is_some())
            .field("pending", &state.pending)
            .field("changed", &state.changed)
            .finish()
    }
}

#[async_trait]
impl TokenStore for CookieTokenStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.current())
    }

    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        let cookies = self.config.write(tokens, self.clock.now(), &self.request)?;
        let mut state = self.lock();
        state.current = Some(tokens.clone());
        state.pending = cookies;
        state.changed = true;
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        let cookies = self.config.remove(&self.request);
        let mut state = self.lock();
        state.current = None;
        state.pending = cookies;
        state.changed = true;
        Ok(())
    }
}
