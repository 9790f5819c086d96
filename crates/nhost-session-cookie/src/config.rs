//! Which cookie format to speak, and with which attributes.

use std::fmt;

pub use cookie::SameSite;
use time::Duration;

use crate::nextjs2;

/// The refresh token's default lifetime on the Nhost auth server: 30 days, sliding forward on
/// every refresh. Every format's cookies live this long by default.
pub const DEFAULT_MAX_AGE: Duration = Duration::days(30);

/// The own format's default cookie name.
pub const DEFAULT_OWN_NAME: &str = "nhost-session";

/// The name `@nhost/nhost-js` 4's `CookieStorage` uses by default (its `cookieName` option).
pub const DEFAULT_NHOST_JS4_NAME: &str = "nhostSession";

/// The wire format of the session cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CookieFormat {
    /// The project's own format (the default): one cookie with the refresh token, its id and
    /// the access token's expiry, never the JWT. Split into `name.0`, `name.1`, … when too
    /// large; optionally signed or encrypted. `HttpOnly; Secure; SameSite=Lax; Path=/` and
    /// 30 days by default.
    Own,
    /// `@nhost/nextjs` 2 and `@nhost/hasura-auth-js` 2 in cookie mode: `nhostRefreshToken`,
    /// `nhostRefreshTokenId`, `nhostRefreshTokenExpiresAt` (the ACCESS token's expiry,
    /// ISO-8601) and, as `@nhost/nextjs` writes it, `nhostSession` (access token and user).
    /// Values encoded the js-cookie way; `Path=/; SameSite=Lax`, 30 days, neither `Secure`
    /// nor `HttpOnly` by default, because the browser SDK reads them.
    NextJs2,
    /// `@nhost/nhost-js` 4's `CookieStorage`: one cookie (`nhostSession` by default) holding
    /// `encodeURIComponent(JSON.stringify(session))`, the session with the access token, the
    /// user and the decoded JWT. `Secure; SameSite=Lax; Path=/`, 30 days by default; never
    /// `HttpOnly` by default, because the browser SDK reads it.
    NhostJs4,
}

impl fmt::Display for CookieFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Own => "own",
            Self::NextJs2 => "@nhost/nextjs 2",
            Self::NhostJs4 => "@nhost/nhost-js 4",
        })
    }
}

/// How the own format's value is protected.
#[derive(Clone, Default)]
pub(crate) enum Protection {
    /// Plain base64url (the value holds no JWT; the refresh token is as secret as the cookie).
    #[default]
    None,
    /// HMAC-SHA256 signed with the `cookie` crate's signed jar.
    #[cfg(feature = "signed")]
    Signed(cookie::Key),
    /// AES-256-GCM encrypted with the `cookie` crate's private jar.
    #[cfg(feature = "private")]
    Private(cookie::Key),
}

impl fmt::Debug for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "None",
            #[cfg(feature = "signed")]
            Self::Signed(_) => "Signed([redacted key])",
            #[cfg(feature = "private")]
            Self::Private(_) => "Private([redacted key])",
        })
    }
}

/// A cookie format with its attributes, validated: build one with [`CookieConfig::builder`]
/// (or take the defaults with [`CookieConfig::own`], [`CookieConfig::nextjs2`],
/// [`CookieConfig::nhost_js4`]).
///
/// Build it once and share it (it is cheap to clone, and [`CookieTokenStore`] takes it behind
/// an `Arc`). Reading, writing and removing cookies are methods of this type: see
/// [`read`](CookieConfig::read), [`write`](CookieConfig::write) and
/// [`remove`](CookieConfig::remove).
///
/// [`CookieTokenStore`]: crate::CookieTokenStore
#[derive(Clone, Debug)]
pub struct CookieConfig {
    pub(crate) format: CookieFormat,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: Option<SameSite>,
    pub(crate) max_age: Duration,
    pub(crate) nextjs_session_cookie: bool,
    pub(crate) protection: Protection,
}

impl CookieConfig {
    /// A builder with the defaults of `format`.
    pub fn builder(format: CookieFormat) -> CookieConfigBuilder {
        CookieConfigBuilder {
            config: Self::defaults(format),
            name_set: false,
            protection_set: false,
        }
    }

    /// The own format with its defaults: cookie `nhost-session`, `HttpOnly; Secure;
    /// SameSite=Lax; Path=/`, 30 days, unsigned.
    pub fn own() -> Self {
        Self::defaults(CookieFormat::Own)
    }

    /// The `@nhost/nextjs` 2 / hasura-auth-js 2 format with the attributes those SDKs use.
    pub fn nextjs2() -> Self {
        Self::defaults(CookieFormat::NextJs2)
    }

    /// The `@nhost/nhost-js` 4 `CookieStorage` format with that class's default options.
    pub fn nhost_js4() -> Self {
        Self::defaults(CookieFormat::NhostJs4)
    }

    fn defaults(format: CookieFormat) -> Self {
        let (name, secure, http_only) = match format {
            CookieFormat::Own => (DEFAULT_OWN_NAME, true, true),
            CookieFormat::NextJs2 => (nextjs2::REFRESH_TOKEN, false, false),
            CookieFormat::NhostJs4 => (DEFAULT_NHOST_JS4_NAME, true, false),
        };
        Self {
            format,
            name: name.to_owned(),
            path: "/".to_owned(),
            domain: None,
            secure,
            http_only,
            same_site: Some(SameSite::Lax),
            max_age: DEFAULT_MAX_AGE,
            nextjs_session_cookie: true,
            protection: Protection::None,
        }
    }

    /// The format.
    pub fn format(&self) -> CookieFormat {
        self.format
    }

    /// The cookie's name (for [`CookieFormat::NextJs2`], the refresh token's cookie,
    /// `nhostRefreshToken`; the other names are fixed too).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Path` attribute.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Domain` attribute, when set.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// Whether the cookies are `Secure`.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Whether the cookies are `HttpOnly`.
    pub fn http_only(&self) -> bool {
        self.http_only
    }

    /// The `SameSite` attribute, when set.
    pub fn same_site(&self) -> Option<SameSite> {
        self.same_site
    }

    /// How long the cookies live (`Max-Age`, and `Expires` for old browsers).
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Whether the own format's value is signed or encrypted.
    pub fn is_protected(&self) -> bool {
        !matches!(self.protection, Protection::None)
    }
}

/// Builds a [`CookieConfig`]; every attribute is configurable, and
/// [`build`](CookieConfigBuilder::build) refuses combinations browsers would reject.
#[derive(Clone, Debug)]
#[must_use]
pub struct CookieConfigBuilder {
    config: CookieConfig,
    name_set: bool,
    protection_set: bool,
}

impl CookieConfigBuilder {
    /// The cookie's name ([`CookieFormat::Own`] and [`CookieFormat::NhostJs4`]; the
    /// `@nhost/nextjs` 2 names are fixed by that SDK). `__Host-` and `__Secure-` prefixes are
    /// supported and their rules enforced.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into();
        self.name_set = true;
        self
    }

    /// The `Path` attribute; `/` by default.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.path = path.into();
        self
    }

    /// The `Domain` attribute (for example `example.com`, to share the cookie with
    /// subdomains); none by default, which ties the cookie to the exact host.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.config.domain = Some(domain.into());
        self
    }

    /// The `Secure` attribute.
    pub fn secure(mut self, secure: bool) -> Self {
        self.config.secure = secure;
        self
    }

    /// The `HttpOnly` attribute. The JavaScript formats need it off for the browser SDK to
    /// read the cookie; turn it on only if no browser code reads them.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.config.http_only = http_only;
        self
    }

    /// The `SameSite` attribute (`None` to leave it out). `SameSite=None` requires `Secure`.
    pub fn same_site(mut self, same_site: impl Into<Option<SameSite>>) -> Self {
        self.config.same_site = same_site.into();
        self
    }

    /// How long the cookies live; 30 days (the refresh token's lifetime) by default. Every
    /// write sends it again, so the lifetime slides forward like the refresh token's.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.config.max_age = max_age;
        self
    }

    /// [`CookieFormat::NextJs2`] only: whether to write `@nhost/nextjs`'s `nhostSession`
    /// cookie (access token and user, without the refresh token) when the session has them.
    /// On by default.
    pub fn nextjs_session_cookie(mut self, enabled: bool) -> Self {
        self.config.nextjs_session_cookie = enabled;
        self
    }

    /// [`CookieFormat::Own`] only: signs the value (HMAC-SHA256, the `cookie` crate's signed
    /// jar), so that a tampered cookie reads as no session.
    #[cfg(feature = "signed")]
    pub fn signed(mut self, key: cookie::Key) -> Self {
        self.config.protection = Protection::Signed(key);
        self.protection_set = true;
        self
    }

    /// [`CookieFormat::Own`] only: encrypts the value (AES-256-GCM, the `cookie` crate's
    /// private jar), so that the refresh token cannot be read from the cookie.
    #[cfg(feature = "private")]
    pub fn private(mut self, key: cookie::Key) -> Self {
        self.config.protection = Protection::Private(key);
        self.protection_set = true;
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<CookieConfig, CookieConfigError> {
        let config = self.config;
        if config.format == CookieFormat::NextJs2 && self.name_set {
            return Err(CookieConfigError::NameFixedByFormat(config.format));
        }
        if config.format != CookieFormat::Own && self.protection_set {
            return Err(CookieConfigError::ProtectionNeedsOwnFormat(config.format));
        }
        validate_name(&config.name)?;
        validate_path(&config.path)?;
        if let Some(domain) = &config.domain {
            validate_domain(domain)?;
        }
        if config.max_age <= Duration::ZERO {
            return Err(CookieConfigError::MaxAgeNotPositive);
        }
        if config.same_site == Some(SameSite::None) && !config.secure {
            return Err(CookieConfigError::SameSiteNoneRequiresSecure);
        }
        let lower = config.name.to_ascii_lowercase();
        if lower.starts_with("__host-") {
            if !config.secure {
                return Err(CookieConfigError::HostPrefixRequiresSecure);
            }
            if config.path != "/" {
                return Err(CookieConfigError::HostPrefixRequiresRootPath);
            }
            if config.domain.is_some() {
                return Err(CookieConfigError::HostPrefixForbidsDomain);
            }
        }
        if lower.starts_with("__secure-") && !config.secure {
            return Err(CookieConfigError::SecurePrefixRequiresSecure);
        }
        Ok(config)
    }
}

/// Why a [`CookieConfig`] was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieConfigError {
    /// The name is empty or has characters a cookie name cannot hold (separators, spaces,
    /// control characters, non-ASCII).
    #[error("invalid cookie name {0:?}: it must be a non-empty RFC 6265 token")]
    InvalidName(String),
    /// The path does not start with `/` or holds `;`, spaces or control characters.
    #[error(
        "invalid cookie path {0:?}: it must start with `/` and hold no `;`, spaces or control characters"
    )]
    InvalidPath(String),
    /// The domain is not a host name.
    #[error("invalid cookie domain {0:?}: it must be a host name such as `example.com`")]
    InvalidDomain(String),
    /// A `__Host-` cookie must be `Secure`.
    #[error("a `__Host-` cookie must be Secure")]
    HostPrefixRequiresSecure,
    /// A `__Host-` cookie must have `Path=/`.
    #[error("a `__Host-` cookie must have Path=/")]
    HostPrefixRequiresRootPath,
    /// A `__Host-` cookie must not have a `Domain`.
    #[error("a `__Host-` cookie must not have a Domain")]
    HostPrefixForbidsDomain,
    /// A `__Secure-` cookie must be `Secure`.
    #[error("a `__Secure-` cookie must be Secure")]
    SecurePrefixRequiresSecure,
    /// Browsers drop `SameSite=None` cookies that are not `Secure`.
    #[error("SameSite=None requires Secure")]
    SameSiteNoneRequiresSecure,
    /// The lifetime must be positive.
    #[error("the cookie's max age must be positive")]
    MaxAgeNotPositive,
    /// The format's cookie names are fixed by the JavaScript SDK that reads them.
    #[error("the {0} format's cookie names are fixed by the SDK")]
    NameFixedByFormat(CookieFormat),
    /// Signing and encryption exist for the own format only: the JavaScript SDKs could not
    /// read a protected value.
    #[error(
        "the {0} format cannot be signed or encrypted: its JavaScript reader could not read it"
    )]
    ProtectionNeedsOwnFormat(CookieFormat),
}

/// RFC 6265 `token`: visible ASCII without separators.
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

fn validate_name(name: &str) -> Result<(), CookieConfigError> {
    // Leave room for the chunk suffix and keep names sane.
    if !is_token(name) || name.len() > 256 {
        return Err(CookieConfigError::InvalidName(name.to_owned()));
    }
    Ok(())
}

fn validate_path(path: &str) -> Result<(), CookieConfigError> {
    let ok = path.starts_with('/')
        && path.len() <= 1024
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b';');
    if ok {
        Ok(())
    } else {
        Err(CookieConfigError::InvalidPath(path.to_owned()))
    }
}

fn validate_domain(domain: &str) -> Result<(), CookieConfigError> {
    let host = domain.strip_prefix('.').unwrap_or(domain);
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(CookieConfigError::InvalidDomain(domain.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_formats() {
        let own = CookieConfig::own();
        assert_eq!(
            (
                own.name(),
                own.secure(),
                own.http_only(),
                own.same_site(),
                own.path()
            ),
            ("nhost-session", true, true, Some(SameSite::Lax), "/")
        );
        assert_eq!(own.max_age(), Duration::days(30));
        let next = CookieConfig::nextjs2();
        assert!(!next.secure() && !next.http_only());
        let js4 = CookieConfig::nhost_js4();
        assert!(js4.secure() && !js4.http_only());
        assert_eq!(js4.name(), "nhostSession");
        for config in [own, next, js4] {
            let rebuilt = CookieConfig::builder(config.format()).build().unwrap();
            assert_eq!(rebuilt.name(), config.name());
        }
    }

    #[test]
    fn prefixes_are_enforced() {
        let own = || CookieConfig::builder(CookieFormat::Own);
        assert!(own().name("__Host-s").build().is_ok());
        assert_eq!(
            own().name("__Host-s").secure(false).build().unwrap_err(),
            CookieConfigError::HostPrefixRequiresSecure
        );
        assert_eq!(
            own().name("__host-s").path("/app").build().unwrap_err(),
            CookieConfigError::HostPrefixRequiresRootPath
        );
        assert_eq!(
            own()
                .name("__Host-s")
                .domain("example.com")
                .build()
                .unwrap_err(),
            CookieConfigError::HostPrefixForbidsDomain
        );
        assert!(
            own()
                .name("__Secure-s")
                .domain("example.com")
                .build()
                .is_ok()
        );
        assert_eq!(
            own().name("__Secure-s").secure(false).build().unwrap_err(),
            CookieConfigError::SecurePrefixRequiresSecure
        );
        assert_eq!(
            CookieConfig::builder(CookieFormat::NhostJs4)
                .name("__Host-nhostSession")
                .secure(false)
                .build()
                .unwrap_err(),
            CookieConfigError::HostPrefixRequiresSecure
        );
    }

    #[test]
    fn bad_attributes_are_refused() {
        let own = || CookieConfig::builder(CookieFormat::Own);
        for name in ["", "a b", "a;b", "a=b", "é", "a\"b"] {
            assert!(matches!(
                own().name(name).build(),
                Err(CookieConfigError::InvalidName(_))
            ));
        }
        for path in ["", "app", "/a;b", "/a b", "/\u{7f}"] {
            assert!(matches!(
                own().path(path).build(),
                Err(CookieConfigError::InvalidPath(_))
            ));
        }
        for domain in ["", ".", "a..b", "a b", "a;b", "exa_mple.com"] {
            assert!(matches!(
                own().domain(domain).build(),
                Err(CookieConfigError::InvalidDomain(_))
            ));
        }
        assert!(own().domain(".example.com").build().is_ok());
        assert_eq!(
            own()
                .secure(false)
                .same_site(SameSite::None)
                .build()
                .unwrap_err(),
            CookieConfigError::SameSiteNoneRequiresSecure
        );
        assert_eq!(
            own().max_age(Duration::ZERO).build().unwrap_err(),
            CookieConfigError::MaxAgeNotPositive
        );
        assert_eq!(
            CookieConfig::builder(CookieFormat::NextJs2)
                .name("x")
                .build()
                .unwrap_err(),
            CookieConfigError::NameFixedByFormat(CookieFormat::NextJs2)
        );
    }

    #[cfg(feature = "signed")]
    #[test]
    fn protection_is_for_the_own_format_and_never_printed() {
        let key = cookie::Key::generate();
        assert_eq!(
            CookieConfig::builder(CookieFormat::NhostJs4)
                .signed(key.clone())
                .build()
                .unwrap_err(),
            CookieConfigError::ProtectionNeedsOwnFormat(CookieFormat::NhostJs4)
        );
        let config = CookieConfig::builder(CookieFormat::Own)
            .signed(key)
            .build()
            .unwrap();
        assert!(config.is_protected());
        assert!(format!("{config:?}").contains("Signed([redacted key])"));
    }
}
