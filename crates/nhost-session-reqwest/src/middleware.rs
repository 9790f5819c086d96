//! [`BearerMiddleware`]: the same bearer handling as [`AuthenticatedClient`], as a
//! `reqwest_middleware::Middleware` (feature `middleware`).

use std::sync::Arc;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::authenticated::{
    AuthenticatedClient, AuthenticatedError, Authenticator, BearerSource, DEFAULT_INSPECT_LIMIT,
};

/// A `reqwest_middleware` middleware that sets `Authorization: Bearer <JWT>` with a fresh
/// token, and on an expired-JWT answer refreshes once and retries once (when the request can
/// be replayed). Behaves exactly as [`AuthenticatedClient::send`]; see there for the rules and
/// the cost of looking into `200` JSON answers.
///
/// Put it last in the chain (closest to the network), so that a retry passes only through
/// what comes after it.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use nhost_session_reqwest::BearerMiddleware;
///
/// let auth = nhost_session_reqwest::client("https://myapp.auth.eu-central-1.nhost.run/v1")?;
/// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(BearerMiddleware::new(auth.clone()))
///     .build();
/// let answer = http.get("https://myapp.functions.eu-central-1.nhost.run/v1/hello").send().await?;
/// # let _ = answer;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BearerMiddleware {
    auth: Arc<Authenticator>,
}

impl std::fmt::Debug for BearerMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerMiddleware").finish_non_exhaustive()
    }
}

impl BearerMiddleware {
    /// A middleware with tokens from `source` (usually an `AuthClient`).
    pub fn new(source: impl BearerSource + 'static) -> Self {
        Self {
            auth: Arc::new(Authenticator::new(Arc::new(source), DEFAULT_INSPECT_LIMIT)),
        }
    }

    /// A middleware that shares an [`AuthenticatedClient`]'s token source, inspection limit
    /// and refresh coordination.
    pub fn from_client(client: &AuthenticatedClient) -> Self {
        Self {
            auth: client.authenticator(),
        }
    }
}

fn to_middleware_error(error: AuthenticatedError) -> reqwest_middleware::Error {
    match error {
        AuthenticatedError::Http(e) => reqwest_middleware::Error::Reqwest(e),
        other => reqwest_middleware::Error::middleware(other),
    }
}

#[async_trait::async_trait]
impl Middleware for BearerMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let retry = request.try_clone();
        let (request, token) = self
            .auth
            .authorize(request)
            .await
            .map_err(to_middleware_error)?;
        let response = next.clone().run(request, extensions).await?;
        let (response, expired) = self.auth.inspect(response).await;
        let Some(retry) = retry.filter(|_| expired) else {
            return Ok(response);
        };
        let retry = self
            .auth
            .reauthorize(retry, &token)
            .await
            .map_err(to_middleware_error)?;
        drop(response);
        next.run(retry, extensions).await
    }
}
