//! `Set-Cookie` values to send back, and the `Cache-Control` header that goes with them.

use std::fmt;

use cookie::{Cookie, SameSite};
use http::header::{CACHE_CONTROL, HeaderName, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use time::{Duration, OffsetDateTime};

use crate::config::CookieConfig;
use crate::error::CookieError;

/// The largest `Set-Cookie` value written, attributes included. Browsers keep at least 4,096
/// bytes of name and value (RFC 6265); counting the attributes too leaves a margin for every
/// browser.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The `Cache-Control` value for responses that set or remove auth cookies: a shared cache
/// must never store (and replay) a response that carries someone's session.
pub const CACHE_CONTROL_NO_STORE: &str = "private, no-store";

/// The `Cache-Control: private, no-store` header, for adapters to add to every response that
/// sets or removes auth cookies.
pub fn cache_control_no_store() -> (HeaderName, HeaderValue) {
    (
        CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL_NO_STORE),
    )
}

/// One `Set-Cookie` header value: a session cookie to set, or a removal.
///
/// The header value is marked sensitive (so `http`'s `Debug` hides it), and this type's
/// `Debug` shows the cookie's name only.
#[derive(Clone, PartialEq, Eq)]
pub struct SetCookie {
    name: String,
    removal: bool,
    header: HeaderValue,
}

impl SetCookie {
    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this removes the cookie (empty value, `Max-Age=0`, `Expires` in the past).
    pub fn is_removal(&self) -> bool {
        self.removal
    }

    /// The `Set-Cookie` header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// The `Set-Cookie` header value, by value.
    pub fn into_header_value(self) -> HeaderValue {
        self.header
    }

    /// The header value's length in bytes (at most [`MAX_COOKIE_BYTES`]).
    pub fn len(&self) -> usize {
        self.header.len()
    }

    /// Whether the header value is empty (never: a cookie has at least a name).
    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
    }

    /// Appends this as a `Set-Cookie` header.
    pub fn append_to(&self, headers: &mut HeaderMap) {
        headers.append(SET_COOKIE, self.header.clone());
    }
}

impl fmt::Debug for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetCookie")
            .field("name", &self.name)
            .field("removal", &self.removal)
            .field("len", &self.header.len())
            .finish_non_exhaustive()
    }
}

/// Attributes of one cookie, taken from the config and adjusted per cookie.
#[derive(Clone, Debug)]
pub(crate) struct Attributes {
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: Option<SameSite>,
}

impl Attributes {
    pub(crate) fn of(config: &CookieConfig) -> Self {
        Self {
            path: config.path.clone(),
            domain: config.domain.clone(),
            secure: config.secure,
            http_only: config.http_only,
            same_site: config.same_site,
        }
    }

    fn apply(&self, cookie: &mut Cookie<'static>) {
        cookie.set_path(self.path.clone());
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_secure(self.secure);
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
    }

    /// A cookie to set, living `max_age` from `now` (`Max-Age` and `Expires`).
    pub(crate) fn set(
        &self,
        name: &str,
        value: String,
        now: OffsetDateTime,
        max_age: Duration,
    ) -> Result<SetCookie, CookieError> {
        let mut cookie = Cookie::new(name.to_owned(), value);
        self.apply(&mut cookie);
        let max_age = max_age.max(Duration::ZERO);
        cookie.set_max_age(max_age);
        cookie.set_expires(now.checked_add(max_age).unwrap_or(now));
        finish(name, cookie, false)
    }

    /// A cookie that removes `name`: same path, domain, `Secure`, `HttpOnly` and `SameSite`
    /// as the cookie it replaces, empty value, `Max-Age=0`, `Expires` in the past.
    pub(crate) fn removal(&self, name: &str) -> Result<SetCookie, CookieError> {
        let mut cookie = Cookie::new(name.to_owned(), "");
        self.apply(&mut cookie);
        cookie.make_removal();
        finish(name, cookie, true)
    }

    /// How many bytes the attributes of a cookie named `name` take, with `=` and an empty
    /// value: what is left of [`MAX_COOKIE_BYTES`] is room for the value.
    pub(crate) fn overhead(&self, name: &str, now: OffsetDateTime, max_age: Duration) -> usize {
        let mut cookie = Cookie::new(name.to_owned(), "");
        self.apply(&mut cookie);
        cookie.set_max_age(max_age.max(Duration::ZERO));
        cookie.set_expires(now.checked_add(max_age).unwrap_or(now));
        cookie.to_string().len()
    }
}

/// Renders and size-checks a cookie.
fn finish(name: &str, cookie: Cookie<'static>, removal: bool) -> Result<SetCookie, CookieError> {
    let rendered = cookie.to_string();
    if rendered.len() > MAX_COOKIE_BYTES {
        return Err(CookieError::TooLarge {
            name: name.to_owned(),
            size: rendered.len(),
            limit: MAX_COOKIE_BYTES,
        });
    }
    let mut header = HeaderValue::from_str(&rendered).map_err(|_| CookieError::InvalidHeader {
        name: name.to_owned(),
    })?;
    header.set_sensitive(true);
    Ok(SetCookie {
        name: name.to_owned(),
        removal,
        header,
    })
}

/// Removal cookies never fail in practice (the name and attributes were validated, the value
/// is empty); this turns the impossible failure into a warning rather than an error path.
pub(crate) fn removals<'a>(
    attributes: &Attributes,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<SetCookie> {
    names
        .into_iter()
        .filter_map(|name| match attributes.removal(name) {
            Ok(cookie) => Some(cookie),
            Err(error) => {
                tracing::warn!(%error, "cannot build a removal cookie");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_repeats_the_attributes() {
        let config = CookieConfig::builder(crate::CookieFormat::Own)
            .domain("example.com")
            .path("/app")
            .build()
            .unwrap();
        let removal = Attributes::of(&config).removal("nhost-session").unwrap();
        let text = removal.header_value().to_str().unwrap();
        for part in [
            "nhost-session=;",
            "Path=/app",
            "Domain=example.com",
            "Secure",
            "HttpOnly",
            "Max-Age=0",
            "SameSite=Lax",
        ] {
            assert!(text.contains(part), "{text}");
        }
        assert!(removal.is_removal());
        assert!(removal.header_value().is_sensitive());
    }

    #[test]
    fn debug_shows_no_value() {
        let config = CookieConfig::own();
        let now = OffsetDateTime::now_utc();
        let cookie = Attributes::of(&config)
            .set("n", "secret-value".into(), now, Duration::days(1))
            .unwrap();
        let debug = format!("{cookie:?}");
        assert!(!debug.contains("secret-value"), "{debug}");
        assert!(
            cookie
                .header_value()
                .to_str()
                .unwrap()
                .contains("Max-Age=86400")
        );
    }

    #[test]
    fn too_large_is_refused() {
        let config = CookieConfig::own();
        let now = OffsetDateTime::now_utc();
        let error = Attributes::of(&config)
            .set("n", "v".repeat(MAX_COOKIE_BYTES), now, Duration::days(1))
            .unwrap_err();
        assert!(matches!(
            error,
            CookieError::TooLarge {
                limit: MAX_COOKIE_BYTES,
                ..
            }
        ));
    }

    #[test]
    fn cache_control() {
        let (name, value) = cache_control_no_store();
        assert_eq!(name, CACHE_CONTROL);
        assert_eq!(value, "private, no-store");
    }
}
