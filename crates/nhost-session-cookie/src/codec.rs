//! Reading, writing and removing a session in the configured format.

use http::HeaderMap;
use nhost_session_core::{RefreshToken, StoredTokens};
use time::OffsetDateTime;

use crate::config::{CookieConfig, CookieFormat};
use crate::error::CookieError;
use crate::request::RequestCookies;
use crate::set_cookie::SetCookie;
use crate::{nextjs2, nhostjs4, own_format};

impl CookieConfig {
    /// The session a request carries, `None` when it carries none.
    ///
    /// Never fails: a missing, truncated, tampered or undecodable cookie is no session (with a
    /// `tracing` warning that names the cookie, never its value). What comes back depends on
    /// the format: the own format holds no access token or user; `@nhost/nhost-js` 4 holds
    /// both (its expiry is the JWT's `exp`); `@nhost/nextjs` 2 holds them when its
    /// `nhostSession` cookie is there.
    pub fn read(&self, headers: &HeaderMap) -> Option<StoredTokens> {
        self.read_cookies(&self.request_cookies(headers))
    }

    /// [`read`](Self::read) on cookies already picked out of the request.
    pub fn read_cookies(&self, cookies: &RequestCookies) -> Option<StoredTokens> {
        match self.format {
            CookieFormat::Own => own_format::read(self, cookies),
            CookieFormat::NextJs2 => nextjs2::read(cookies),
            CookieFormat::NhostJs4 => nhostjs4::read(self, cookies),
        }
    }

    /// The refresh token of the session a request carries: all a server needs to look the
    /// session up (see `RefreshCoordinator` in `nhost-session-core`).
    ///
    /// When [`read_cookies`](Self::read_cookies) finds a session, this finds its refresh
    /// token, and for the own and `@nhost/nextjs` 2 formats it finds nothing else. It is
    /// cheaper for the JavaScript formats, whose cookies carry the whole session: it builds
    /// neither the access token nor the user. For `@nhost/nhost-js` 4 it skips the other
    /// members after checking their syntax only, so it still finds the token in a cookie
    /// whose other members `read_cookies` cannot read (a number out of range, a user of the
    /// wrong shape); a server then refreshes and writes a well-formed cookie.
    pub fn read_refresh_token(&self, cookies: &RequestCookies) -> Option<RefreshToken> {
        match self.format {
            CookieFormat::Own => own_format::read_refresh_token(self, cookies),
            CookieFormat::NextJs2 => nextjs2::read_refresh_token(cookies),
            CookieFormat::NhostJs4 => nhostjs4::read_refresh_token(self, cookies),
        }
    }

    /// The `Set-Cookie` values that store `tokens`, given the time `now` (for `Expires`) and
    /// the cookies the request carried (so that cookies a smaller value no longer uses, such
    /// as left-over chunks, are removed).
    ///
    /// Every cookie stays within [`MAX_COOKIE_BYTES`](crate::MAX_COOKIE_BYTES). The own format
    /// splits a larger value into chunks `name.0`, `name.1`, …; the JavaScript formats cannot
    /// (their readers do not join chunks), so they refuse with [`CookieError::TooLarge`] and
    /// nothing is written: the browser keeps its previous cookies. `@nhost/nhost-js` 4 needs
    /// the access token and the user ([`CookieError::MissingSessionData`] otherwise).
    pub fn write(
        &self,
        tokens: &StoredTokens,
        now: OffsetDateTime,
        request: &RequestCookies,
    ) -> Result<Vec<SetCookie>, CookieError> {
        if tokens.refresh_token.expose_secret().trim().is_empty() {
            return Err(CookieError::EmptyRefreshToken);
        }
        match self.format {
            CookieFormat::Own => own_format::write(self, tokens, now, request),
            CookieFormat::NextJs2 => nextjs2::write(self, tokens, now, request),
            CookieFormat::NhostJs4 => nhostjs4::write(self, tokens, now),
        }
    }

    /// The `Set-Cookie` values that remove the session: every cookie of the format (and every
    /// chunk the request carried), with the same path, domain, `Secure` and `HttpOnly` as
    /// when they were set, so that browsers really drop them.
    pub fn remove(&self, request: &RequestCookies) -> Vec<SetCookie> {
        match self.format {
            CookieFormat::Own => own_format::remove(self, request),
            CookieFormat::NextJs2 => nextjs2::remove(self),
            CookieFormat::NhostJs4 => nhostjs4::remove(self),
        }
    }
}
