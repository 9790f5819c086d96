//! The middleware: resolves each request's session before the handler, sends cookie changes
//! back after it.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::InternalError;
use futures_util::future::LocalBoxFuture;
use nhost_session_core::{Error, RefreshToken, Resolution};
use time::Duration;

use crate::config::{SessionMiddleware, Shared};
use crate::headers::{actix_value, append_set_cookies, cookie_values, rewrite_request_cookies};
use crate::session::{
    AuthSession, CookieChange, RequestSession, RequestSessionInner, SessionState,
    SessionUnavailable,
};

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            shared: Arc::clone(&self.shared),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around an app's services (made by actix; not
/// used directly).
pub struct SessionService<S> {
    service: Rc<S>,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let session = resolve_request(&shared, &mut request).await;
            request.extensions_mut().insert(session.clone());
            // Handlers' and extractors' errors arrive here as responses. An inner
            // middleware's `Err` does not, and must carry the cookie changes too: a rotated
            // refresh token that never reaches the browser dies with the grace period.
            match service.call(request).await {
                Ok(mut response) => {
                    apply_cookie_changes(&shared, &session, response.headers_mut());
                    Ok(response)
                }
                Err(error) => Err(error_with_cookie_changes(&shared, &session, error)),
            }
        })
    }
}

/// Reads the session cookie, resolves it, and records the result in a [`RequestSession`].
/// The request's `Cookie` header is rewritten to what the browser will hold afterwards.
async fn resolve_request(shared: &Arc<Shared>, request: &mut ServiceRequest) -> RequestSession {
    let cookies = shared
        .cookie
        .request_cookies_from_values(cookie_values(request.headers()));
    // Only the refresh token is needed: sessions are looked up and refreshed by it.
    let presented = shared.cookie.read_refresh_token(&cookies);
    let mut inner = RequestSessionInner {
        shared: Arc::clone(shared),
        state: SessionState::Anonymous,
        token: None,
        presented: None,
        cookies,
        change: CookieChange::Keep,
        extra: Vec::new(),
    };
    let Some(presented) = presented else {
        if !inner.cookies.is_empty() {
            // Unreadable, tampered or partial cookies: remove them.
            tracing::debug!("nhost-session: unreadable session cookie removed");
            inner.change = CookieChange::Remove;
            let names: Vec<String> = inner.cookies.names().map(str::to_owned).collect();
            rewrite_request_cookies(request.headers_mut(), names.iter().map(String::as_str), &[]);
        }
        return RequestSession::new(inner);
    };
    inner.presented = Some(presented.clone());
    match resolve_detached(shared, presented.clone()).await {
        Resolution::Session(session) => {
            inner.token = Some(session.refresh_token.clone());
            inner.state = SessionState::Active(AuthSession::new(Arc::clone(&session)));
            if !session.refresh_token.ct_eq(&presented) {
                let now = shared.clock.now();
                match shared
                    .cookie
                    .write(&session.stored_tokens(), now, &inner.cookies)
                {
                    Ok(cookies) => {
                        let names: Vec<String> = inner.cookies.names().map(str::to_owned).collect();
                        rewrite_request_cookies(
                            request.headers_mut(),
                            names.iter().map(String::as_str),
                            &cookies,
                        );
                    }
                    Err(error) => {
                        tracing::error!(%error, "nhost-session: cannot write the refreshed session to cookies");
                    }
                }
                inner.change = CookieChange::Set(session);
            }
        }
        Resolution::Rejected => {
            tracing::debug!("nhost-session: refresh token rejected, cookie removed");
            inner.change = CookieChange::Remove;
            let names: Vec<String> = inner.cookies.names().map(str::to_owned).collect();
            rewrite_request_cookies(request.headers_mut(), names.iter().map(String::as_str), &[]);
        }
        Resolution::Unavailable(error) => {
            inner.token = Some(presented);
            inner.state = SessionState::Unavailable(SessionUnavailable::new(error));
        }
    }
    RequestSession::new(inner)
}

/// Resolves a token on a task of its own when a tokio runtime runs (as in actix): the one
/// refresh for a token must complete even if the request that started it is dropped (a
/// closed connection), or the rotated token would be lost and the user signed out.
///
/// What the coordinator knows already (a known fresh session, the common case) is answered
/// first, without a task: only a refresh needs one.
pub(crate) async fn resolve_detached(shared: &Arc<Shared>, token: RefreshToken) -> Resolution {
    if let Some(resolution) = shared.coordinator.resolve_known(&token) {
        return resolution;
    }
    let task_shared = Arc::clone(shared);
    let task = async move {
        task_shared
            .coordinator
            .resolve(&token, &task_shared.api)
            .await
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => match runtime.spawn(task).await {
            Ok(resolution) => resolution,
            Err(error) => {
                tracing::error!(%error, "nhost-session: the session resolution task failed");
                Resolution::Unavailable(Error::TemporarilyUnavailable {
                    retry_at: shared.clock.now() + Duration::seconds(1),
                })
            }
        },
        Err(_) => task.await,
    }
}

/// An inner service's error, made to answer with the request's cookie changes: its response
/// (what actix would send for it) gets them, and stays the error's. Without changes the error
/// passes through as it is, so outer middleware can still downcast it.
fn error_with_cookie_changes(
    shared: &Shared,
    session: &RequestSession,
    error: actix_web::Error,
) -> actix_web::Error {
    let unchanged = {
        let inner = session.get();
        matches!(inner.change, CookieChange::Keep) && inner.extra.is_empty()
    };
    if unchanged {
        return error;
    }
    let mut response = error.error_response();
    apply_cookie_changes(shared, session, response.headers_mut());
    InternalError::from_response(error, response).into()
}

/// Appends the `Set-Cookie` headers the request's session record asks for, with
/// `Cache-Control: private, no-store` when there is any.
fn apply_cookie_changes(
    shared: &Shared,
    session: &RequestSession,
    headers: &mut actix_web::http::header::HeaderMap,
) {
    let inner = session.get();
    let mut values = Vec::new();
    match &inner.change {
        CookieChange::Keep => {}
        CookieChange::Set(session) => {
            let now = shared.clock.now();
            match shared
                .cookie
                .write(&session.stored_tokens(), now, &inner.cookies)
            {
                Ok(cookies) => values.extend(cookies.iter().filter_map(actix_value)),
                Err(error) => {
                    tracing::error!(%error, "nhost-session: cannot write the session to cookies");
                }
            }
        }
        CookieChange::Remove => {
            values.extend(
                shared
                    .cookie
                    .remove(&inner.cookies)
                    .iter()
                    .filter_map(actix_value),
            );
        }
    }
    values.extend(inner.extra.iter().cloned());
    append_set_cookies(headers, values);
}
