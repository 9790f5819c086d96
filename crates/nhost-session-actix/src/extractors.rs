//! Extractors: [`SessionState`] (never fails), [`RequiredSession`] (401, a redirect to the
//! sign-in page, or 503), and [`SessionActions`].

use std::fmt;
use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use nhost_session_cookie::CACHE_CONTROL_NO_STORE;

use crate::actions::SessionActions;
use crate::redirect::safe_redirect_target;
use crate::session::{AuthSession, RequestSession, SessionState, SessionUnavailable};

/// The query parameter that carries the page to return to (set by [`RequiredSession`]'s
/// redirect, read by the callback handler).
pub const NEXT_PARAM: &str = "next";

pub(crate) fn request_session(req: &HttpRequest) -> Result<RequestSession, MiddlewareMissing> {
    req.extensions()
        .get::<RequestSession>()
        .cloned()
        .ok_or(MiddlewareMissing)
}

/// The extractor was used on a route that [`SessionMiddleware`](crate::SessionMiddleware)
/// does not wrap: a programming error, answered with 500.
#[derive(Clone, Copy, Debug)]
pub struct MiddlewareMissing;

impl fmt::Display for MiddlewareMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nhost-session: the route is not wrapped by SessionMiddleware")
    }
}

impl std::error::Error for MiddlewareMissing {}

impl ResponseError for MiddlewareMissing {}

impl FromRequest for SessionState {
    type Error = MiddlewareMissing;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(request_session(req).map(|session| session.state()))
    }
}

impl FromRequest for SessionActions {
    type Error = MiddlewareMissing;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(request_session(req).map(|session| SessionActions::new(session, req)))
    }
}

/// How [`RequiredSession`] answers a request without a session. Set it per app or scope with
/// `.app_data(RequiredSessionConfig::api())`; the default is [`Challenge::Auto`].
#[derive(Clone, Debug, Default)]
pub struct RequiredSessionConfig {
    challenge: Challenge,
    sign_in_path: Option<String>,
}

/// The answer to a request that needs a session and has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Challenge {
    /// A redirect for requests that accept HTML (page loads), 401 for the others (`fetch`,
    /// API clients).
    #[default]
    Auto,
    /// Always `401 Unauthorized` with a JSON body (API routes).
    Unauthorized,
    /// Always `303 See Other` to the sign-in page, with the page asked for in `?next=`
    /// (HTML routes).
    Redirect,
}

impl RequiredSessionConfig {
    /// For API routes: always 401.
    pub fn api() -> Self {
        Self {
            challenge: Challenge::Unauthorized,
            sign_in_path: None,
        }
    }

    /// For HTML routes: always a redirect to the sign-in page.
    pub fn html() -> Self {
        Self {
            challenge: Challenge::Redirect,
            sign_in_path: None,
        }
    }

    /// The challenge.
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = challenge;
        self
    }

    /// Another sign-in page for this scope than the middleware's. Must be a same-site path
    /// (otherwise `/` is used).
    pub fn sign_in_path(mut self, path: impl Into<String>) -> Self {
        self.sign_in_path = Some(path.into());
        self
    }
}

/// An active session, required: the extractor for routes that need a signed-in user (an
/// Nhost anonymous user counts as signed in; check
/// [`AuthSession::is_anonymous`] where it matters).
///
/// Without a session it answers, by [`RequiredSessionConfig`]: `303 See Other` to the sign-in
/// page (with `?next=` the page asked for) for HTML requests, `401` with
/// `{"error":"unauthorized","message":"…"}` for others. When the session could not be checked
/// (the auth service is unreachable), `503` with `Retry-After`: the user is not signed out.
///
/// ```
/// use actix_web::HttpResponse;
/// use nhost_session_actix::RequiredSession;
///
/// async fn me(session: RequiredSession) -> HttpResponse {
///     HttpResponse::Ok().json(session.user())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct RequiredSession(pub AuthSession);

impl RequiredSession {
    /// The session.
    pub fn into_inner(self) -> AuthSession {
        self.0
    }
}

impl Deref for RequiredSession {
    type Target = AuthSession;

    fn deref(&self) -> &AuthSession {
        &self.0
    }
}

impl FromRequest for RequiredSession {
    type Error = SessionRequired;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(required(req))
    }
}

fn required(req: &HttpRequest) -> Result<RequiredSession, SessionRequired> {
    let session = request_session(req).map_err(|_| SessionRequired {
        kind: RequiredKind::MiddlewareMissing,
    })?;
    let config = req
        .app_data::<RequiredSessionConfig>()
        .cloned()
        .unwrap_or_default();
    let wants_html = match config.challenge {
        Challenge::Redirect => true,
        Challenge::Unauthorized => false,
        Challenge::Auto => accepts_html(req),
    };
    match session.state() {
        SessionState::Active(session) => Ok(RequiredSession(session)),
        SessionState::Unavailable(why) => Err(SessionRequired {
            kind: RequiredKind::Unavailable(why),
        }),
        SessionState::Anonymous if wants_html => {
            let sign_in = config
                .sign_in_path
                .unwrap_or_else(|| session.shared().sign_in_path.clone());
            Err(SessionRequired {
                kind: RequiredKind::Redirect(sign_in_location(&sign_in, req)),
            })
        }
        SessionState::Anonymous => Err(SessionRequired {
            kind: RequiredKind::Unauthorized,
        }),
    }
}

/// Whether the request accepts HTML (a page load rather than `fetch` or an API client).
fn accepts_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|part| part.trim().to_ascii_lowercase().starts_with("text/html"))
        })
}

/// `sign_in?next=<the page asked for>`.
fn sign_in_location(sign_in: &str, req: &HttpRequest) -> String {
    let sign_in = safe_redirect_target(Some(sign_in));
    let asked = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let next = safe_redirect_target(Some(asked));
    if next == "/" {
        return sign_in;
    }
    let separator = if sign_in.contains('?') { '&' } else { '?' };
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{sign_in}{separator}{NEXT_PARAM}={encoded}")
}

/// The answer of [`RequiredSession`] when there is no usable session.
#[derive(Debug)]
pub struct SessionRequired {
    kind: RequiredKind,
}

#[derive(Debug)]
enum RequiredKind {
    Unauthorized,
    Redirect(String),
    Unavailable(SessionUnavailable),
    MiddlewareMissing,
}

impl SessionRequired {
    /// Whether the session could not be checked (as opposed to: there is none).
    pub fn is_unavailable(&self) -> bool {
        matches!(self.kind, RequiredKind::Unavailable(_))
    }
}

impl fmt::Display for SessionRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RequiredKind::Unauthorized | RequiredKind::Redirect(_) => {
                f.write_str("sign-in required")
            }
            RequiredKind::Unavailable(why) => fmt::Display::fmt(why, f),
            RequiredKind::MiddlewareMissing => fmt::Display::fmt(&MiddlewareMissing, f),
        }
    }
}

impl std::error::Error for SessionRequired {}

impl ResponseError for SessionRequired {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            RequiredKind::Unauthorized => StatusCode::UNAUTHORIZED,
            RequiredKind::Redirect(_) => StatusCode::SEE_OTHER,
            RequiredKind::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            RequiredKind::MiddlewareMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL_NO_STORE),
        ));
        match &self.kind {
            RequiredKind::Redirect(location) => {
                response.insert_header((header::LOCATION, location.as_str()));
                response.finish()
            }
            RequiredKind::Unauthorized => response.json(serde_json::json!({
                "error": "unauthorized",
                "message": "sign-in required",
            })),
            RequiredKind::Unavailable(why) => {
                response.insert_header((header::RETRY_AFTER, why.retry_after_secs().to_string()));
                response.json(serde_json::json!({
                    "error": "session-unavailable",
                    "message": "the session cannot be checked right now; try again shortly",
                }))
            }
            RequiredKind::MiddlewareMissing => response.finish(),
        }
    }
}
