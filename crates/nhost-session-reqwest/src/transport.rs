//! [`ReqwestTransport`]: the core's [`HttpTransport`] over a `reqwest::Client`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use nhost_session_core::{ConfigError, HttpTransport, TransportError, TransportErrorKind};

use crate::body::{self, ReadError};

/// How long connecting may take by default: 10 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request (connect, send, answer) may take by default: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer the transport reads by default: 1 MiB. The auth API's answers are a few
/// kilobytes; the limit keeps a hostile or broken server from exhausting memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Sends the auth client's requests with reqwest.
///
/// Built by [`ReqwestTransport::new`] or [`ReqwestTransport::builder`], it owns a
/// `reqwest::Client` that:
///
/// - never follows redirects (the auth API never sends one on the calls the client makes, and
///   following them would let whoever controls an answer point the client, with a refresh
///   token in its body, at another host);
/// - gives up connecting after [`DEFAULT_CONNECT_TIMEOUT`] and on the whole request after
///   [`DEFAULT_TIMEOUT`];
/// - reads at most [`DEFAULT_MAX_RESPONSE_BYTES`] of an answer.
///
/// TLS comes from reqwest's own features, which this crate does not choose for you: enable
/// this crate's `rustls` or `native-tls` feature, or the same feature of `reqwest` in your own
/// `Cargo.toml` (Cargo unifies them). Without one, only `http://` URLs work.
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    timeout: Option<Duration>,
    max_response_bytes: usize,
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport")
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl ReqwestTransport {
    /// A transport with the default settings.
    ///
    /// # Errors
    /// When reqwest cannot build its client (the TLS backend failed to initialise).
    pub fn new() -> Result<Self, ConfigError> {
        Self::builder().build()
    }

    /// Settings for a transport.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// A transport over a client you configured yourself (proxies, root certificates, a
    /// user agent). Configure it with `redirect(reqwest::redirect::Policy::none())` and a
    /// connect timeout: this cannot be checked here. The whole-request timeout is still set per
    /// request ([`DEFAULT_TIMEOUT`]; `None` leaves the client's own), and answers are still
    /// limited to `max_response_bytes`.
    pub fn from_client(
        client: reqwest::Client,
        timeout: Option<Duration>,
        max_response_bytes: usize,
    ) -> Self {
        Self {
            client,
            timeout,
            max_response_bytes,
        }
    }

    /// The underlying reqwest client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Settings for a [`ReqwestTransport`].
#[derive(Clone, Debug)]
#[must_use = "call .build() to get the transport"]
pub struct ReqwestTransportBuilder {
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    max_response_bytes: usize,
    user_agent: Option<String>,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            timeout: Some(DEFAULT_TIMEOUT),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            user_agent: None,
        }
    }
}

impl ReqwestTransportBuilder {
    /// How long connecting may take (`None`: no limit). Default [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole request may take (`None`: no limit). Default [`DEFAULT_TIMEOUT`].
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer body read; a larger one fails the request with a transport error.
    /// Default [`DEFAULT_MAX_RESPONSE_BYTES`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The `User-Agent` header (default: `nhost-session/VERSION`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The transport.
    ///
    /// # Errors
    /// When reqwest cannot build its client (the TLS backend failed to initialise).
    pub fn build(self) -> Result<ReqwestTransport, ConfigError> {
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| concat!("nhost-session/", env!("CARGO_PKG_VERSION")).to_owned());
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent);
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        let client = builder
            .build()
            .map_err(|e| ConfigError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(ReqwestTransport {
            client,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

#[async_trait]
impl HttpTransport for ReqwestTransport {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let mut request = reqwest::Request::try_from(request)
            .map_err(|e| TransportError::with_source(TransportErrorKind::Other, e.without_url()))?;
        if let Some(timeout) = self.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        let response = self.client.execute(request).await.map_err(map_error)?;
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let body = body::read_limited(response, self.max_response_bytes)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge { limit } => TransportError::new(
                    TransportErrorKind::Other,
                    format!("the answer is larger than the limit of {limit} bytes"),
                ),
                ReadError::Body(e) => map_error(e),
            })?;
        let mut answer = http::Response::new(body);
        *answer.status_mut() = status;
        *answer.version_mut() = version;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

/// Sorts a reqwest error into the core's kinds, with reqwest's own predicates.
pub(crate) fn map_error(error: reqwest::Error) -> TransportError {
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_connect() {
        TransportErrorKind::Connect
    } else if error.is_request() || error.is_body() || error.is_decode() {
        TransportErrorKind::Io
    } else {
        TransportErrorKind::Other
    };
    TransportError::with_source(kind, error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn debug_shows_settings_only() {
        let transport = ReqwestTransport::builder()
            .timeout(Some(Duration::from_secs(5)))
            .max_response_bytes(10)
            .build()
            .unwrap();
        let text = format!("{transport:?}");
        assert!(text.contains("5s") && text.contains("10"), "{text}");
    }
}
