//! Nhost sessions over reqwest and tokio: the transport, a background refresher, and calls to
//! Nhost's other services with a fresh JWT.
//!
//! Builds on [`nhost_session_core`], whose [`AuthClient`](nhost_session_core::AuthClient)
//! does the protocol (sign-in, one refresh at a time, rotation, the store). This crate adds:
//!
//! - [`ReqwestTransport`]: the client's [`HttpTransport`](nhost_session_core::HttpTransport)
//!   over reqwest, which never follows redirects, times out (10 s to connect, 30 s per
//!   request, both configurable) and reads at most 1 MiB of an answer;
//! - [`client`], [`client_with_store`] and [`builder`]: an `AuthClient` over reqwest in one
//!   expression;
//! - [`AutoRefresh`]: a tokio task that refreshes ahead of expiry (margin plus jitter), backs
//!   off on transient failures, and stops when the session ends or the handle is dropped;
//! - [`AuthenticatedClient`] (and `BearerMiddleware` with the `middleware` feature): requests
//!   to Hasura, storage or functions with `Authorization: Bearer <JWT>`, refreshed and
//!   retried once when the service says the JWT expired;
//! - [`TokioClock`]: a clock that follows tokio's (paused) time, for tests.
//!
//! # TLS
//!
//! The crate turns on none of reqwest's default features, so the TLS stack is your choice.
//! Enable one of this crate's features, which pass through to reqwest:
//!
//! ```toml
//! nhost-session-reqwest = { version = "0.1", features = ["rustls"] }     # rustls + aws-lc-rs
//! nhost-session-reqwest = { version = "0.1", features = ["native-tls"] } # the system's TLS
//! ```
//!
//! or enable the feature on `reqwest` in your own `Cargo.toml` (Cargo unifies features, so
//! `reqwest = { version = "0.13", features = ["rustls-no-provider"] }` works as well). With
//! no TLS feature at all only `http://` URLs work (the Nhost CLI's local stack, tests), and an
//! `https://` request fails with a transport error.
//!
//! The same goes for reqwest's other default features: HTTP/2 (`http2`) and the macOS/Windows
//! system proxy settings (`system-proxy`) are off unless you enable them on `reqwest`;
//! `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` are honoured either way.
//!
//! The `middleware` feature adds `BearerMiddleware` for `reqwest-middleware`.
//!
//! # Example
//!
//! ```no_run
//! use nhost_session_reqwest::{AuthClientExt, AutoRefresh};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = nhost_session_reqwest::client("https://myapp.auth.eu-central-1.nhost.run/v1")?;
//! auth.sign_in_email_password("me@example.com", "correct horse battery staple").await?;
//!
//! // Keep the session fresh while the program runs.
//! let _refresher = AutoRefresh::spawn(&auth);
//!
//! // Call Hasura with the session's JWT.
//! let hasura = auth.authenticated()?;
//! let answer = hasura
//!     .send(
//!         hasura
//!             .post("https://myapp.hasura.eu-central-1.nhost.run/v1/graphql")
//!             .header("content-type", "application/json")
//!             .body(r#"{"query":"query { users { id displayName } }"}"#),
//!     )
//!     .await?;
//! println!("{}", answer.text().await?);
//!
//! auth.sign_out().await?;
//! # Ok(()) }
//! ```

mod authenticated;
mod auto_refresh;
mod body;
mod builder;
mod clock;
#[cfg(feature = "middleware")]
mod middleware;
mod transport;

pub use authenticated::{
    AuthenticatedClient, AuthenticatedError, BearerSource, DEFAULT_INSPECT_LIMIT,
};
pub use auto_refresh::{AutoRefresh, AutoRefreshExit, AutoRefreshOptions};
pub use builder::{
    AuthClientExt, IntoAuthUrl, ReqwestAuthClient, builder, client, client_with_store,
};
pub use clock::TokioClock;
#[cfg(feature = "middleware")]
pub use middleware::BearerMiddleware;
pub use transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, ReqwestTransport,
    ReqwestTransportBuilder,
};

/// The core crate, re-exported so that one dependency is enough.
pub use nhost_session_core as core;
