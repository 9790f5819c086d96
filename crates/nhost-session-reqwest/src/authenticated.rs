//! Calls to Nhost's other services (Hasura GraphQL, storage, functions) with a fresh bearer
//! JWT, refreshed and retried once when the service says the JWT has expired.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderValue;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use nhost_session_core::{
    AccessToken, AuthClient, Clock, ConfigError, Error, HttpTransport, TokenStore,
};
use reqwest::{IntoUrl, Method, Request, RequestBuilder, Response, StatusCode};
use serde::Deserialize;

use crate::body;

/// The most of a `200` JSON answer read to look for Hasura's `invalid-jwt` error: 64 KiB.
pub const DEFAULT_INSPECT_LIMIT: usize = 64 * 1024;

/// Where authenticated calls get their access tokens: an [`AuthClient`], or your own type.
///
/// Object-safe, so that [`AuthenticatedClient`] need not be generic over the client's
/// transport, store and clock.
#[async_trait]
pub trait BearerSource: Send + Sync {
    /// A valid access token (refreshed first when due).
    async fn access_token(&self) -> Result<AccessToken, Error>;

    /// A token to replace `rejected`, which a service refused as expired: the current token
    /// when it is already another one (a refresh happened meanwhile), otherwise a new one from
    /// a forced refresh.
    async fn replace_rejected(&self, rejected: &AccessToken) -> Result<AccessToken, Error>;
}

#[async_trait]
impl<T, S, C> BearerSource for AuthClient<T, S, C>
where
    T: HttpTransport + 'static,
    S: TokenStore + 'static,
    C: Clock + 'static,
{
    async fn access_token(&self) -> Result<AccessToken, Error> {
        AuthClient::access_token(self).await
    }

    async fn replace_rejected(&self, rejected: &AccessToken) -> Result<AccessToken, Error> {
        // Checks and starts the refresh under the client's own lock: callers refused together
        // refresh once, whichever `AuthenticatedClient` they came through.
        self.refresh_if_current(rejected).await
    }
}

#[async_trait]
impl<B: BearerSource + ?Sized> BearerSource for Arc<B> {
    async fn access_token(&self) -> Result<AccessToken, Error> {
        (**self).access_token().await
    }

    async fn replace_rejected(&self, rejected: &AccessToken) -> Result<AccessToken, Error> {
        (**self).replace_rejected(rejected).await
    }
}

/// Why an authenticated call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticatedError {
    /// No valid access token could be had: not signed in, the session ended (see
    /// [`ends_session`](Self::ends_session)), or refreshing failed for now.
    #[error("no valid access token: {0}")]
    Auth(#[source] Error),
    /// The request itself failed (connection, timeout, an unbuildable request).
    #[error("the request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// The access token holds characters that cannot go into an HTTP header.
    #[error("the access token cannot be sent in an HTTP header")]
    InvalidToken,
}

impl AuthenticatedError {
    /// Whether the user must sign in again.
    pub fn ends_session(&self) -> bool {
        matches!(self, Self::Auth(e) if e.ends_session())
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Auth(e) => e.is_transient(),
            Self::Http(e) => e.is_timeout() || e.is_connect() || e.is_request() || e.is_body(),
            Self::InvalidToken => false,
        }
    }
}

/// Adds bearers, detects expired-JWT answers, refreshes once: shared by
/// [`AuthenticatedClient`] and the middleware.
pub(crate) struct Authenticator {
    source: Arc<dyn BearerSource>,
    /// Serialises the replacement of rejected tokens within this client, so that callers
    /// rejected together refresh once even with a [`BearerSource`] that does not check
    /// atomically (an `AuthClient` does: see `AuthClient::refresh_if_current`).
    gate: tokio::sync::Mutex<()>,
    inspect_limit: usize,
}

impl Authenticator {
    pub(crate) fn new(source: Arc<dyn BearerSource>, inspect_limit: usize) -> Self {
        Self {
            source,
            gate: tokio::sync::Mutex::new(()),
            inspect_limit,
        }
    }

    /// A valid token, and the request with it as bearer.
    pub(crate) async fn authorize(
        &self,
        mut request: Request,
    ) -> Result<(Request, AccessToken), AuthenticatedError> {
        let token = self
            .source
            .access_token()
            .await
            .map_err(AuthenticatedError::Auth)?;
        set_bearer(&mut request, &token)?;
        Ok((request, token))
    }

    /// Looks at an answer: `(answer, expired)`, where `expired` says the service refused the
    /// JWT. A `200` JSON answer is read (up to the limit) for that, and handed back whole.
    pub(crate) async fn inspect(&self, response: Response) -> (Response, bool) {
        if response.status() == StatusCode::UNAUTHORIZED {
            return (response, true);
        }
        if response.status() != StatusCode::OK || !is_json(&response) {
            return (response, false);
        }
        if response
            .content_length()
            .is_some_and(|length| length > self.inspect_limit as u64)
        {
            return (response, false);
        }
        let buffered = body::buffer(response, self.inspect_limit).await;
        let expired = buffered.body.as_deref().is_some_and(is_invalid_jwt);
        (buffered.response, expired)
    }

    /// The retry of a request refused with `rejected`: a token to replace it, set as bearer.
    pub(crate) async fn reauthorize(
        &self,
        mut retry: Request,
        rejected: &AccessToken,
    ) -> Result<Request, AuthenticatedError> {
        let token = {
            let _gate = self.gate.lock().await;
            self.source
                .replace_rejected(rejected)
                .await
                .map_err(AuthenticatedError::Auth)?
        };
        set_bearer(&mut retry, &token)?;
        Ok(retry)
    }
}

fn set_bearer(request: &mut Request, token: &AccessToken) -> Result<(), AuthenticatedError> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
        .map_err(|_| AuthenticatedError::InvalidToken)?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false)
}

/// Whether a GraphQL answer is Hasura's "JWT expired / invalid" error:
/// `{"errors":[{"extensions":{"code":"invalid-jwt"},"message":"Could not verify JWT: JWTExpired"}]}`.
pub(crate) fn is_invalid_jwt(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        errors: Option<Vec<GraphqlError>>,
    }
    #[derive(Deserialize)]
    struct GraphqlError {
        #[serde(default)]
        extensions: Option<Extensions>,
    }
    #[derive(Deserialize)]
    struct Extensions {
        #[serde(default)]
        code: Option<serde_json::Value>,
    }
    const CODE: &[u8] = b"invalid-jwt";
    // Cheap first look: most answers are data, not this error.
    if !body.windows(CODE.len()).any(|w| w == CODE) {
        return false;
    }
    serde_json::from_slice::<Answer>(body)
        .ok()
        .and_then(|answer| answer.errors)
        .is_some_and(|errors| {
            errors.iter().any(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.code.as_ref())
                    .and_then(serde_json::Value::as_str)
                    == Some("invalid-jwt")
            })
        })
}

/// Sends requests to Nhost's services (Hasura GraphQL, storage, functions) with a fresh
/// `Authorization: Bearer <JWT>` from an [`AuthClient`].
///
/// Each call gets a valid access token first (refreshed when due, through the client's single
/// flight: any number of concurrent calls share one `POST /token`). When the service answers
/// that the JWT has expired (which happens when clocks differ, or a token was revoked) the
/// call refreshes once and retries once:
///
/// - "expired" is HTTP 401, or Hasura's HTTP 200 whose JSON body has an error with
///   `extensions.code == "invalid-jwt"`;
/// - to see the latter, the body of every `200` answer with a JSON content type is read
///   before the call returns, up to [`DEFAULT_INSPECT_LIMIT`] bytes (set with
///   [`inspect_limit`](Self::inspect_limit)); the answer is handed back whole, but its first
///   bytes were held in memory and it cannot be streamed from its very first byte. Answers
///   with a larger `Content-Length`, non-JSON answers and other statuses are passed through
///   untouched;
/// - the retry needs the request again: bodies built from bytes, strings or JSON can be
///   replayed; a streaming body cannot, and then the first answer is returned as it is;
/// - callers refused together refresh once: the first refreshes, the others reuse its token.
///
/// Any `Authorization` header already on the request is replaced. Cheap to clone; clones
/// share the refresh coordination, so share one value (or clones of it) per session.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use nhost_session_reqwest::AuthenticatedClient;
///
/// let auth = nhost_session_reqwest::client("https://myapp.auth.eu-central-1.nhost.run/v1")?;
/// auth.sign_in_email_password("me@example.com", "secret").await?;
///
/// let api = AuthenticatedClient::new(auth.clone())?;
/// let answer = api
///     .send(api.post("https://myapp.hasura.eu-central-1.nhost.run/v1/graphql")
///         .header("content-type", "application/json")
///         .body(r#"{"query":"{ users { id } }"}"#))
///     .await?;
/// println!("{}", answer.text().await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthenticatedClient {
    http: reqwest::Client,
    auth: Arc<Authenticator>,
}

impl fmt::Debug for AuthenticatedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedClient")
            .field("inspect_limit", &self.auth.inspect_limit)
            .finish_non_exhaustive()
    }
}

impl AuthenticatedClient {
    /// Calls with tokens from `source` (usually an [`AuthClient`]), through a new reqwest
    /// client with a 10 s connect timeout.
    ///
    /// # Errors
    /// When reqwest cannot build its client (the TLS backend failed to initialise).
    pub fn new(source: impl BearerSource + 'static) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .connect_timeout(crate::transport::DEFAULT_CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ConfigError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self::with_http_client(source, http))
    }

    /// Calls with tokens from `source` through your own reqwest client.
    pub fn with_http_client(source: impl BearerSource + 'static, http: reqwest::Client) -> Self {
        Self {
            http,
            auth: Arc::new(Authenticator::new(Arc::new(source), DEFAULT_INSPECT_LIMIT)),
        }
    }

    /// The most of a `200` JSON answer read to look for an expired-JWT error. `0` turns the
    /// look off (then only a 401 counts as expired). Set it before cloning: the new value
    /// has its own refresh coordination.
    #[must_use]
    pub fn inspect_limit(self, bytes: usize) -> Self {
        let auth = Authenticator::new(Arc::clone(&self.auth.source), bytes);
        Self {
            http: self.http,
            auth: Arc::new(auth),
        }
    }

    /// The reqwest client that [`get`](Self::get), [`post`](Self::post) and
    /// [`request`](Self::request) build on.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A `GET` request to send with [`send`](Self::send).
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.http.get(url)
    }

    /// A `POST` request to send with [`send`](Self::send).
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.http.post(url)
    }

    /// A request with any method, to send with [`send`](Self::send).
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        self.http.request(method, url)
    }

    /// Sends a request with a fresh bearer, through the reqwest client that made the builder,
    /// refreshing and retrying once on an expired-JWT answer (see the type's documentation).
    ///
    /// # Errors
    /// [`AuthenticatedError::Auth`] when no valid token can be had (before sending, or when
    /// the refresh after an expired-JWT answer fails); [`AuthenticatedError::Http`] when the
    /// request cannot be built or gets no answer. HTTP error statuses are `Ok` answers.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, AuthenticatedError> {
        let (client, request) = request.build_split();
        let request = request.map_err(AuthenticatedError::Http)?;
        self.execute_with(&client, request).await
    }

    /// As [`send`](Self::send), for a built request, through [`http`](Self::http).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn execute(&self, request: Request) -> Result<Response, AuthenticatedError> {
        self.execute_with(&self.http, request).await
    }

    async fn execute_with(
        &self,
        client: &reqwest::Client,
        request: Request,
    ) -> Result<Response, AuthenticatedError> {
        let retry = request.try_clone();
        let (request, token) = self.auth.authorize(request).await?;
        let response = client
            .execute(request)
            .await
            .map_err(AuthenticatedError::Http)?;
        let (response, expired) = self.auth.inspect(response).await;
        let Some(retry) = retry.filter(|_| expired) else {
            return Ok(response);
        };
        tracing::debug!("nhost-session: the service refused the JWT; refreshing and retrying once");
        let retry = self.auth.reauthorize(retry, &token).await?;
        drop(response);
        client
            .execute(retry)
            .await
            .map_err(AuthenticatedError::Http)
    }

    #[cfg(feature = "middleware")]
    pub(crate) fn authenticator(&self) -> Arc<Authenticator> {
        Arc::clone(&self.auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_hasuras_expired_jwt_answer_only() {
        assert!(is_invalid_jwt(
            br#"{"errors":[{"extensions":{"path":"$","code":"invalid-jwt"},"message":"Could not verify JWT: JWTExpired"}]}"#
        ));
        assert!(is_invalid_jwt(
            br#"{"errors":[{"message":"x"},{"extensions":{"code":"invalid-jwt"}}]}"#
        ));
        for other in [
            &br#"{"data":{"users":[]}}"#[..],
            br#"{"data":{"note":"invalid-jwt"}}"#,
            br#"{"errors":[{"extensions":{"code":"validation-failed"},"message":"invalid-jwt"}]}"#,
            br#"{"errors":[{"extensions":{"code":["invalid-jwt"]}}]}"#,
            br#"{"errors":"invalid-jwt"}"#,
            b"invalid-jwt",
            b"",
        ] {
            assert!(!is_invalid_jwt(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn errors_say_what_to_do() {
        let ended = AuthenticatedError::Auth(Error::NotSignedIn);
        assert!(!ended.ends_session() && !ended.is_transient());
        assert!(!AuthenticatedError::InvalidToken.is_transient());
    }
}
