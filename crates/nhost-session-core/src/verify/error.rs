//! The errors of verification: why a token was refused, why the keys could not be fetched, and
//! why a verifier could not be built. None of them ever quotes a token or a key.

use time::OffsetDateTime;

use crate::protocol::ClaimsError;
use crate::transport::TransportError;

/// Why a bearer token was refused.
///
/// Every variant except [`JwksUnavailable`](Self::JwksUnavailable) means the client sent a
/// token that must not be trusted: answer `401 Unauthorized`. `JwksUnavailable` is a failure on
/// the server's side (the keys could not be fetched): answer `503 Service Unavailable`; see
/// [`is_transient`](Self::is_transient).
///
/// The values carried (an algorithm name, a key id, an issuer) are cut to 64 printable
/// characters; the token itself is never part of the error.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is longer than the verifier accepts (see
    /// [`JwtVerifierBuilder::max_token_len`](super::JwtVerifierBuilder::max_token_len)).
    #[error("the token is {len} bytes long, more than the {max} accepted")]
    TooLarge {
        /// The token's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token is not a well-formed signed JWT (three base64url parts, a JSON header with an
    /// `alg`, a JSON object payload, claims of the right types).
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm that this verifier does not accept, or one that the key
    /// with the token's `kid` cannot verify (`none`, an HMAC algorithm against a public key, …).
    #[error("the token's algorithm `{0}` is not allowed")]
    AlgorithmNotAllowed(String),
    /// No key of the verifier has the token's `kid` (after refetching the JWKS when allowed).
    #[error("no verification key matches the token's key id {}", show(kid))]
    UnknownKey {
        /// The `kid` of the token's header, if it had one.
        kid: Option<String>,
    },
    /// The signature does not verify: the token was forged or altered.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("the token expired at {expired_at}")]
    Expired {
        /// The token's `exp`.
        expired_at: OffsetDateTime,
    },
    /// `nbf` is in the future, or `iat` is (the token claims to be issued later than now),
    /// beyond the leeway.
    #[error("the token is not valid before {valid_from}")]
    NotYetValid {
        /// The token's `nbf`, or its `iat` when that is the claim in the future.
        valid_from: OffsetDateTime,
    },
    /// A claim the verifier requires is absent (`exp`).
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// `iss` is absent or not one of the configured issuers.
    #[error("the token's issuer {} is not accepted", show(found))]
    IssuerMismatch {
        /// The token's `iss`, if it had one.
        found: Option<String>,
    },
    /// `aud` is absent or names none of the configured audiences.
    #[error("the token's audience is not accepted")]
    AudienceMismatch,
    /// The signature and times are fine but the Hasura claims are missing or invalid.
    #[error("the token's Hasura claims are invalid: {0}")]
    Claims(#[source] ClaimsError),
    /// The JWKS could not be fetched and no cached key can verify the token.
    #[error("the verification keys are unavailable: {0}")]
    JwksUnavailable(#[source] JwksError),
}

impl VerifyError {
    /// Whether the failure is the server's and may go away by itself (the JWKS endpoint is
    /// down): answer `503` rather than `401`.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::JwksUnavailable(_))
    }
}

/// Why the JWKS could not be fetched or used.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The request got no answer.
    #[error("could not reach the JWKS endpoint: {0}")]
    Transport(#[source] TransportError),
    /// The endpoint answered a non-2xx status.
    #[error("the JWKS endpoint answered HTTP {0}")]
    Status(u16),
    /// The answer is not a JWKS document.
    #[error("the JWKS document is invalid: {0}")]
    Invalid(&'static str),
}

/// Why a verifier (or its key source, or a `HASURA_GRAPHQL_JWT_SECRET`) was refused.
///
/// Never quotes a key or a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierConfigError {
    /// `HASURA_GRAPHQL_JWT_SECRET` is not valid: not JSON, a field of the wrong type,
    /// conflicting or missing fields.
    #[error("invalid JWT secret configuration: {0}")]
    InvalidSecret(String),
    /// A `HASURA_GRAPHQL_JWT_SECRET` field that this verifier does not implement.
    #[error("the JWT secret field `{0}` is not supported")]
    UnsupportedField(String),
    /// A key could not be read (not a PEM public key of the algorithm's type, …).
    #[error("invalid verification key: {0}")]
    InvalidKey(String),
    /// An HMAC secret shorter than the minimum.
    #[error("the HMAC secret is {len} bytes long; at least {min} are required")]
    WeakSecret {
        /// Its length in bytes.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The algorithms do not fit the keys: an HMAC algorithm for a public key or a JWKS, an
    /// asymmetric one for a shared secret, or an empty allow-list.
    #[error("algorithms: {0}")]
    Algorithms(String),
    /// A URL that is not `http`/`https`.
    #[error("invalid JWKS URL: {0}")]
    InvalidUrl(String),
    /// The configuration names a JWKS URL, so the verifier needs a transport to fetch it.
    #[error("the configuration has a `jwk_url`: use a builder that takes an HTTP transport")]
    TransportRequired,
    /// A setting is out of its range (a leeway above the maximum, a zero token size, …).
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// jsonwebtoken has no usable crypto backend (another crate enabled a second one and
    /// installed none).
    #[error("jsonwebtoken has no usable crypto backend")]
    CryptoBackend,
}

fn show(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(none)")
}

/// At most 64 printable characters of an untrusted string, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    text.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
