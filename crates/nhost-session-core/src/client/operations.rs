//! The client's sign-in operations: each calls the API, then starts the session.

use std::sync::atomic::Ordering;

use time::OffsetDateTime;
use url::Url;

use super::AuthClient;
use crate::api::CreatedPat;
use crate::callback::RedirectOutcome;
use crate::clock::Clock;
use crate::error::{ConfigError, Error, RedirectError};
use crate::machine::Event;
use crate::protocol::{
    MfaTicket, ProviderSignInOptions, Session, SignInAnonymousOptions, SignInResponse,
    SignUpOptions,
};
use crate::secret::SecretString;
use crate::store::{StoredTokens, TokenStore};
use crate::transport::HttpTransport;

impl<T, S, C> AuthClient<T, S, C>
where
    T: HttpTransport + 'static,
    S: TokenStore + 'static,
    C: Clock + 'static,
{
    /// Signs up with e-mail and password. `Ok(None)` when the server wants the e-mail verified
    /// before there is a session.
    pub async fn sign_up_email_password(
        &self,
        email: &str,
        password: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<Option<Session>, Error> {
        let response = self
            .inner
            .api
            .sign_up_email_password(email, password, options)
            .await?;
        match response {
            SignInResponse::Pending => Ok(None),
            other => self.start_session(other).await.map(Some),
        }
    }

    /// Signs in with e-mail and password. [`Error::MfaRequired`] carries the ticket when the
    /// user has TOTP on; finish with [`complete_mfa_totp`](Self::complete_mfa_totp).
    pub async fn sign_in_email_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Session, Error> {
        let response = self
            .inner
            .api
            .sign_in_email_password(email, password)
            .await?;
        self.start_session(response).await
    }

    /// Completes an MFA sign-in with the ticket and a TOTP code.
    pub async fn complete_mfa_totp(&self, ticket: &MfaTicket, otp: &str) -> Result<Session, Error> {
        let response = self.inner.api.sign_in_mfa_totp(ticket, otp).await?;
        self.start_session(response).await
    }

    /// Signs in as a new anonymous user.
    pub async fn sign_in_anonymous(
        &self,
        options: Option<&SignInAnonymousOptions>,
    ) -> Result<Session, Error> {
        let response = self.inner.api.sign_in_anonymous(options).await?;
        self.start_session(response).await
    }

    /// Signs in with a personal access token.
    pub async fn sign_in_pat(
        &self,
        personal_access_token: &SecretString,
    ) -> Result<Session, Error> {
        let response = self
            .inner
            .api
            .sign_in_pat(personal_access_token.expose_secret())
            .await?;
        self.start_session(response).await
    }

    /// Sends a magic link; the user comes back through the redirect, which
    /// [`complete_redirect`](Self::complete_redirect) finishes.
    pub async fn send_magic_link(
        &self,
        email: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<(), Error> {
        self.inner
            .api
            .sign_in_passwordless_email(email, options)
            .await
    }

    /// Sends a one-time code by e-mail; finish with [`verify_email_otp`](Self::verify_email_otp).
    pub async fn send_email_otp(
        &self,
        email: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<(), Error> {
        self.inner.api.sign_in_otp_email(email, options).await
    }

    /// Signs in with the code sent by [`send_email_otp`](Self::send_email_otp).
    pub async fn verify_email_otp(&self, email: &str, otp: &str) -> Result<Session, Error> {
        let response = self.inner.api.verify_otp_email(email, otp).await?;
        self.start_session(response).await
    }

    /// Sends a one-time code by SMS; finish with [`verify_sms_otp`](Self::verify_sms_otp).
    pub async fn send_sms_otp(
        &self,
        phone_number: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<(), Error> {
        self.inner
            .api
            .sign_in_passwordless_sms(phone_number, options)
            .await
    }

    /// Signs in with the code sent by [`send_sms_otp`](Self::send_sms_otp).
    pub async fn verify_sms_otp(&self, phone_number: &str, otp: &str) -> Result<Session, Error> {
        let response = self
            .inner
            .api
            .verify_passwordless_sms(phone_number, otp)
            .await?;
        self.start_session(response).await
    }

    /// Signs in with a provider's ID token (Apple, Google).
    pub async fn sign_in_id_token(
        &self,
        provider: &str,
        id_token: &SecretString,
        nonce: Option<&str>,
    ) -> Result<Session, Error> {
        let response = self
            .inner
            .api
            .sign_in_id_token(provider, id_token.expose_secret(), nonce, None)
            .await?;
        self.start_session(response).await
    }

    /// The URL that starts a provider sign-in; the redirect back is finished by
    /// [`complete_redirect`](Self::complete_redirect).
    pub fn provider_sign_in_url(&self, provider: &str, options: &ProviderSignInOptions) -> Url {
        self.inner.api.provider_sign_in_url(provider, options)
    }

    /// Finishes a sign-in redirect (OAuth provider, magic link): exchanges `?refreshToken=` at
    /// `POST /token` at once (the token in the URL is a rotating one), or `?code=` with the PKCE
    /// verifier at `POST /token/exchange`, or reports `?error=`. Strip the parameters from
    /// what the user sees afterwards ([`strip_redirect_params`](crate::strip_redirect_params)).
    pub async fn complete_redirect(
        &self,
        redirect: &Url,
        pkce_verifier: Option<&SecretString>,
    ) -> Result<Session, Error> {
        match RedirectOutcome::from_url(redirect) {
            RedirectOutcome::RefreshToken { token, .. } => {
                let session = self.inner.api.refresh(&token).await?;
                self.start_session(SignInResponse::Session(session)).await
            }
            RedirectOutcome::Code(code) => {
                let verifier = pkce_verifier.ok_or_else(|| {
                    Error::Config(ConfigError::Invalid(
                        "the redirect carries a code: the PKCE verifier is needed to exchange it"
                            .into(),
                    ))
                })?;
                let response = self.inner.api.exchange_code(&code, verifier).await?;
                self.start_session(response).await
            }
            RedirectOutcome::Error(e) => Err(Error::Redirect(e)),
            RedirectOutcome::Nothing => Err(Error::Redirect(RedirectError {
                code: "missing-credentials".into(),
                description: Some("the redirect carries no refresh token, code or error".into()),
            })),
        }
    }

    /// Creates a personal access token for the signed-in user.
    pub async fn create_pat(
        &self,
        expires_at: OffsetDateTime,
        metadata: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CreatedPat, Error> {
        let token = self.access_token().await?;
        self.inner
            .api
            .create_pat(&token, expires_at, metadata)
            .await
    }

    /// Starts the session of a sign-in answer: saves it, then hands it to the machine. A failed
    /// save is reported as [`Error::Store`] while the session stays in memory (signed in).
    async fn start_session(&self, response: SignInResponse) -> Result<Session, Error> {
        let session = match response {
            SignInResponse::Session(session) => session,
            SignInResponse::MfaRequired(ticket) => return Err(Error::MfaRequired(ticket)),
            SignInResponse::Pending => return Err(Error::NotSignedIn),
        };
        let stored = StoredTokens::from_session(&session, self.inner.clock.now());
        let saved = self.save(&stored).await;
        // A stored session from before is superseded: no need to load it any more.
        self.inner.restored.store(true, Ordering::Release);
        let event = Event::SignedIn {
            session: session.clone(),
            saved: saved.is_ok(),
        };
        let later = self.apply(event).await;
        saved.and(later).map_err(Error::Store)?;
        Ok(session)
    }
}
