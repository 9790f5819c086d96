//! Nhost authentication sessions done right: runtime-agnostic core.
//!
//! The Nhost auth service issues a short-lived JWT and a refresh token, and every refresh
//! replaces the refresh token and kills the old one at once. Two refreshes with one token can
//! never both succeed, so a client that lets parallel requests refresh on their own signs its
//! user out. This crate makes that impossible:
//!
//! - [`machine`]: a pure state machine (anonymous, authenticated, refreshing, expired):
//!   `(state, event, now) -> (state, effects)`, no I/O, property-tested;
//! - [`AuthClient`]: the async driver around it. One refresh in flight at a time, shared by
//!   every caller; the new session saved before anyone gets it; transient failures never end a
//!   session, only a rejected refresh token or a sign-out does;
//! - the traits it is generic over: [`HttpTransport`] (bytes in, bytes out, as in oauth2-rs),
//!   [`TokenStore`] (where the session is kept) and [`Clock`];
//! - [`AuthApi`]: every session operation of the auth API as a plain call;
//! - the protocol types ([`Session`], [`User`], [`HasuraClaims`], …), parsed the way the real
//!   server writes them; tokens are wrapped in types whose `Debug` and `Display` print
//!   `[redacted]`.
//!
//! The core depends on no async runtime, never sleeps and spawns nothing. Adapters bring the
//! rest: `nhost-session-reqwest` (transport, auto-refresh), `nhost-session-cookie` (cookie
//! stores compatible with Nhost's JS SDKs) and `nhost-session-actix` (SSR middleware).
//!
//! # Example
//!
//! A client over a closure transport that plays the auth service, to show the flow without a
//! network (real programs use `nhost-session-reqwest`):
//!
//! ```
//! use nhost_session_core::{AuthClient, AuthUrl, FnTransport, TransportError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = FnTransport::new(|request: http::Request<Vec<u8>>| async move {
//!     assert_eq!(request.uri().path(), "/v1/signin/anonymous");
//!     let body = r#"{"session":{"accessToken":"h.p.s","accessTokenExpiresIn":900,
//!         "refreshToken":"8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11",
//!         "refreshTokenId":"0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b",
//!         "user":{"id":"u1","isAnonymous":true,"defaultRole":"anonymous","roles":["anonymous"]}}}"#;
//!     Ok::<_, TransportError>(http::Response::new(body.as_bytes().to_vec()))
//! });
//! let client = AuthClient::builder(AuthUrl::parse("http://127.0.0.1:4000/v1")?, transport).build();
//!
//! # futures_lite_block_on(async {
//! client.sign_in_anonymous(None).await?;
//! let jwt = client.access_token().await?;
//! assert_eq!(jwt.expose_secret(), "h.p.s");
//! assert_eq!(format!("{jwt:?}"), "AccessToken([redacted])");
//! assert!(client.current_user().unwrap().is_anonymous);
//! # Ok::<(), nhost_session_core::Error>(())
//! # })?;
//! # Ok(())
//! # }
//! # // A minimal executor so that the example needs no runtime.
//! # fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
//! #     use std::task::{Context, Poll, Wake, Waker};
//! #     struct Noop;
//! #     impl Wake for Noop { fn wake(self: std::sync::Arc<Self>) {} }
//! #     let waker = Waker::from(std::sync::Arc::new(Noop));
//! #     let mut cx = Context::from_waker(&waker);
//! #     let mut future = std::pin::pin!(future);
//! #     loop { if let Poll::Ready(v) = future.as_mut().poll(&mut cx) { return v; } }
//! # }
//! ```
//!
//! # What cannot be fixed on the client
//!
//! If the server rotates a refresh token but its answer is lost (the connection drops after
//! the server committed), the new token is gone and the old one is dead: the next refresh is
//! rejected and the session ends. No client can recover from that. This one never makes it
//! worse: it never sends a token that a completed refresh replaced, and it treats the lost
//! answer as transient, keeping the current access token until it expires.

pub mod api;
mod auth_url;
mod callback;
mod client;
mod clock;
pub mod coordination;
mod error;
mod fingerprint;
pub mod machine;
mod pkce;
pub mod protocol;
mod secret;
mod store;
mod transport;
#[cfg(feature = "verify")]
pub mod verify;

pub use api::{AuthApi, CreatedPat};
pub use auth_url::AuthUrl;
pub use callback::{REDIRECT_PARAMS, RedirectOutcome, strip_redirect_params};
pub use client::{AccessTokenFuture, AuthClient, AuthClientBuilder, SessionInfo, Subscription};
pub use clock::{COARSE_CLOCK_LAG, Clock, ManualClock, SystemClock};
pub use coordination::{RefreshCoordinator, Refresher, Resolution, SharedSession};
pub use error::{ConfigError, DecodeError, Error, RawBody, RedirectError, ServerError};
pub use fingerprint::TokenFingerprint;
pub use machine::{RefreshPolicy, SessionEvent, SessionStatus, SignOutReason};
pub use pkce::Pkce;
pub use protocol::{
    ClaimValue, ClaimsError, ErrorBody, HasuraClaims, MfaTicket, ProviderSignInOptions, Session,
    SignInAnonymousOptions, SignInResponse, SignUpOptions, User,
};
pub use secret::{AccessToken, RefreshToken, SecretString};
pub use store::{MemoryTokenStore, StoreError, StoredTokens, TokenStore};
pub use transport::{FnTransport, HttpTransport, TransportError, TransportErrorKind};
