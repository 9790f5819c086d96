//! Why a session could not be written to cookies.

use nhost_session_core::StoreError;

use crate::config::CookieFormat;

/// Why [`CookieConfig::write`](crate::CookieConfig::write) refused a session. Nothing was
/// written: the browser keeps its previous cookies. Messages name cookies and sizes, never
/// token values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// A cookie would exceed the browser's limit. The own format splits large values into
    /// chunks and reports this only past its chunk limit; the JavaScript formats cannot be
    /// split, because their readers cannot join chunks.
    #[error("the `{name}` cookie would take {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The cookie's name.
        name: String,
        /// The `Set-Cookie` value's size in bytes (for a chunked value: the whole value).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The format needs a part of the session the tokens do not carry (`@nhost/nhost-js` 4
    /// stores the access token and the user).
    #[error("the {format} cookie format cannot be written without the {missing}")]
    MissingSessionData {
        /// The format.
        format: CookieFormat,
        /// What is missing: `"access token"` or `"user"`.
        missing: &'static str,
    },
    /// The refresh token is empty: that is no session.
    #[error("the refresh token is empty")]
    EmptyRefreshToken,
    /// The access token is not a JWT whose payload the format can decode
    /// (`@nhost/nhost-js` 4 stores the decoded payload).
    #[error("the access token cannot be decoded: {0}")]
    InvalidAccessToken(&'static str),
    /// A cookie could not be turned into a header value (cannot happen with validated names
    /// and encoded values; reported rather than panicking).
    #[error("the `{name}` cookie is not a valid header value")]
    InvalidHeader {
        /// The cookie's name.
        name: String,
    },
    /// The session could not be serialized.
    #[error("the session cannot be serialized: {0}")]
    Serialize(String),
}

impl From<CookieError> for StoreError {
    fn from(error: CookieError) -> Self {
        StoreError::Rejected(error.to_string())
    }
}
