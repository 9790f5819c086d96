//! The auth API as plain calls: one method per endpoint, no state.
//!
//! [`AuthClient`](crate::AuthClient) builds on it; adapters that keep sessions their own way
//! (the actix middleware coalesces refreshes across requests) call it directly.

mod operations;
mod wire;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use operations::CreatedPat;

use crate::auth_url::AuthUrl;
use crate::error::{ConfigError, DecodeError, Error, RawBody, ServerError};
use crate::protocol::ErrorBody;
use crate::secret::AccessToken;
use crate::transport::HttpTransport;

/// The stateless auth API over a transport.
///
/// ```
/// use nhost_session_core::{AuthApi, AuthUrl, FnTransport, TransportError};
///
/// let api = AuthApi::new(
///     AuthUrl::parse("http://127.0.0.1:4000/v1").unwrap(),
///     FnTransport::new(|_req: http::Request<Vec<u8>>| async {
///         Ok::<_, TransportError>(http::Response::new(b"\"OK\"".to_vec()))
///     }),
/// );
/// assert_eq!(api.url().endpoint("token").path(), "/v1/token");
/// ```
#[derive(Debug, Clone)]
pub struct AuthApi<T> {
    url: AuthUrl,
    transport: T,
}

/// One endpoint: method, path, and a name for errors and logs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Endpoint {
    pub(crate) post: bool,
    pub(crate) path: &'static str,
    pub(crate) name: &'static str,
}

impl Endpoint {
    pub(crate) const fn post(path: &'static str, name: &'static str) -> Self {
        Self {
            post: true,
            path,
            name,
        }
    }

    pub(crate) const fn get(path: &'static str, name: &'static str) -> Self {
        Self {
            post: false,
            path,
            name,
        }
    }
}

/// An answer: status and body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl<T> AuthApi<T> {
    /// The API at `url`, reached through `transport`.
    pub fn new(url: AuthUrl, transport: T) -> Self {
        Self { url, transport }
    }

    /// The base URL.
    pub fn url(&self) -> &AuthUrl {
        &self.url
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }
}

impl<T: HttpTransport> AuthApi<T> {
    /// Sends a request and returns the raw answer, whatever its status.
    pub(crate) async fn send(
        &self,
        endpoint: Endpoint,
        body: Option<&(impl Serialize + ?Sized)>,
        bearer: Option<&AccessToken>,
    ) -> Result<Answer, Error> {
        let url = self.url.endpoint(endpoint.path);
        let mut builder = http::Request::builder()
            .method(if endpoint.post {
                http::Method::POST
            } else {
                http::Method::GET
            })
            .uri(url.as_str())
            .header(http::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            builder = builder.header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
            );
        }
        let bytes = match body {
            Some(body) => {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(body).map_err(|e| {
                    Error::Config(ConfigError::Invalid(format!(
                        "cannot encode the request body of {}: {e}",
                        endpoint.name
                    )))
                })?
            }
            None => Vec::new(),
        };
        let request = builder.body(bytes).map_err(|e| {
            Error::Config(ConfigError::Invalid(format!(
                "cannot build the request of {}: {e}",
                endpoint.name
            )))
        })?;
        tracing::debug!(endpoint = endpoint.name, "nhost-session: auth request");
        let response = self.transport.send(request).await?;
        let status = response.status().as_u16();
        tracing::debug!(
            endpoint = endpoint.name,
            status,
            "nhost-session: auth answer"
        );
        Ok(Answer {
            status,
            body: response.into_body(),
        })
    }

    /// Sends a request and decodes a 2xx answer as `R`; other statuses become
    /// [`Error::Server`].
    pub(crate) async fn call<R: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        body: Option<&(impl Serialize + ?Sized)>,
        bearer: Option<&AccessToken>,
    ) -> Result<R, Error> {
        let answer = self.send(endpoint, body, bearer).await?;
        if !(200..300).contains(&answer.status) {
            return Err(Error::Server(Box::new(server_error(&answer))));
        }
        decode(endpoint, &answer)
    }

    /// Sends a request whose success answer is `"OK"` (or anything): only the status counts.
    pub(crate) async fn call_ok(
        &self,
        endpoint: Endpoint,
        body: Option<&(impl Serialize + ?Sized)>,
        bearer: Option<&AccessToken>,
    ) -> Result<(), Error> {
        let answer = self.send(endpoint, body, bearer).await?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(Error::Server(Box::new(server_error(&answer))))
        }
    }
}

pub(crate) fn server_error(answer: &Answer) -> ServerError {
    ServerError {
        status: answer.status,
        body: ErrorBody::parse(&answer.body),
        raw: RawBody::new(&answer.body),
    }
}

pub(crate) fn decode<R: DeserializeOwned>(endpoint: Endpoint, answer: &Answer) -> Result<R, Error> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        Error::Decode(Box::new(DecodeError::new(
            endpoint.name,
            answer.status,
            &e,
            &answer.body,
        )))
    })
}
