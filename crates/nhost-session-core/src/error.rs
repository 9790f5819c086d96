//! The errors of the client, each kind apart, none of them quoting a token.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::protocol::{ErrorBody, MfaTicket};
use crate::store::StoreError;
use crate::transport::TransportError;

/// Everything that can go wrong in a session operation.
///
/// The large variants are boxed so that `Result<AccessToken, Error>` stays small on the hot
/// path.
///
/// Use the predicates to decide what to do: [`is_transient`](Error::is_transient) errors are
/// worth retrying later and never end the session; [`ends_session`](Error::ends_session) says
/// the user must sign in again.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not get an HTTP answer: connection refused or reset, timeout, DNS.
    #[error("could not reach the auth service: {0}")]
    Transport(#[from] TransportError),
    /// The auth service answered with an error status.
    #[error(transparent)]
    Server(Box<ServerError>),
    /// The auth service rejected the refresh token (401, `invalid-refresh-token`, or a 400 from
    /// `POST /token`): the session has ended and the store was cleared.
    #[error("the refresh token was rejected, the session has ended ({0})")]
    RefreshTokenRejected(Box<ServerError>),
    /// A success answer could not be decoded.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// The token store failed. When this comes from a refresh or a sign-in, the new session is
    /// still held in memory and the next change retries the save.
    #[error("token store: {0}")]
    Store(#[from] StoreError),
    /// The client is misconfigured.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The operation needs a session and there is none.
    #[error("not signed in")]
    NotSignedIn,
    /// The user has multi-factor authentication on: complete the sign-in with the ticket and a
    /// TOTP code.
    #[error("multi-factor authentication required")]
    MfaRequired(MfaTicket),
    /// A sign-in redirect (OAuth provider, magic link) came back with an error.
    #[error("the sign-in redirect carried an error: {0}")]
    Redirect(RedirectError),
    /// The session is kept, but refreshing is in back-off after transient failures and the
    /// access token has expired; retry after the given time.
    #[error("the session is temporarily unavailable; retry after {retry_at}")]
    TemporarilyUnavailable {
        /// When the next refresh may be attempted.
        retry_at: OffsetDateTime,
    },
}

impl Error {
    /// Whether retrying later may succeed: transport failures, 5xx, 429 and 408 answers, and
    /// back-off. These never end a session.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) | Self::TemporarilyUnavailable { .. } => true,
            Self::Server(e) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether the session has ended and the user must sign in again.
    pub fn ends_session(&self) -> bool {
        matches!(self, Self::RefreshTokenRejected(_))
    }

    /// The auth service's error code (such as `invalid-email-password`), when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Server(e) | Self::RefreshTokenRejected(e) => e.body.code(),
            Self::Redirect(e) => Some(&e.code),
            _ => None,
        }
    }

    /// The HTTP status of the auth service's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server(e) | Self::RefreshTokenRejected(e) => Some(e.status),
            Self::Decode(e) => Some(e.status),
            _ => None,
        }
    }
}

/// An error answer of the auth service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// The HTTP status.
    pub status: u16,
    /// The parsed body (empty fields when the body was not JSON).
    pub body: ErrorBody,
    /// The raw body, kept for diagnosis.
    pub raw: RawBody,
}

impl ServerError {
    /// 5xx, 429 (rate limited) and 408.
    pub fn is_transient(&self) -> bool {
        self.status >= 500 || self.status == 429 || self.status == 408
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the auth service answered HTTP {}", self.status)?;
        if let Some(code) = self.body.code() {
            write!(f, " `{code}`")?;
        }
        if let Some(message) = self.body.message.as_deref().or(self.body.reason.as_deref()) {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// A success answer that could not be decoded. Keeps where decoding failed, never the text
/// around it: the body may hold tokens.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "could not decode the answer of {endpoint} (HTTP {status}): {category} at line {line}, column {column}"
)]
pub struct DecodeError {
    /// The endpoint, such as `POST /token`.
    pub endpoint: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong: `syntax`, `data` (wrong shape), `eof` (truncated) or `io`.
    pub category: &'static str,
    /// Where in the body.
    pub line: usize,
    /// Where in the line.
    pub column: usize,
    /// The raw body, for whoever explicitly wants it; not printed by `Debug`.
    pub raw: RawBody,
}

impl DecodeError {
    pub(crate) fn new(
        endpoint: &'static str,
        status: u16,
        e: &serde_json::Error,
        raw: &[u8],
    ) -> Self {
        use serde_json::error::Category;
        Self {
            endpoint,
            status,
            category: match e.classify() {
                Category::Io => "io",
                Category::Syntax => "syntax",
                Category::Data => "data",
                Category::Eof => "eof",
            },
            line: e.line(),
            column: e.column(),
            raw: RawBody::new(raw),
        }
    }
}

/// An HTTP body kept for diagnosis. `Debug` prints its length only, since a body may carry
/// tokens; read it with [`as_bytes`](RawBody::as_bytes).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawBody(Arc<[u8]>);

/// Bodies are kept up to this size.
const MAX_RAW_BODY: usize = 16 * 1024;

impl RawBody {
    /// Keeps (at most the first 16 KiB of) a body.
    pub fn new(body: &[u8]) -> Self {
        Self(body[..body.len().min(MAX_RAW_BODY)].into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawBody({} bytes)", self.0.len())
    }
}

/// The error a sign-in redirect carried (`?error=…&errorDescription=…`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct RedirectError {
    /// The error code, such as `invalid-state`.
    pub code: String,
    /// The description, when there was one.
    pub description: Option<String>,
}

/// A configuration mistake.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The auth URL is not usable.
    #[error("invalid auth URL: {reason}")]
    InvalidAuthUrl {
        /// Why.
        reason: String,
    },
    /// Another setting is not usable.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16, body: &[u8]) -> Box<ServerError> {
        Box::new(ServerError {
            status,
            body: ErrorBody::parse(body),
            raw: RawBody::new(body),
        })
    }

    #[test]
    fn results_stay_small() {
        assert!(
            std::mem::size_of::<Error>() <= 56,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn transient_means_retry_may_help() {
        for status in [500, 502, 503, 504, 429, 408] {
            assert!(
                Error::Server(server(status, b"")).is_transient(),
                "{status}"
            );
        }
        for status in [400, 401, 403, 409] {
            assert!(
                !Error::Server(server(status, b"")).is_transient(),
                "{status}"
            );
        }
        assert!(!Error::RefreshTokenRejected(server(401, b"")).is_transient());
        assert!(Error::RefreshTokenRejected(server(401, b"")).ends_session());
    }

    #[test]
    fn display_names_status_code_and_message_and_debug_hides_the_body() {
        let e = Error::Server(server(
            401,
            br#"{"status":401,"error":"invalid-email-password","message":"Incorrect email or password"}"#,
        ));
        assert_eq!(
            e.to_string(),
            "the auth service answered HTTP 401 `invalid-email-password`: Incorrect email or password"
        );
        assert_eq!(e.code(), Some("invalid-email-password"));
        let secret_body = br#"{"accessToken":"eyJsecret"}"#;
        let decode = DecodeError::new(
            "POST /token",
            200,
            &serde_json::from_slice::<u8>(secret_body).unwrap_err(),
            secret_body,
        );
        let text = format!("{decode} {decode:?}");
        assert!(!text.contains("eyJsecret"), "{text}");
        assert_eq!(decode.raw.as_bytes(), secret_body);
    }
}
