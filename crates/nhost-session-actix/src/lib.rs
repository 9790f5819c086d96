//! Server-side rendering with Nhost sessions in actix-web.
//!
//! The Nhost auth service replaces the refresh token at every refresh and kills the old one at
//! once. A server that renders pages for signed-in users must therefore refresh at most once
//! per token, whatever the number of concurrent requests carrying it, and must hand the new
//! token back to the browser, or the browser keeps a dead token and its user is signed out.
//! This crate does exactly that:
//!
//! - [`SessionMiddleware`] reads the session cookie (any format of `nhost-session-cookie`).
//!   When the session of that refresh token is known and its JWT is valid beyond the margin,
//!   it is attached without calling the auth service: page loads within one JWT lifetime make
//!   no auth call. Otherwise it refreshes, once for all the concurrent requests carrying that
//!   token ([`LocalCoordinator`], or any [`RefreshCoordinator`] such as a Redis one), and the
//!   outcome stays available under the OLD token for a grace period: a request that left the
//!   browser before the new cookie arrived gets the new session and the new cookie, not a
//!   sign-out.
//! - The response carries `Set-Cookie` only when the token changed (or on sign-in and
//!   sign-out), plus `Cache-Control: private, no-store` whenever it sets or removes an auth
//!   cookie. The request itself is updated (its extensions, and its `Cookie` header), so
//!   handlers and later extractors see the new session and never refresh again.
//! - A rejected refresh token removes the cookie and the request goes on as anonymous. A
//!   transient failure (auth service down, 5xx, timeout) keeps the cookie untouched, and the
//!   handler is told the session is [temporarily unavailable](SessionState::Unavailable)
//!   (while the old JWT is still valid, it is served instead).
//! - Extractors: [`SessionState`] (anonymous, active, unavailable; never fails),
//!   [`RequiredSession`] (401 for API routes, a redirect to the sign-in page for HTML ones,
//!   503 when unavailable), and [`SessionActions`] to sign in (email/password, anonymous,
//!   TOTP, or any sign-in answer) and out (revoking the token at the server).
//! - [`callback`]: the OAuth / magic-link callback route, exchanging `refreshToken` or `code`
//!   (PKCE), redirecting only to a [same-site path](same_site_path) and leaving no token in
//!   the address bar.
//! - [`hydration_script`]: the session (user, JWT, expiry; never the refresh token) as
//!   `<script type="application/json">`, escaped so that no value can close the element.
//!
//! Tokens never appear in logs, `Debug` output or errors; caches are keyed by
//! [`TokenFingerprint`](nhost_session_core::TokenFingerprint)s, never by tokens.
//!
//! # Example
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use nhost_session_actix::{RequiredSession, SessionActions, SessionMiddleware, SessionState};
//! use nhost_session_cookie::{CookieConfig, CookieFormat};
//! use nhost_session_core::AuthUrl;
//!
//! async fn home(state: SessionState) -> HttpResponse {
//!     match state.user() {
//!         Some(user) => HttpResponse::Ok().body(format!("Hello {}", user.display_name)),
//!         None => HttpResponse::Ok().body("Hello, stranger"),
//!     }
//! }
//!
//! async fn me(session: RequiredSession) -> HttpResponse {
//!     HttpResponse::Ok().json(session.user())
//! }
//!
//! async fn sign_in_demo(actions: SessionActions) -> actix_web::Result<HttpResponse> {
//!     actions.sign_in_email_password("alice@example.com", "password123").await?;
//!     Ok(HttpResponse::SeeOther().insert_header(("Location", "/me")).finish())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let auth = nhost_session_testkit::FakeAuthServer::builder()
//! #     .seed_user(nhost_session_testkit::SeedUser::new("alice@example.com", "password123"))
//! #     .start()?;
//! # let auth_url = auth.base_url();
//! // Once per process, outside `HttpServer::new`'s closure: all workers share it.
//! let sessions = SessionMiddleware::builder(AuthUrl::parse(&auth_url)?)
//!     .cookie(CookieConfig::builder(CookieFormat::Own).name("__Host-session").build()?)
//!     .build()?;
//!
//! let app = move || {
//!     App::new()
//!         .wrap(sessions.clone())
//!         .route("/", web::get().to(home))
//!         .route("/me", web::get().to(me))
//!         .route("/signin", web::post().to(sign_in_demo))
//!         .route("/auth/callback", web::get().to(nhost_session_actix::callback))
//! };
//! // HttpServer::new(app).bind(("127.0.0.1", 8080))?.run().await?;
//! # actix_web::rt::System::new().block_on(async move {
//! #     use actix_web::test;
//! #     let service = test::init_service(app()).await;
//! #     let response = test::call_service(&service, test::TestRequest::post().uri("/signin").to_request()).await;
//! #     assert_eq!(response.status(), 303);
//! #     let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap();
//! #     assert!(cookie.starts_with("__Host-session="));
//! #     let pair = cookie.split(';').next().unwrap().to_owned();
//! #     let request = test::TestRequest::get().uri("/me").insert_header(("Cookie", pair)).to_request();
//! #     let response = test::call_service(&service, request).await;
//! #     assert_eq!(response.status(), 200);
//! #     assert!(response.headers().get("set-cookie").is_none());
//! # });
//! # Ok(())
//! # }
//! ```
//!
//! # Defaults
//!
//! | setting | default |
//! | --- | --- |
//! | cookie | [`CookieConfig::own`](nhost_session_cookie::CookieConfig::own): `nhost-session`, `HttpOnly; Secure; SameSite=Lax; Path=/`, 30 days |
//! | refresh margin | [`DEFAULT_MARGIN`] (60 s), at most half the JWT's lifetime |
//! | grace period of an old token | [`DEFAULT_GRACE`] (60 s) |
//! | a replaced or signed-out token is refused without asking the auth service for | [`DEFAULT_DEAD_TOKEN_MEMORY`] (10 min) after the grace period |
//! | a rejected token is refused without asking again for | [`DEFAULT_REJECTION_TTL`] (5 s) |
//! | cache capacity | [`DEFAULT_CAPACITY`] (100,000 sessions and 100,000 refresh outcomes) |
//! | sign-in page of [`RequiredSession`]'s redirect | [`DEFAULT_SIGN_IN_PATH`] (`/signin`) |
//! | PKCE verifier cookie | [`DEFAULT_PKCE_COOKIE`] (`nhost-pkce`, HttpOnly, 10 min) |
//! | transport (feature `reqwest`, on by default) | `nhost_session_reqwest::ReqwestTransport`, 10 s timeout |
//!
//! A cookie format that carries the JWT (the JavaScript SDKs' formats) is read for its refresh
//! token only: a JWT that comes from the browser is not trusted; the session is always
//! resolved through the coordinator (from memory, or by a refresh).
//!
//! # Several workers, several instances
//!
//! Build the middleware once and clone it into every worker's `App` (as above): its
//! [`LocalCoordinator`] then covers the whole process. Several instances of the app behind a
//! load balancer need a coordinator they share: implement [`RefreshCoordinator`] (as
//! `nhost-session-redis` does) and pass it to
//! [`SessionMiddlewareBuilder::coordinator`].
//!
//! # What cannot be fixed
//!
//! If the auth service rotates a token but its answer is lost (the connection breaks after it
//! committed), the new token is gone and the old one is dead: the next request ends the
//! session. The middleware never makes this more likely: each refresh runs on a task of its
//! own, so a browser that closes the connection mid-refresh does not abort it, and a token
//! that a completed refresh replaced is never sent to the auth service again while it is
//! remembered.
//!
//! [`RefreshCoordinator`]: nhost_session_core::RefreshCoordinator

mod actions;
#[cfg(feature = "verify")]
pub mod bearer;
mod callback;
mod config;
mod coordinator;
mod extractors;
mod headers;
mod hydration;
mod middleware;
mod redirect;
mod session;

pub use actions::{ActionError, SessionActions};
pub use callback::callback;
pub use config::{
    DEFAULT_PKCE_COOKIE, DEFAULT_SIGN_IN_PATH, SessionMiddleware, SessionMiddlewareBuilder,
    SharedAuthApi,
};
pub use coordinator::{
    DEFAULT_CAPACITY, DEFAULT_DEAD_TOKEN_MEMORY, DEFAULT_GRACE, DEFAULT_MARGIN,
    DEFAULT_REJECTION_TTL, LocalCoordinator, LocalCoordinatorBuilder,
};
pub use extractors::{
    Challenge, MiddlewareMissing, NEXT_PARAM, RequiredSession, RequiredSessionConfig,
    SessionRequired,
};
pub use hydration::{
    HYDRATION_ELEMENT_ID, HydrationData, escape_json_for_script, hydration_script, to_script_json,
};
pub use middleware::SessionService;
pub use redirect::{safe_redirect_target, same_site_path};
pub use session::{AuthSession, SessionState, SessionUnavailable};

/// The core and cookie crates, re-exported so that one dependency is enough.
pub use nhost_session_cookie as cookie;
pub use nhost_session_core as core;
