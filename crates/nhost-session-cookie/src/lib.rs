//! Nhost sessions in HTTP cookies, in the project's own format and in the formats Nhost's
//! JavaScript SDKs read and write, so that a Rust server can share a session with a browser.
//!
//! Framework-neutral: it reads a request's `Cookie` headers from an [`http::HeaderMap`] and
//! produces `Set-Cookie` header values, for actix, axum, hyper or anything else.
//!
//! # Formats
//!
//! | [`CookieFormat`] | cookies | value |
//! | --- | --- | --- |
//! | [`Own`](CookieFormat::Own) (default) | `nhost-session` (configurable; `name.0`, `name.1`, … when chunked) | base64url of `{"v":1,"rt":…,"id":…,"exp":<unix s>}`, optionally signed or encrypted; no JWT |
//! | [`NextJs2`](CookieFormat::NextJs2) | `nhostRefreshToken`, `nhostRefreshTokenId`, `nhostRefreshTokenExpiresAt`, `nhostSession` | js-cookie encoding; the expiry is the ACCESS token's, ISO-8601 |
//! | [`NhostJs4`](CookieFormat::NhostJs4) | `nhostSession` (configurable) | `encodeURIComponent(JSON.stringify(session + decodedToken))` |
//!
//! Defaults: the own format is `HttpOnly; Secure; SameSite=Lax; Path=/` with a 30-day
//! `Max-Age` (the refresh token's lifetime, sliding forward on every write). The JavaScript
//! formats use the attributes their SDKs use (readable by browser code, so not `HttpOnly`).
//! Every attribute is configurable through [`CookieConfig::builder`]; `__Host-` and
//! `__Secure-` prefixes are supported and their rules enforced.
//!
//! # Behaviour
//!
//! - Reading never fails: a missing, truncated, tampered or undecodable cookie is no session,
//!   with a `tracing` warning. Reading is linear in the size of the `Cookie` headers, and
//!   looks at [`MAX_COOKIE_HEADER_BYTES`] at most.
//! - Every `Set-Cookie` stays within [`MAX_COOKIE_BYTES`]. The own format splits larger values
//!   into chunks and removes chunks left over from a larger earlier value; the JavaScript
//!   formats refuse the write ([`CookieError::TooLarge`]) and leave the previous cookies alone.
//! - Removal cookies repeat path, domain, `Secure` and `HttpOnly`, so that they really remove.
//! - Responses that set or remove auth cookies must not be cached: add
//!   [`cache_control_no_store`] (`Cache-Control: private, no-store`).
//! - [`CookieTokenStore`] is a [`TokenStore`](nhost_session_core::TokenStore) over one
//!   request's cookies that collects the writes to send back.
//! - No token ever appears in `Debug`, `Display`, logs or errors.
//!
//! # Cargo features
//!
//! - `signed` (default): `CookieConfigBuilder::signed`, an HMAC-SHA256 signature on the own
//!   format (the `cookie` crate's signed jar).
//! - `private` (default): `CookieConfigBuilder::private`, AES-256-GCM encryption of the own
//!   format (the `cookie` crate's private jar).
//!
//! Either one re-exports the `cookie` crate's `Key` as `nhost_session_cookie::Key` (make one
//! with `Key::generate()` or `Key::try_from(&[u8])` with at least 64 random bytes, and keep it
//! across restarts, or every session cookie becomes unreadable). Disable default features to
//! build without them.
//!
//! # Example
//!
//! ```
//! use http::header::{COOKIE, SET_COOKIE};
//! use http::{HeaderMap, HeaderValue};
//! use nhost_session_cookie::{CookieConfig, CookieFormat, CookieTokenStore};
//! use nhost_session_core::{RefreshToken, StoredTokens, TokenStore};
//! use time::OffsetDateTime;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = CookieConfig::builder(CookieFormat::Own).name("__Host-session").build()?;
//!
//! // A sign-in: the request has no cookie, the response sets one.
//! let tokens = StoredTokens {
//!     refresh_token: RefreshToken::new("8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11"),
//!     refresh_token_id: "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b".into(),
//!     access_token_expires_at: Some(OffsetDateTime::now_utc() + time::Duration::minutes(15)),
//!     access_token: None,
//!     user: None,
//! };
//! let store = CookieTokenStore::new(config.clone(), &HeaderMap::new());
//! # block_on(async {
//! assert_eq!(store.load().await?, None);
//! store.save(&tokens).await?;
//! # Ok::<(), nhost_session_core::StoreError>(())
//! # })?;
//! let mut response = HeaderMap::new();
//! store.apply_to(&mut response);
//! let set_cookie = response[SET_COOKIE].to_str()?;
//! assert!(set_cookie.starts_with("__Host-session="));
//! assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Secure"));
//! assert_eq!(response["cache-control"], "private, no-store");
//!
//! // The next request carries the cookie back.
//! let pair = set_cookie.split(';').next().unwrap_or_default();
//! let mut request = HeaderMap::new();
//! request.insert(COOKIE, HeaderValue::from_str(&format!("theme=dark; {pair}"))?);
//! let restored = config.read(&request).expect("a session");
//! assert_eq!(restored.refresh_token, tokens.refresh_token);
//! assert_eq!(restored.refresh_token_id, tokens.refresh_token_id);
//! # Ok(())
//! # }
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

mod chunking;
mod codec;
mod config;
mod error;
mod js_encoding;
pub mod nextjs2;
mod nhostjs4;
mod own_format;
mod request;
mod set_cookie;
mod store;

pub use chunking::MAX_CHUNKS;
pub use config::{
    CookieConfig, CookieConfigBuilder, CookieConfigError, CookieFormat, DEFAULT_MAX_AGE,
    DEFAULT_NHOST_JS4_NAME, DEFAULT_OWN_NAME, SameSite,
};
#[cfg(any(feature = "signed", feature = "private"))]
pub use cookie::Key;
pub use error::CookieError;
pub use request::{MAX_COOKIE_HEADER_BYTES, RequestCookies};
pub use set_cookie::{CACHE_CONTROL_NO_STORE, MAX_COOKIE_BYTES, SetCookie, cache_control_no_store};
pub use store::CookieTokenStore;
