//! [`SessionActions`]: sign-in and sign-out from handlers. The cookie changes go out with the
//! handler's response; the coordinator learns the new session, so the next request with its
//! cookie makes no auth call.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use nhost_session_cookie::CACHE_CONTROL_NO_STORE;
use nhost_session_core::{
    Error, MfaTicket, SecretString, SharedSession, SignInAnonymousOptions, SignInResponse,
};

use crate::config::{Shared, SharedAuthApi};
use crate::session::{AuthSession, RequestSession, SessionState};

/// Sign-in and sign-out for a handler: an extractor.
///
/// Each sign-in records the session for the response (which sets the cookie, with
/// `Cache-Control: private, no-store`) and tells the coordinator about it; later extractors
/// of the same request see it. Sign-out revokes the refresh token at the auth service,
/// forgets it, and removes the cookie.
///
/// ```
/// use actix_web::{HttpResponse, web};
/// use nhost_session_actix::{ActionError, SessionActions};
///
/// #[derive(serde::Deserialize)]
/// struct SignIn { email: String, password: String }
///
/// async fn sign_in(form: web::Form<SignIn>, actions: SessionActions) -> Result<HttpResponse, ActionError> {
///     actions.sign_in_email_password(&form.email, &form.password).await?;
///     Ok(HttpResponse::SeeOther().insert_header(("Location", "/profile")).finish())
/// }
///
/// async fn sign_out(actions: SessionActions) -> HttpResponse {
///     // The cookie is removed even when the auth service cannot be reached.
///     let _ = actions.sign_out().await;
///     HttpResponse::SeeOther().insert_header(("Location", "/")).finish()
/// }
/// ```
pub struct SessionActions {
    pub(crate) session: RequestSession,
    pub(crate) shared: Arc<Shared>,
    /// The PKCE verifier cookie the request carried, if any.
    pub(crate) pkce_verifier: Option<SecretString>,
}

impl fmt::Debug for SessionActions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionActions")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl SessionActions {
    pub(crate) fn new(session: RequestSession, req: &HttpRequest) -> Self {
        let shared = session.shared();
        let pkce_verifier = crate::callback::read_cookie(req, &shared.pkce_cookie)
            .filter(|v| !v.is_empty())
            .map(SecretString::new);
        Self {
            session,
            shared,
            pkce_verifier,
        }
    }

    /// The request's session as it stands (after any sign-in or sign-out made here).
    pub fn state(&self) -> SessionState {
        self.session.state()
    }

    /// The auth API, for operations without a helper here (sign-up, passwordless e-mails,
    /// OTP). Hand their answers to [`start_session`](Self::start_session).
    pub fn auth_api(&self) -> &SharedAuthApi {
        &self.shared.api
    }

    /// `POST /signin/email-password`, then [`start_session`](Self::start_session).
    ///
    /// # Errors
    /// The auth service's refusal (`invalid-email-password`, `disabled-user`,
    /// `unverified-user`, …), [`Error::MfaRequired`] with the ticket when the user has TOTP
    /// on, or a transient failure.
    pub async fn sign_in_email_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<AuthSession, ActionError> {
        let answer = self
            .shared
            .api
            .sign_in_email_password(email, password)
            .await?;
        self.start_session(answer).await
    }

    /// `POST /signin/anonymous`, then [`start_session`](Self::start_session).
    ///
    /// # Errors
    /// The auth service's refusal (`disabled-endpoint` when anonymous users are off) or a
    /// transient failure.
    pub async fn sign_in_anonymous(
        &self,
        options: Option<&SignInAnonymousOptions>,
    ) -> Result<AuthSession, ActionError> {
        let answer = self.shared.api.sign_in_anonymous(options).await?;
        self.start_session(answer).await
    }

    /// `POST /signin/mfa/totp`: completes a sign-in that asked for a TOTP code.
    ///
    /// # Errors
    /// As [`sign_in_email_password`](Self::sign_in_email_password).
    pub async fn sign_in_mfa_totp(
        &self,
        ticket: &MfaTicket,
        otp: &str,
    ) -> Result<AuthSession, ActionError> {
        let answer = self.shared.api.sign_in_mfa_totp(ticket, otp).await?;
        self.start_session(answer).await
    }

    /// Adopts the answer of any sign-in or sign-up call: the response sets the session's
    /// cookie and the coordinator remembers it.
    ///
    /// # Errors
    /// [`Error::MfaRequired`] for an MFA challenge, [`ActionError::Pending`] when the answer
    /// carries no session (a sign-up waiting for e-mail verification).
    pub async fn start_session(&self, answer: SignInResponse) -> Result<AuthSession, ActionError> {
        match answer {
            SignInResponse::Session(session) => {
                let now = self.shared.clock.now();
                let shared = Arc::new(SharedSession::from_session(session, now));
                Ok(self.adopt(shared).await)
            }
            SignInResponse::MfaRequired(ticket) => Err(Error::MfaRequired(ticket).into()),
            SignInResponse::Pending => Err(ActionError::Pending),
        }
    }

    /// Records a session that the coordinator may not know yet.
    pub(crate) async fn adopt(&self, session: Arc<SharedSession>) -> AuthSession {
        self.shared.coordinator.remember(Arc::clone(&session)).await;
        self.session.signed_in(session)
    }

    /// Signs out: revokes the refresh token at the auth service (`POST /signout`), forgets it
    /// (late requests with the old cookie are anonymous), and removes the cookie.
    ///
    /// # Errors
    /// When the auth service could not revoke the token. The cookie is removed and the
    /// session forgotten all the same: the user is signed out of this site, and the token,
    /// which only the browser held, is gone with the cookie.
    pub async fn sign_out(&self) -> Result<(), ActionError> {
        let (token, presented, access_token) = {
            let inner = self.session.get();
            (
                inner.token.clone(),
                inner.presented.clone(),
                inner.state.session().map(|s| s.access_token().clone()),
            )
        };
        let revoked = match &token {
            Some(token) => self.shared.api.sign_out(token, access_token.as_ref()).await,
            None => Ok(()),
        };
        for token in token.iter().chain(presented.iter()) {
            self.shared.coordinator.forget(token).await;
        }
        self.session.signed_out();
        revoked.map_err(ActionError::from)
    }

    /// Signs out every session of the user (`POST /signout {all: true}` with the access
    /// token), then as [`sign_out`](Self::sign_out) here. Other browsers' sessions end at
    /// their next refresh.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`] without an active session (nothing is changed); otherwise as
    /// [`sign_out`](Self::sign_out).
    pub async fn sign_out_all(&self) -> Result<(), ActionError> {
        let (token, presented, access_token) = {
            let inner = self.session.get();
            (
                inner.token.clone(),
                inner.presented.clone(),
                inner.state.session().map(|s| s.access_token().clone()),
            )
        };
        let Some(access_token) = access_token else {
            return Err(Error::NotSignedIn.into());
        };
        let revoked = self.shared.api.sign_out_all(&access_token).await;
        for token in token.iter().chain(presented.iter()) {
            self.shared.coordinator.forget(token).await;
        }
        self.session.signed_out();
        revoked.map_err(ActionError::from)
    }
}

/// Why a sign-in, sign-out or callback failed. Quotes no token.
///
/// As an actix error it answers JSON `{"error": code, "message": …}` with a fitting status:
/// the auth service's own for its refusals (401, 403, 409, …), 503 for transient failures,
/// 400 for bad callbacks.
#[derive(Debug)]
#[non_exhaustive]
pub enum ActionError {
    /// The auth service refused, or could not be reached ([`Error::is_transient`]).
    Auth(Error),
    /// The answer carried no session yet (e-mail verification pending).
    Pending,
    /// The callback's refresh token was rejected (already used, or expired).
    RedirectTokenRejected,
    /// The callback carried neither a refresh token, nor a code, nor an error.
    NoCredentials,
    /// The callback carried a PKCE code, but the request has no verifier cookie (the sign-in
    /// was started in another browser, or more than 10 minutes ago).
    MissingVerifier,
}

impl ActionError {
    /// A short code for the error: the auth service's (such as `invalid-email-password`),
    /// or one of `mfa-required`, `sign-in-pending`, `invalid-refresh-token`,
    /// `no-credentials`, `missing-verifier`, `unavailable`, `error`.
    pub fn code(&self) -> &str {
        match self {
            Self::Auth(Error::MfaRequired(_)) => "mfa-required",
            Self::Auth(error) if error.is_transient() => "unavailable",
            Self::Auth(error) => error.code().unwrap_or("error"),
            Self::Pending => "sign-in-pending",
            Self::RedirectTokenRejected => "invalid-refresh-token",
            Self::NoCredentials => "no-credentials",
            Self::MissingVerifier => "missing-verifier",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Auth(error) if error.is_transient())
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth(error) => fmt::Display::fmt(error, f),
            Self::Pending => f.write_str("no session yet: the e-mail address must be verified"),
            Self::RedirectTokenRejected => {
                f.write_str("the sign-in link was already used or has expired")
            }
            Self::NoCredentials => f.write_str("the sign-in redirect carries no credentials"),
            Self::MissingVerifier => {
                f.write_str("the sign-in was not started in this browser (no PKCE verifier)")
            }
        }
    }
}

impl std::error::Error for ActionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Auth(error) => Some(error),
            _ => None,
        }
    }
}

impl From<Error> for ActionError {
    fn from(error: Error) -> Self {
        Self::Auth(error)
    }
}

impl ResponseError for ActionError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Auth(Error::MfaRequired(_)) => StatusCode::UNAUTHORIZED,
            Self::Auth(error) if error.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Auth(Error::NotSignedIn) => StatusCode::UNAUTHORIZED,
            Self::Auth(error) => error
                .status()
                .filter(|s| (400..500).contains(s))
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::BAD_GATEWAY),
            Self::Pending => StatusCode::ACCEPTED,
            Self::RedirectTokenRejected | Self::NoCredentials | Self::MissingVerifier => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL_NO_STORE),
        ));
        if self.is_transient() {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.json(serde_json::json!({
            "error": self.code(),
            "message": self.to_string(),
        }))
    }
}
