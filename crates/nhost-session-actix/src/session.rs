//! What a request knows about its session: [`SessionState`], [`AuthSession`], and the
//! per-request record the middleware and the handlers share.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use actix_web::http::header::HeaderValue;
use nhost_session_cookie::RequestCookies;
use nhost_session_core::{AccessToken, Error, HasuraClaims, RefreshToken, SharedSession, User};
use time::OffsetDateTime;

use crate::config::Shared;

/// The session of the signed-in user of a request.
///
/// Cheap to clone. Holds the access token (a JWT, for calls to Hasura, storage and functions),
/// its expiry, the user and the JWT's Hasura claims; never the refresh token, which stays
/// between the middleware and the browser's cookie. `Debug` prints no token.
#[derive(Clone)]
pub struct AuthSession {
    shared: Arc<SharedSession>,
    /// Decoded on first use. Not shared between clones: most requests never ask, and an
    /// allocation per request to share the few decodings would cost more than it saves.
    claims: OnceLock<Option<Box<HasuraClaims>>>,
}

impl AuthSession {
    pub(crate) fn new(shared: Arc<SharedSession>) -> Self {
        Self {
            shared,
            claims: OnceLock::new(),
        }
    }

    /// The user, as the auth service described them when the session started or was last
    /// refreshed.
    pub fn user(&self) -> Option<&User> {
        self.shared.user.as_ref()
    }

    /// The user's id: the user's, or else the JWT's `x-hasura-user-id` claim.
    pub fn user_id(&self) -> Option<&str> {
        match &self.shared.user {
            Some(user) => Some(user.id.as_str()),
            None => self.claims().map(|c| c.user_id.as_str()),
        }
    }

    /// Whether this is an anonymous Nhost user (from `POST /signin/anonymous`).
    pub fn is_anonymous(&self) -> bool {
        match &self.shared.user {
            Some(user) => user.is_anonymous,
            None => self.claims().is_some_and(|c| c.is_anonymous),
        }
    }

    /// The access token (JWT). Send it as `Authorization: Bearer …` to Hasura, storage or
    /// functions; never log it.
    pub fn access_token(&self) -> &AccessToken {
        &self.shared.access_token
    }

    /// When the access token expires, by this server's clock (time of receipt plus its
    /// lifetime). The middleware guarantees it is valid beyond the refresh margin when the
    /// request starts.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.shared.expires_at
    }

    /// The id of the device session; it stays the same across refreshes.
    pub fn refresh_token_id(&self) -> &str {
        &self.shared.refresh_token_id
    }

    /// The Hasura claims of the access token (decoded once, without checking the signature:
    /// the token came from the auth service, not from the browser). `None` when the token
    /// cannot be decoded.
    pub fn claims(&self) -> Option<&HasuraClaims> {
        self.claims
            .get_or_init(|| {
                HasuraClaims::decode_unverified(self.shared.access_token.expose_secret())
                    .ok()
                    .map(Box::new)
            })
            .as_deref()
    }
}

impl fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSession")
            .field("user_id", &self.user_id())
            .field("expires_at", &self.shared.expires_at)
            .field("access_token", &self.shared.access_token)
            .finish_non_exhaustive()
    }
}

/// The session could not be checked: the auth service was unreachable or failing while the
/// access token needed a refresh. The cookie was left as it was (the user is not signed out);
/// a later request will try again.
#[derive(Clone, Debug)]
pub struct SessionUnavailable {
    error: Error,
}

impl SessionUnavailable {
    pub(crate) fn new(error: Error) -> Self {
        Self { error }
    }

    /// What went wrong (it quotes no token).
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// A suggestion for `Retry-After`, in seconds (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        match &self.error {
            Error::TemporarilyUnavailable { retry_at } => {
                let wait = *retry_at - OffsetDateTime::now_utc();
                u64::try_from(wait.whole_seconds())
                    .unwrap_or(0)
                    .clamp(1, 300)
            }
            _ => 5,
        }
    }
}

impl fmt::Display for SessionUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the session is temporarily unavailable: {}", self.error)
    }
}

impl std::error::Error for SessionUnavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The session of a request, as the middleware resolved it (and as the handler's sign-in or
/// sign-out changed it). Also an extractor that never fails:
///
/// ```
/// use actix_web::HttpResponse;
/// use nhost_session_actix::SessionState;
///
/// async fn home(state: SessionState) -> HttpResponse {
///     match state {
///         SessionState::Active(session) => HttpResponse::Ok()
///             .body(format!("hello {}", session.user_id().unwrap_or("?"))),
///         SessionState::Anonymous => HttpResponse::Ok().body("hello, stranger"),
///         SessionState::Unavailable(why) => HttpResponse::ServiceUnavailable()
///             .insert_header(("Retry-After", why.retry_after_secs().to_string()))
///             .body("please try again in a moment"),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub enum SessionState {
    /// No session: no cookie, or the auth service rejected its refresh token (the cookie is
    /// removed), or the user signed out.
    Anonymous,
    /// A session with an access token valid beyond the refresh margin.
    Active(AuthSession),
    /// The session could not be checked now (transient failure); the cookie is kept.
    Unavailable(SessionUnavailable),
}

impl SessionState {
    /// The active session, if any.
    pub fn session(&self) -> Option<&AuthSession> {
        match self {
            Self::Active(session) => Some(session),
            _ => None,
        }
    }

    /// The active session, if any, by value.
    pub fn into_session(self) -> Option<AuthSession> {
        match self {
            Self::Active(session) => Some(session),
            _ => None,
        }
    }

    /// Whether there is an active session.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Active(_))
    }

    /// Whether the session could not be checked now.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&User> {
        self.session().and_then(AuthSession::user)
    }
}

/// What the response must do to the browser's cookies.
#[derive(Clone, Debug, Default)]
pub(crate) enum CookieChange {
    /// Nothing.
    #[default]
    Keep,
    /// Store this session (its refresh token changed, or a sign-in).
    Set(Arc<SharedSession>),
    /// Remove the session cookies (rejected token, unreadable cookie, sign-out).
    Remove,
}

/// The per-request record, in the request's extensions.
pub(crate) struct RequestSessionInner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) state: SessionState,
    /// The refresh token the browser will hold after this response, if any.
    pub(crate) token: Option<RefreshToken>,
    /// The token the request's cookie carried, if any.
    pub(crate) presented: Option<RefreshToken>,
    /// The format's cookies the request carried (to remove left-over chunks).
    pub(crate) cookies: RequestCookies,
    pub(crate) change: CookieChange,
    /// Other auth cookies to set (the PKCE verifier).
    pub(crate) extra: Vec<HeaderValue>,
}

/// A handle on the per-request record, shared by the middleware and the extractors.
#[derive(Clone)]
pub(crate) struct RequestSession(Rc<RefCell<RequestSessionInner>>);

impl RequestSession {
    pub(crate) fn new(inner: RequestSessionInner) -> Self {
        Self(Rc::new(RefCell::new(inner)))
    }

    pub(crate) fn get(&self) -> Ref<'_, RequestSessionInner> {
        self.0.borrow()
    }

    pub(crate) fn get_mut(&self) -> RefMut<'_, RequestSessionInner> {
        self.0.borrow_mut()
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.get().shared)
    }

    pub(crate) fn state(&self) -> SessionState {
        self.get().state.clone()
    }

    /// Records a new session (sign-in): the response sets its cookie.
    pub(crate) fn signed_in(&self, session: Arc<SharedSession>) -> AuthSession {
        let auth = AuthSession::new(Arc::clone(&session));
        let mut inner = self.get_mut();
        inner.token = Some(session.refresh_token.clone());
        inner.state = SessionState::Active(auth.clone());
        inner.change = CookieChange::Set(session);
        auth
    }

    /// Records the end of the session: the response removes the cookies.
    pub(crate) fn signed_out(&self) {
        let mut inner = self.get_mut();
        let had_cookie = inner.token.is_some() || !inner.cookies.is_empty();
        inner.token = None;
        inner.state = SessionState::Anonymous;
        inner.change = if had_cookie {
            CookieChange::Remove
        } else {
            CookieChange::Keep
        };
    }
}

impl fmt::Debug for RequestSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.get();
        f.debug_struct("RequestSession")
            .field("state", &inner.state)
            .field("change", &inner.change)
            .finish_non_exhaustive()
    }
}
