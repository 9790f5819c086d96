//! The end of a provider (OAuth) sign-in or a magic link: the auth service sends the browser to
//! `your-callback?refreshToken=…` (or `?code=…` with PKCE). [`callback`] exchanges it, sets the
//! cookie and redirects to a same-site page, leaving no token in the address bar.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use nhost_session_cookie::CACHE_CONTROL_NO_STORE;
use nhost_session_core::{Pkce, ProviderSignInOptions, RedirectOutcome, Resolution};
use url::Url;

use crate::actions::{ActionError, SessionActions};
use crate::extractors::NEXT_PARAM;
use crate::middleware::resolve_detached;
use crate::redirect::safe_redirect_target;
use crate::session::AuthSession;

/// How long the PKCE verifier cookie lives: a provider sign-in must finish within it.
const PKCE_COOKIE_MAX_AGE_SECS: u32 = 600;

impl SessionActions {
    /// The URL that starts a sign-in with an OAuth `provider` (send the browser there with a
    /// redirect), ending at `callback_url` (an absolute URL of your [`callback`] route, which
    /// the auth service must allow; add `?next=/page` to land on a page afterwards).
    ///
    /// With `pkce` on (for servers that support `POST /token/exchange`), a verifier is
    /// generated and kept in a short-lived HttpOnly cookie set by this response; the
    /// redirect then carries a `code` instead of a refresh token.
    ///
    /// # Errors
    /// When the system's random source fails (PKCE only).
    pub fn provider_sign_in_url(
        &self,
        provider: &str,
        callback_url: &str,
        mut options: ProviderSignInOptions,
        pkce: bool,
    ) -> Result<Url, ActionError> {
        options.redirect_to = Some(callback_url.to_owned());
        if pkce {
            let pair = Pkce::generate().map_err(nhost_session_core::Error::from)?;
            options.code_challenge = Some(pair.challenge().to_owned());
            if let Some(value) = self.pkce_cookie(Some(pair.verifier().expose_secret())) {
                self.session.get_mut().extra.push(value);
            }
        }
        Ok(self.shared.api.provider_sign_in_url(provider, &options))
    }

    /// Completes a sign-in redirect from its query string (without `?`): exchanges the
    /// `refreshToken` at once (`POST /token`, shared with any concurrent request carrying the
    /// same link), or the `code` with the PKCE verifier (`POST /token/exchange`); records the
    /// session so the response sets its cookie.
    ///
    /// # Errors
    /// The redirect's own error (`?error=…`, as [`nhost_session_core::Error::Redirect`]),
    /// [`ActionError::RedirectTokenRejected`], [`ActionError::NoCredentials`],
    /// [`ActionError::MissingVerifier`], or the auth service's refusal or unavailability.
    pub async fn complete_redirect(&self, query: &str) -> Result<AuthSession, ActionError> {
        let had_verifier = self.pkce_verifier.is_some();
        let result = match RedirectOutcome::from_query(query) {
            RedirectOutcome::RefreshToken { token, .. } => {
                match resolve_detached(&self.shared, token).await {
                    Resolution::Session(session) => Ok(self.adopt(session).await),
                    Resolution::Rejected => Err(ActionError::RedirectTokenRejected),
                    Resolution::Unavailable(error) => Err(error.into()),
                }
            }
            RedirectOutcome::Code(code) => match &self.pkce_verifier {
                Some(verifier) => {
                    let answer = self.shared.api.exchange_code(&code, verifier).await;
                    match answer {
                        Ok(answer) => self.start_session(answer).await,
                        Err(error) => Err(error.into()),
                    }
                }
                None => Err(ActionError::MissingVerifier),
            },
            RedirectOutcome::Error(error) => Err(nhost_session_core::Error::Redirect(error).into()),
            RedirectOutcome::Nothing => Err(ActionError::NoCredentials),
        };
        if had_verifier {
            // Single use: remove the verifier whatever happened.
            if let Some(value) = self.pkce_cookie(None) {
                self.session.get_mut().extra.push(value);
            }
        }
        result
    }

    /// The PKCE verifier cookie (`None` value: its removal).
    fn pkce_cookie(&self, value: Option<&str>) -> Option<HeaderValue> {
        let config = &self.shared.cookie;
        let mut text = match value {
            Some(value) => format!(
                "{}={value}; Path={}; Max-Age={PKCE_COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax",
                self.shared.pkce_cookie,
                config.path()
            ),
            None => format!(
                "{}=; Path={}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax",
                self.shared.pkce_cookie,
                config.path()
            ),
        };
        if let Some(domain) = config.domain() {
            text.push_str("; Domain=");
            text.push_str(domain);
        }
        if config.secure() {
            text.push_str("; Secure");
        }
        let mut header = HeaderValue::from_str(&text).ok()?;
        header.set_sensitive(true);
        Some(header)
    }
}

/// A ready-made handler for the sign-in callback route (`GET /auth/callback`):
///
/// ```
/// use actix_web::{App, web};
///
/// let app = App::new().route("/auth/callback", web::get().to(nhost_session_actix::callback));
/// # let _ = app;
/// ```
///
/// It completes the redirect ([`SessionActions::complete_redirect`]), then answers `303 See
/// Other` to the `next` query parameter when it is a same-site path (without any sign-in
/// parameter), `/` otherwise; on failure, to the sign-in page with `?error=<code>`. The token
/// never stays in the address bar, and `Referrer-Policy: no-referrer` keeps it out of
/// `Referer` headers.
pub async fn callback(actions: SessionActions, req: HttpRequest) -> HttpResponse {
    let query = req.query_string();
    let next = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == NEXT_PARAM)
        .map(|(_, value)| value.into_owned());
    let location = match actions.complete_redirect(query).await {
        Ok(_) => safe_redirect_target(next.as_deref()),
        Err(error) => {
            tracing::info!(%error, "nhost-session: sign-in callback failed");
            let sign_in = safe_redirect_target(Some(&actions.shared.sign_in_path));
            let separator = if sign_in.contains('?') { '&' } else { '?' };
            let code: String =
                url::form_urlencoded::byte_serialize(error.code().as_bytes()).collect();
            format!("{sign_in}{separator}error={code}")
        }
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL_NO_STORE),
        ))
        .finish()
}

/// The value of the request's cookie `name`, if any.
pub(crate) fn read_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().to_owned())
}
