//! One method per endpoint of the auth API.

use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use super::wire;
use super::{AuthApi, Endpoint, decode, server_error};
use crate::error::Error;
use crate::protocol::{
    MfaTicket, ProviderSignInOptions, Session, SignInAnonymousOptions, SignInResponse,
    SignUpOptions, User,
};
use crate::secret::{AccessToken, RefreshToken, SecretString};
use crate::transport::HttpTransport;

const TOKEN: Endpoint = Endpoint::post("token", "POST /token");
const SIGN_UP_EMAIL_PASSWORD: Endpoint =
    Endpoint::post("signup/email-password", "POST /signup/email-password");
const SIGN_IN_EMAIL_PASSWORD: Endpoint =
    Endpoint::post("signin/email-password", "POST /signin/email-password");
const SIGN_IN_MFA_TOTP: Endpoint = Endpoint::post("signin/mfa/totp", "POST /signin/mfa/totp");
const SIGN_IN_ANONYMOUS: Endpoint = Endpoint::post("signin/anonymous", "POST /signin/anonymous");
const SIGN_IN_PAT: Endpoint = Endpoint::post("signin/pat", "POST /signin/pat");
const SIGN_IN_PASSWORDLESS_EMAIL: Endpoint = Endpoint::post(
    "signin/passwordless/email",
    "POST /signin/passwordless/email",
);
const SIGN_IN_OTP_EMAIL: Endpoint = Endpoint::post("signin/otp/email", "POST /signin/otp/email");
const VERIFY_OTP_EMAIL: Endpoint =
    Endpoint::post("signin/otp/email/verify", "POST /signin/otp/email/verify");
const SIGN_IN_PASSWORDLESS_SMS: Endpoint =
    Endpoint::post("signin/passwordless/sms", "POST /signin/passwordless/sms");
const VERIFY_PASSWORDLESS_SMS: Endpoint = Endpoint::post(
    "signin/passwordless/sms/otp",
    "POST /signin/passwordless/sms/otp",
);
const SIGN_IN_ID_TOKEN: Endpoint = Endpoint::post("signin/idtoken", "POST /signin/idtoken");
const TOKEN_EXCHANGE: Endpoint = Endpoint::post("token/exchange", "POST /token/exchange");
const SIGN_OUT: Endpoint = Endpoint::post("signout", "POST /signout");
const USER: Endpoint = Endpoint::get("user", "GET /user");
const CREATE_PAT: Endpoint = Endpoint::post("pat", "POST /pat");
const JWKS: Endpoint = Endpoint::get(".well-known/jwks.json", "GET /.well-known/jwks.json");

/// The answer of `POST /pat`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPat {
    /// The PAT's id.
    pub id: String,
    /// The personal access token: a long-lived credential, shown once.
    pub personal_access_token: SecretString,
}

impl<T: HttpTransport> AuthApi<T> {
    /// `POST /token`: a new session for a refresh token.
    ///
    /// A 401, an `invalid-refresh-token` code, or any 400 (concealed errors answer `400
    /// invalid-request`; a token that is not a UUID fails validation with a 400) mean the token
    /// is dead: [`Error::RefreshTokenRejected`]. Everything else keeps the token alive.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Session, Error> {
        let body = wire::RefreshTokenBody {
            refresh_token: refresh_token.expose_secret(),
        };
        let answer = self.send(TOKEN, Some(&body), None).await?;
        if (200..300).contains(&answer.status) {
            return decode(TOKEN, &answer);
        }
        let error = server_error(&answer);
        let rejected =
            matches!(error.status, 400 | 401) || error.body.code() == Some("invalid-refresh-token");
        Err(if rejected {
            Error::RefreshTokenRejected(Box::new(error))
        } else {
            Error::Server(Box::new(error))
        })
    }

    /// `POST /signup/email-password`.
    pub async fn sign_up_email_password(
        &self,
        email: &str,
        password: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<SignInResponse, Error> {
        let body = wire::EmailPassword {
            email,
            password,
            options,
        };
        self.call(SIGN_UP_EMAIL_PASSWORD, Some(&body), None).await
    }

    /// `POST /signin/email-password`.
    pub async fn sign_in_email_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<SignInResponse, Error> {
        let body = wire::EmailPassword {
            email,
            password,
            options: None,
        };
        self.call(SIGN_IN_EMAIL_PASSWORD, Some(&body), None).await
    }

    /// `POST /signin/mfa/totp`: completes a sign-in that asked for a TOTP code.
    pub async fn sign_in_mfa_totp(
        &self,
        ticket: &MfaTicket,
        otp: &str,
    ) -> Result<SignInResponse, Error> {
        let body = wire::MfaTotp {
            ticket: ticket.0.expose_secret(),
            otp,
        };
        self.call(SIGN_IN_MFA_TOTP, Some(&body), None).await
    }

    /// `POST /signin/anonymous`.
    pub async fn sign_in_anonymous(
        &self,
        options: Option<&SignInAnonymousOptions>,
    ) -> Result<SignInResponse, Error> {
        let empty = SignInAnonymousOptions::default();
        self.call(SIGN_IN_ANONYMOUS, Some(options.unwrap_or(&empty)), None)
            .await
    }

    /// `POST /signin/pat`: a new regular session for a personal access token.
    pub async fn sign_in_pat(&self, personal_access_token: &str) -> Result<SignInResponse, Error> {
        let body = wire::Pat {
            personal_access_token,
        };
        self.call(SIGN_IN_PAT, Some(&body), None).await
    }

    /// `POST /signin/passwordless/email`: sends a magic link.
    pub async fn sign_in_passwordless_email(
        &self,
        email: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<(), Error> {
        let body = wire::Email { email, options };
        self.call_ok(SIGN_IN_PASSWORDLESS_EMAIL, Some(&body), None)
            .await
    }

    /// `POST /signin/otp/email`: sends a one-time code by e-mail.
    pub async fn sign_in_otp_email(
        &self,
        email: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<(), Error> {
        let body = wire::Email { email, options };
        self.call_ok(SIGN_IN_OTP_EMAIL, Some(&body), None).await
    }

    /// `POST /signin/otp/email/verify`.
    pub async fn verify_otp_email(&self, email: &str, otp: &str) -> Result<SignInResponse, Error> {
        let body = wire::EmailOtp { email, otp };
        self.call(VERIFY_OTP_EMAIL, Some(&body), None).await
    }

    /// `POST /signin/passwordless/sms`: sends a one-time code by SMS.
    pub async fn sign_in_passwordless_sms(
        &self,
        phone_number: &str,
        options: Option<&SignUpOptions>,
    ) -> Result<(), Error> {
        let body = wire::Phone {
            phone_number,
            options,
        };
        self.call_ok(SIGN_IN_PASSWORDLESS_SMS, Some(&body), None)
            .await
    }

    /// `POST /signin/passwordless/sms/otp`.
    pub async fn verify_passwordless_sms(
        &self,
        phone_number: &str,
        otp: &str,
    ) -> Result<SignInResponse, Error> {
        let body = wire::PhoneOtp { phone_number, otp };
        self.call(VERIFY_PASSWORDLESS_SMS, Some(&body), None).await
    }

    /// `POST /signin/idtoken`: signs in with a provider's ID token (Apple, Google).
    pub async fn sign_in_id_token(
        &self,
        provider: &str,
        id_token: &str,
        nonce: Option<&str>,
        options: Option<&SignUpOptions>,
    ) -> Result<SignInResponse, Error> {
        let body = wire::IdToken {
            provider,
            id_token,
            nonce,
            options,
        };
        self.call(SIGN_IN_ID_TOKEN, Some(&body), None).await
    }

    /// The URL that starts a sign-in with an OAuth provider (`GET /signin/provider/{provider}`):
    /// send the browser there.
    pub fn provider_sign_in_url(&self, provider: &str, options: &ProviderSignInOptions) -> Url {
        let mut url = self.url().endpoint("signin/provider/");
        if let Ok(mut segments) = url.path_segments_mut() {
            // The URL parser drops tabs and newlines, so `.\t.` would become a `..` segment
            // that `push` does not recognise and leave `/signin/provider/`: drop them first.
            let provider: String = provider
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect();
            segments.pop_if_empty().push(&provider);
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(v) = &options.redirect_to {
                query.append_pair("redirectTo", v);
            }
            if let Some(roles) = &options.allowed_roles {
                query.append_pair("allowedRoles", &roles.join(","));
            }
            if let Some(v) = &options.default_role {
                query.append_pair("defaultRole", v);
            }
            if let Some(v) = &options.display_name {
                query.append_pair("displayName", v);
            }
            if let Some(v) = &options.locale {
                query.append_pair("locale", v);
            }
            if let Some(metadata) = &options.metadata {
                query.append_pair(
                    "metadata",
                    &serde_json::Value::Object(metadata.clone()).to_string(),
                );
            }
            if let Some(challenge) = &options.code_challenge {
                query.append_pair("codeChallenge", challenge);
                query.append_pair("codeChallengeMethod", "S256");
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    /// `POST /token/exchange` (newer servers): exchanges a redirect's `code` and the PKCE
    /// verifier for a session.
    pub async fn exchange_code(
        &self,
        code: &SecretString,
        code_verifier: &SecretString,
    ) -> Result<SignInResponse, Error> {
        let body = wire::CodeExchange {
            code: code.expose_secret(),
            code_verifier: code_verifier.expose_secret(),
        };
        self.call(TOKEN_EXCHANGE, Some(&body), None).await
    }

    /// `POST /signout {refreshToken}`: revokes one session. The server answers `"OK"` even for
    /// an unknown token. The bearer is sent when given, as the JS SDKs do.
    pub async fn sign_out(
        &self,
        refresh_token: &RefreshToken,
        access_token: Option<&AccessToken>,
    ) -> Result<(), Error> {
        let body = wire::RefreshTokenBody {
            refresh_token: refresh_token.expose_secret(),
        };
        self.call_ok(SIGN_OUT, Some(&body), access_token).await
    }

    /// `POST /signout {all: true}` with the bearer: revokes every session of the user.
    pub async fn sign_out_all(&self, access_token: &AccessToken) -> Result<(), Error> {
        self.call_ok(
            SIGN_OUT,
            Some(&wire::SignOutAll { all: true }),
            Some(access_token),
        )
        .await
    }

    /// `GET /user`: the signed-in user, with `activeMfaType` filled.
    pub async fn user(&self, access_token: &AccessToken) -> Result<User, Error> {
        self.call(USER, None::<&()>, Some(access_token)).await
    }

    /// `POST /pat`: creates a personal access token for the signed-in user.
    pub async fn create_pat(
        &self,
        access_token: &AccessToken,
        expires_at: OffsetDateTime,
        metadata: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CreatedPat, Error> {
        let body = wire::CreatePat {
            expires_at,
            metadata,
        };
        self.call(CREATE_PAT, Some(&body), Some(access_token)).await
    }

    /// `GET /.well-known/jwks.json`: the public keys that sign access tokens (`{"keys": null}`
    /// when the server signs with a shared secret).
    pub async fn jwks(&self) -> Result<serde_json::Value, Error> {
        self.call(JWKS, None::<&()>, None).await
    }
}
