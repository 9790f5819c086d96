//! One-expression constructors for an [`AuthClient`] over reqwest.

use nhost_session_core::{
    AuthClient, AuthClientBuilder, AuthUrl, Clock, ConfigError, HttpTransport, MemoryTokenStore,
    SystemClock, TokenStore,
};

use crate::authenticated::AuthenticatedClient;
use crate::auto_refresh::{AutoRefresh, AutoRefreshOptions};
use crate::transport::ReqwestTransport;

/// An [`AuthClient`] over [`ReqwestTransport`]: what [`client`] and [`client_with_store`] build.
pub type ReqwestAuthClient<S = MemoryTokenStore, C = SystemClock> =
    AuthClient<ReqwestTransport, S, C>;

/// Something that names an auth service: an [`AuthUrl`] or a string to parse as one, such as
/// `"https://myapp.auth.eu-central-1.nhost.run/v1"`.
pub trait IntoAuthUrl {
    /// The URL.
    ///
    /// # Errors
    /// When the string is not a usable base URL.
    fn into_auth_url(self) -> Result<AuthUrl, ConfigError>;
}

impl IntoAuthUrl for AuthUrl {
    fn into_auth_url(self) -> Result<AuthUrl, ConfigError> {
        Ok(self)
    }
}

impl IntoAuthUrl for &AuthUrl {
    fn into_auth_url(self) -> Result<AuthUrl, ConfigError> {
        Ok(self.clone())
    }
}

impl IntoAuthUrl for &str {
    fn into_auth_url(self) -> Result<AuthUrl, ConfigError> {
        AuthUrl::parse(self)
    }
}

impl IntoAuthUrl for String {
    fn into_auth_url(self) -> Result<AuthUrl, ConfigError> {
        AuthUrl::parse(&self)
    }
}

impl IntoAuthUrl for &String {
    fn into_auth_url(self) -> Result<AuthUrl, ConfigError> {
        AuthUrl::parse(self)
    }
}

/// A client for the auth service at `url`, over a default [`ReqwestTransport`], keeping the
/// session in memory.
///
/// ```no_run
/// # fn demo() -> Result<(), nhost_session_core::ConfigError> {
/// let client = nhost_session_reqwest::client("https://myapp.auth.eu-central-1.nhost.run/v1")?;
/// # let _ = client;
/// # Ok(()) }
/// ```
///
/// # Errors
/// When `url` is not a usable base URL, or reqwest cannot build its client.
pub fn client(url: impl IntoAuthUrl) -> Result<ReqwestAuthClient, ConfigError> {
    Ok(builder(url)?.build())
}

/// A client for the auth service at `url`, over a default [`ReqwestTransport`], keeping the
/// session in `store` (a file, a keychain, a database row: see
/// [`TokenStore`](nhost_session_core::TokenStore)).
///
/// # Errors
/// When `url` is not a usable base URL, or reqwest cannot build its client.
pub fn client_with_store<S: TokenStore + 'static>(
    url: impl IntoAuthUrl,
    store: S,
) -> Result<ReqwestAuthClient<S>, ConfigError> {
    Ok(builder(url)?.store(store).build())
}

/// The core's builder over a default [`ReqwestTransport`], for more settings (store, clock,
/// refresh policy). For transport settings, use
/// `AuthClient::builder(url, ReqwestTransport::builder()...build()?)`.
///
/// # Errors
/// When `url` is not a usable base URL, or reqwest cannot build its client.
pub fn builder(url: impl IntoAuthUrl) -> Result<AuthClientBuilder<ReqwestTransport>, ConfigError> {
    let url = url.into_auth_url()?;
    Ok(AuthClient::builder(url, ReqwestTransport::new()?))
}

/// What this crate adds to an [`AuthClient`]: authenticated calls and auto-refresh, as
/// methods.
pub trait AuthClientExt {
    /// An [`AuthenticatedClient`] that takes its tokens from this client.
    ///
    /// # Errors
    /// When reqwest cannot build its client.
    fn authenticated(&self) -> Result<AuthenticatedClient, ConfigError>;

    /// Starts an [`AutoRefresh`] task for this client's session.
    fn spawn_auto_refresh(&self) -> AutoRefresh;

    /// Starts an [`AutoRefresh`] task with options.
    fn spawn_auto_refresh_with(&self, options: AutoRefreshOptions) -> AutoRefresh;
}

impl<T, S, C> AuthClientExt for AuthClient<T, S, C>
where
    T: HttpTransport + 'static,
    S: TokenStore + 'static,
    C: Clock + 'static,
{
    fn authenticated(&self) -> Result<AuthenticatedClient, ConfigError> {
        AuthenticatedClient::new(self.clone())
    }

    fn spawn_auto_refresh(&self) -> AutoRefresh {
        AutoRefresh::spawn(self)
    }

    fn spawn_auto_refresh_with(&self, options: AutoRefreshOptions) -> AutoRefresh {
        AutoRefresh::spawn_with(self, options)
    }
}
