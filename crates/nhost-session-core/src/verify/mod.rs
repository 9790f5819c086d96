//! Verified identity for API servers: bearer JWT verification with a JWKS or a shared secret
//! (feature `verify`).
//!
//! An SSR app trusts the JWT it got from the auth service itself
//! ([`HasuraClaims::decode_unverified`](crate::HasuraClaims::decode_unverified)). An API server
//! receives JWTs from clients and must verify them: [`JwtVerifier::verify`] does, and returns
//! the typed [`HasuraClaims`](crate::HasuraClaims).
//!
//! # Keys
//!
//! A [`KeySource`]:
//! - [`KeySource::jwks`]: the project's `/.well-known/jwks.json`, fetched through an
//!   [`HttpTransport`](crate::HttpTransport) on first use, cached, refreshed after
//!   [`jwks_max_age`](JwtVerifierBuilder::jwks_max_age), and refetched when a token names an
//!   unknown `kid` (a key rotation). Fetches are single-flight (concurrent requests with a new
//!   `kid` cause one fetch) and never closer than
//!   [`jwks_refetch_floor`](JwtVerifierBuilder::jwks_refetch_floor). When the endpoint is down,
//!   the cached keys keep verifying; without them the error is
//!   [`VerifyError::JwksUnavailable`];
//! - [`KeySource::hmac_secret`] / [`KeySource::public_key_pem`]: one fixed key;
//! - [`HasuraJwtSecret`]: Hasura's `HASURA_GRAPHQL_JWT_SECRET` JSON (`type`, `key`,
//!   `jwk_url`, `issuer`, `audience`, `claims_namespace(_path)`, `allowed_skew`, …), so that the
//!   API server accepts exactly what Hasura accepts.
//!
//! # Checks
//!
//! The token's length (at most [`DEFAULT_MAX_TOKEN_LEN`] by default); its header; the
//! algorithm against an allow-list (never `none`, and a key only verifies algorithms of its own
//! kind: an RSA public key is never used as an HMAC secret); the signature; `exp` (required),
//! `nbf` and `iat` against a [`Clock`](crate::Clock), with a leeway of at most [`MAX_LEEWAY`]
//! (none by default, like the auth server and Hasura); the issuer and audience when
//! configured; then the Hasura claims. Each failure is a [`VerifyError`] variant, and no error
//! contains the token.
//!
//! The cryptography is [jsonwebtoken](https://docs.rs/jsonwebtoken)'s, on its pure-Rust
//! RustCrypto backend; nothing cryptographic is implemented here.
//!
//! # Example
//!
//! A verifier built from an HS256 `HASURA_GRAPHQL_JWT_SECRET`, checking a token against a
//! fixed clock (real programs use the system clock, the default):
//!
//! ```
//! use nhost_session_core::ManualClock;
//! use nhost_session_core::verify::{HasuraJwtSecret, VerifyError};
//! use time::{Duration, OffsetDateTime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = HasuraJwtSecret::parse(
//!     r#"{"type":"HS256","key":"a-shared-secret-of-at-least-32-bytes!","issuer":"hasura-auth"}"#,
//! )?;
//! let clock = std::sync::Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_700_000_100)?));
//! let verifier = secret.verifier_builder()?.clock(clock.clone()).build()?;
//!
//! let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZDZjMWIxZS04YTBlLTRmMmItOWQ0My0yZjBjMWE3ZTliMTAiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDkwMCwiaXNzIjoiaGFzdXJhLWF1dGgiLCJodHRwczovL2hhc3VyYS5pby9qd3QvY2xhaW1zIjp7IngtaGFzdXJhLXVzZXItaWQiOiI1ZDZjMWIxZS04YTBlLTRmMmItOWQ0My0yZjBjMWE3ZTliMTAiLCJ4LWhhc3VyYS1kZWZhdWx0LXJvbGUiOiJ1c2VyIiwieC1oYXN1cmEtYWxsb3dlZC1yb2xlcyI6WyJ1c2VyIiwibWUiXSwieC1oYXN1cmEtdXNlci1pcy1hbm9ueW1vdXMiOiJmYWxzZSJ9fQ.6Uziom9QIS7gzwTlJz9uraNt167jNQ10iiEXYn2ZN7Q";
//!
//! # block_on(async {
//! let claims = verifier.verify(token).await?;
//! assert_eq!(claims.default_role, "user");
//! assert_eq!(claims.allowed_roles, ["user", "me"]);
//!
//! // Fifteen minutes later the token has expired.
//! clock.advance(Duration::minutes(15));
//! let error = verifier.verify(token).await.unwrap_err();
//! assert!(matches!(error, VerifyError::Expired { .. }));
//! assert!(!error.is_transient()); // 401, not 503
//! # Ok::<(), VerifyError>(())
//! # })?;
//! # Ok(())
//! # }
//! # // A minimal executor so that the example needs no runtime.
//! # fn block_on<F: std::future::Future>(future: F) -> F::Output {
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
//! With a JWKS, the builder takes the auth URL and a transport:
//!
//! ```
//! # use nhost_session_core::{AuthUrl, FnTransport, TransportError};
//! use nhost_session_core::verify::{Algorithm, JwtVerifier, KeySource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let transport = FnTransport::new(|_r: http::Request<Vec<u8>>| async {
//! #     Ok::<_, TransportError>(http::Response::new(br#"{"keys":[]}"#.to_vec()))
//! # });
//! let auth_url = AuthUrl::from_subdomain("myapp", "eu-central-1")?;
//! let verifier = JwtVerifier::builder(KeySource::jwks(&auth_url, transport))
//!     .algorithms([Algorithm::Rs256])
//!     .issuer("hasura-auth")
//!     .build()?;
//! // Share `verifier` (cheap clones, one cache) between requests; in a handler:
//! // let claims = verifier.verify(bearer_token).await?;
//! # let _ = verifier;
//! # Ok(())
//! # }
//! ```

mod algorithm;
mod error;
mod hasura_secret;
mod jwks_cache;
mod keys;
mod verifier;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use error::{JwksError, VerifierConfigError, VerifyError};
pub use hasura_secret::{HASURA_JWT_SECRET_ENV, HasuraJwtSecret, TokenLocation};
pub use keys::{KeySource, MIN_HMAC_SECRET_LEN};
pub use verifier::{
    DEFAULT_JWKS_MAX_AGE, DEFAULT_JWKS_REFETCH_FLOOR, DEFAULT_MAX_TOKEN_LEN, JwtVerifier,
    JwtVerifierBuilder, MAX_LEEWAY, VerifiedToken,
};
