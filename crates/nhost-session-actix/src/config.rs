//! The middleware's settings: [`SessionMiddleware::builder`].

use std::fmt;
use std::sync::Arc;

use nhost_session_cookie::CookieConfig;
use nhost_session_core::{
    AuthApi, AuthUrl, Clock, ConfigError, HttpTransport, RefreshCoordinator, SystemClock,
};
use time::Duration;

use crate::coordinator::{DEFAULT_CAPACITY, DEFAULT_GRACE, DEFAULT_MARGIN, LocalCoordinator};

/// Default [`SessionMiddlewareBuilder::sign_in_path`].
pub const DEFAULT_SIGN_IN_PATH: &str = "/signin";

/// Default [`SessionMiddlewareBuilder::pkce_cookie_name`].
pub const DEFAULT_PKCE_COOKIE: &str = "nhost-pkce";

/// The auth API as the middleware calls it.
pub type SharedAuthApi = AuthApi<Arc<dyn HttpTransport>>;

/// The Nhost session middleware for actix-web. Build it once, OUTSIDE the `HttpServer::new`
/// closure, and clone it into each worker's `App`, so that all workers share one
/// [coordinator](nhost_session_core::RefreshCoordinator):
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use nhost_session_actix::SessionMiddleware;
/// use nhost_session_core::AuthUrl;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let sessions = SessionMiddleware::builder(AuthUrl::from_subdomain("myapp", "eu-central-1")?)
///     .build()?;
/// HttpServer::new(move || App::new().wrap(sessions.clone()))
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await?;
/// # Ok(()) }
/// ```
///
/// See the [crate documentation](crate) for what it does on each request.
#[derive(Clone)]
pub struct SessionMiddleware {
    pub(crate) shared: Arc<Shared>,
}

/// Everything the middleware and the extractors share.
pub(crate) struct Shared {
    pub(crate) api: SharedAuthApi,
    pub(crate) cookie: CookieConfig,
    pub(crate) coordinator: Arc<dyn RefreshCoordinator>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sign_in_path: String,
    pub(crate) pkce_cookie: String,
}

impl SessionMiddleware {
    /// Settings for the auth service at `auth_url` (e.g. `https://myapp.auth.eu-central-1.nhost.run/v1`).
    pub fn builder(auth_url: AuthUrl) -> SessionMiddlewareBuilder {
        SessionMiddlewareBuilder {
            url: auth_url,
            transport: None,
            cookie: CookieConfig::own(),
            coordinator: None,
            margin: DEFAULT_MARGIN,
            grace: DEFAULT_GRACE,
            capacity: DEFAULT_CAPACITY,
            clock: Arc::new(SystemClock),
            sign_in_path: DEFAULT_SIGN_IN_PATH.to_owned(),
            pkce_cookie: DEFAULT_PKCE_COOKIE.to_owned(),
        }
    }

    /// The auth API the middleware calls, for operations this crate has no helper for
    /// (sign-up, passwordless e-mails, …).
    pub fn auth_api(&self) -> &SharedAuthApi {
        &self.shared.api
    }

    /// The cookie configuration.
    pub fn cookie_config(&self) -> &CookieConfig {
        &self.shared.cookie
    }

    /// The coordinator that shares refreshes between requests.
    pub fn coordinator(&self) -> &Arc<dyn RefreshCoordinator> {
        &self.shared.coordinator
    }

    /// The sign-in page that [`RequiredSession`](crate::RequiredSession) redirects HTML
    /// requests to.
    pub fn sign_in_path(&self) -> &str {
        &self.shared.sign_in_path
    }
}

impl fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("auth_url", &self.shared.api.url().as_str())
            .field("cookie", &self.shared.cookie)
            .field("sign_in_path", &self.shared.sign_in_path)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`SessionMiddleware`].
#[must_use]
pub struct SessionMiddlewareBuilder {
    url: AuthUrl,
    transport: Option<Arc<dyn HttpTransport>>,
    cookie: CookieConfig,
    coordinator: Option<Arc<dyn RefreshCoordinator>>,
    margin: Duration,
    grace: Duration,
    capacity: u64,
    clock: Arc<dyn Clock>,
    sign_in_path: String,
    pkce_cookie: String,
}

impl fmt::Debug for SessionMiddlewareBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddlewareBuilder")
            .field("auth_url", &self.url.as_str())
            .field("cookie", &self.cookie)
            .field("margin", &self.margin)
            .field("grace", &self.grace)
            .field("capacity", &self.capacity)
            .field("sign_in_path", &self.sign_in_path)
            .finish_non_exhaustive()
    }
}

impl SessionMiddlewareBuilder {
    /// How requests reach the auth service. By default (feature `reqwest`) a
    /// `nhost_session_reqwest::ReqwestTransport` with a 10 s timeout.
    pub fn transport(mut self, transport: impl HttpTransport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// The cookie format and attributes (default: [`CookieConfig::own`], the project's own
    /// format: `nhost-session`, `HttpOnly; Secure; SameSite=Lax; Path=/`, 30 days).
    pub fn cookie(mut self, cookie: CookieConfig) -> Self {
        self.cookie = cookie;
        self
    }

    /// A session is refreshed when its access token expires within this margin (default
    /// 60 s, capped at half the token's lifetime). Applies to the default
    /// [`LocalCoordinator`]; a coordinator given to [`coordinator`](Self::coordinator) has
    /// its own.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How long the outcome of a refresh stays available under the old token (default 60 s).
    /// Applies to the default [`LocalCoordinator`].
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The capacity of the default [`LocalCoordinator`]'s caches (default 100,000).
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity;
        self
    }

    /// Another coordinator, such as one shared by several instances through Redis, or a
    /// [`LocalCoordinator`] built with more settings.
    pub fn coordinator(mut self, coordinator: Arc<dyn RefreshCoordinator>) -> Self {
        self.coordinator = Some(coordinator);
        self
    }

    /// The clock (the system clock by default; tests use a manual one). Also given to the
    /// default coordinator.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where [`RequiredSession`](crate::RequiredSession) sends HTML requests without a
    /// session (default `/signin`), and where the callback handler sends sign-in errors.
    /// Must be a same-site path.
    pub fn sign_in_path(mut self, path: impl Into<String>) -> Self {
        self.sign_in_path = path.into();
        self
    }

    /// The cookie that keeps the PKCE verifier between the start of a provider sign-in and
    /// its callback (default `nhost-pkce`; HttpOnly, SameSite=Lax, 10 minutes).
    pub fn pkce_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.pkce_cookie = name.into();
        self
    }

    /// The middleware.
    ///
    /// # Errors
    /// When the sign-in path is not a same-site path, the PKCE cookie name is not a cookie
    /// name, or no transport was given and the default one cannot be built.
    pub fn build(self) -> Result<SessionMiddleware, ConfigError> {
        if crate::redirect::same_site_path(&self.sign_in_path).is_none() {
            return Err(ConfigError::Invalid(format!(
                "the sign-in path {:?} is not a same-site path such as `/signin`",
                self.sign_in_path
            )));
        }
        let valid_name = !self.pkce_cookie.is_empty()
            && self
                .pkce_cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid_name {
            return Err(ConfigError::Invalid(format!(
                "the PKCE cookie name {:?} is not a cookie name",
                self.pkce_cookie
            )));
        }
        // The PKCE cookie takes the session cookie's attributes: they must suit its prefix,
        // or browsers drop it and every PKCE sign-in fails.
        let pkce = self.pkce_cookie.to_ascii_lowercase();
        let host = pkce.starts_with("__host-");
        let needs_secure = host || pkce.starts_with("__secure-");
        let host_ok = self.cookie.path() == "/" && self.cookie.domain().is_none();
        if (needs_secure && !self.cookie.secure()) || (host && !host_ok) {
            return Err(ConfigError::Invalid(format!(
                "the PKCE cookie name {:?} has a prefix that the session cookie's attributes \
                 break (`__Secure-` needs Secure; `__Host-` needs Secure, Path=/ and no Domain)",
                self.pkce_cookie
            )));
        }
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport()?,
        };
        let coordinator = self.coordinator.unwrap_or_else(|| {
            Arc::new(
                LocalCoordinator::builder()
                    .margin(self.margin)
                    .grace(self.grace)
                    .capacity(self.capacity)
                    .clock(Arc::clone(&self.clock))
                    .build(),
            )
        });
        Ok(SessionMiddleware {
            shared: Arc::new(Shared {
                api: AuthApi::new(self.url, transport),
                cookie: self.cookie,
                coordinator,
                clock: self.clock,
                sign_in_path: self.sign_in_path,
                pkce_cookie: self.pkce_cookie,
            }),
        })
    }
}

#[cfg(feature = "reqwest")]
fn default_transport() -> Result<Arc<dyn HttpTransport>, ConfigError> {
    let transport = nhost_session_reqwest::ReqwestTransport::builder()
        .timeout(Some(std::time::Duration::from_secs(10)))
        .build()?;
    Ok(Arc::new(transport))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport() -> Result<Arc<dyn HttpTransport>, ConfigError> {
    Err(ConfigError::Invalid(
        "no transport: enable the `reqwest` feature or call `SessionMiddlewareBuilder::transport`"
            .into(),
    ))
}
