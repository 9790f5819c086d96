//! The HTTP transport the client sends its requests through.
//!
//! Bytes in, bytes out, as in oauth2-rs: the core builds `http::Request<Vec<u8>>` values and
//! reads `http::Response<Vec<u8>>` values, and an adapter (such as `nhost-session-reqwest`)
//! moves them over the network. Timeouts belong to the transport: the core has no timers.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

/// Sends one HTTP request and returns the whole answer.
///
/// Implementations must not follow redirects (the auth API never needs them) and should
/// enforce a timeout. Any HTTP status is an `Ok` answer; `Err` is for requests that got no
/// answer at all.
#[async_trait]
pub trait HttpTransport: Send + Sync {
    /// Sends the request.
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError>;
}

#[async_trait]
impl<T: HttpTransport + ?Sized> HttpTransport for Arc<T> {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        (**self).send(request).await
    }
}

#[async_trait]
impl<T: HttpTransport + ?Sized> HttpTransport for Box<T> {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        (**self).send(request).await
    }
}

/// A transport made of an async closure, for tests and small adapters.
///
/// ```
/// use nhost_session_core::{FnTransport, TransportError};
///
/// let transport = FnTransport::new(|_request: http::Request<Vec<u8>>| async {
///     Ok::<_, TransportError>(http::Response::new(b"\"OK\"".to_vec()))
/// });
/// # let _ = transport;
/// ```
pub struct FnTransport<F>(F);

impl<F> FnTransport<F> {
    /// Wraps the closure.
    pub fn new(f: F) -> Self {
        Self(f)
    }
}

impl<F> fmt::Debug for FnTransport<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnTransport")
    }
}

#[async_trait]
impl<F, Fut> HttpTransport for FnTransport<F>
where
    F: Fn(http::Request<Vec<u8>>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<http::Response<Vec<u8>>, TransportError>> + Send,
{
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        (self.0)(request).await
    }
}

/// What kind of failure kept a request from getting an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (refused, DNS, TLS).
    Connect,
    /// The request or the answer took longer than the transport allows.
    Timeout,
    /// The connection broke while the request or the answer was on the way.
    Io,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connection failed",
            Self::Timeout => "timed out",
            Self::Io => "connection broken",
            Self::Other => "transport error",
        })
    }
}

/// A request that got no HTTP answer. Always transient.
#[derive(Clone)]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A new error with a message. Do not put request bodies or headers in it.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A new error caused by another one.
    pub fn with_source(
        kind: TransportErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.kind, self.message)
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
