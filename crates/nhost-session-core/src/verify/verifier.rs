//! The verifier: checks a bearer JWT and returns its typed Hasura claims.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::algorithm::Algorithm;
use super::error::{VerifierConfigError, VerifyError, excerpt};
use super::jwks_cache::JwksCache;
use super::keys::{KeySet, KeySource, Lookup, SourceKind, VerifyingKey};
use crate::clock::{Clock, SystemClock};
use crate::protocol::{ClaimsError, HASURA_CLAIMS_NAMESPACE, HasuraClaims};

/// The longest token accepted by default, in bytes. Nhost's tokens are about 1 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;

/// The largest leeway a verifier accepts for `exp`, `nbf` and `iat`.
pub const MAX_LEEWAY: Duration = Duration::minutes(5);

/// The default shortest time between two JWKS fetches.
pub const DEFAULT_JWKS_REFETCH_FLOOR: Duration = Duration::seconds(30);

/// The default age after which cached JWKS keys are refreshed.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::minutes(10);

/// The floor is never below this: an attacker sending made-up `kid`s must not turn every
/// request into a JWKS fetch.
const MIN_REFETCH_FLOOR: Duration = Duration::seconds(1);

/// The key under which a `claims_namespace_path` target is handed to the claims reader.
const PATH_TARGET: &str = "\u{0}nhost-session-claims-path";

/// A verified token: its Hasura claims and what else an extractor may want.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// The typed Hasura claims.
    pub claims: HasuraClaims,
    /// The whole payload, for claims outside the Hasura namespace.
    pub payload: Map<String, Value>,
    /// The algorithm that signed it.
    pub algorithm: Algorithm,
    /// The `kid` of its header.
    pub key_id: Option<String>,
}

/// Where the Hasura claims are in the payload.
#[derive(Clone, Debug)]
pub(crate) enum ClaimsLocation {
    /// Under this top-level claim (`claims_namespace`).
    Key(String),
    /// At this path (`claims_namespace_path`); `text` is the path as written.
    Path { segments: Vec<String>, text: String },
}

impl ClaimsLocation {
    /// Parses `$`, `$.a.b`, `$['a.b'].c` and `$["a"]`.
    pub(crate) fn parse_path(path: &str) -> Result<Self, String> {
        let text = path.trim();
        let bad = || {
            format!(
                "`{}` is not a supported JSON path ($, $.a.b or $['a'])",
                excerpt(text)
            )
        };
        let mut rest = text.strip_prefix('$').ok_or_else(bad)?;
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(bad());
                }
                segments.push(after[..end].to_owned());
                rest = &after[end..];
            } else if let Some(quote) = rest
                .strip_prefix('[')
                .and_then(|r| r.chars().next())
                .filter(|c| matches!(c, '\'' | '"'))
            {
                let after = &rest[2..];
                let end = after.find(quote).ok_or_else(bad)?;
                segments.push(after[..end].to_owned());
                rest = after[end + 1..].strip_prefix(']').ok_or_else(bad)?;
            } else {
                return Err(bad());
            }
        }
        Ok(Self::Path {
            segments,
            text: text.to_owned(),
        })
    }

    fn extract(&self, payload: &Map<String, Value>) -> Result<HasuraClaims, ClaimsError> {
        let (segments, text) = match self {
            Self::Key(namespace) => return HasuraClaims::from_payload(payload, namespace),
            Self::Path { segments, text } => (segments, text),
        };
        let missing = || ClaimsError::MissingNamespace(text.clone());
        let target = match segments.split_first() {
            None => Value::Object(payload.clone()),
            Some((first, rest)) => {
                let mut value = payload.get(first).ok_or_else(missing)?;
                for segment in rest {
                    value = value.get(segment).ok_or_else(missing)?;
                }
                value.clone()
            }
        };
        // Only the session variables: `$` points at the whole payload, `sub` and `exp` are not
        // Hasura claims.
        let target = match target {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(name, _)| {
                        name.get(..9)
                            .is_some_and(|p| p.eq_ignore_ascii_case("x-hasura-"))
                    })
                    .collect(),
            ),
            other => other,
        };
        let mut with_target = payload.clone();
        with_target.insert(PATH_TARGET.to_owned(), target);
        HasuraClaims::from_payload(&with_target, PATH_TARGET).map_err(|e| match e {
            ClaimsError::MissingNamespace(_) => missing(),
            other => other,
        })
    }
}

/// Settings of a [`JwtVerifier`]; [`build`](Self::build) checks them.
///
/// Defaults: the algorithms the keys allow (the fixed key's one; every asymmetric algorithm
/// for a JWKS), no issuer or audience check, no leeway (the auth server and Hasura allow
/// none), the claims under `https://hasura.io/jwt/claims`, the system clock, tokens up to
/// [`DEFAULT_MAX_TOKEN_LEN`], JWKS refetched at most every [`DEFAULT_JWKS_REFETCH_FLOOR`] and
/// refreshed after [`DEFAULT_JWKS_MAX_AGE`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct JwtVerifierBuilder {
    source: KeySource,
    algorithms: Option<Vec<Algorithm>>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    claims: Result<ClaimsLocation, String>,
    clock: Arc<dyn Clock>,
    max_token_len: usize,
    refetch_floor: Duration,
    max_age: Duration,
}

impl fmt::Debug for JwtVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("source", &self.source)
            .field("algorithms", &self.algorithms)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl JwtVerifierBuilder {
    /// A builder for keys from `source`, with the defaults.
    pub fn new(source: KeySource) -> Self {
        Self {
            source,
            algorithms: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: Duration::ZERO,
            claims: Ok(ClaimsLocation::Key(HASURA_CLAIMS_NAMESPACE.to_owned())),
            clock: Arc::new(SystemClock),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            refetch_floor: DEFAULT_JWKS_REFETCH_FLOOR,
            max_age: DEFAULT_JWKS_MAX_AGE,
        }
    }

    /// Accepts only these algorithms. They must fit the keys: HMAC ones only with a shared
    /// secret, asymmetric ones only with public keys.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Requires `iss` to be this issuer (Nhost's default is `hasura-auth`). Call it again to
    /// accept several.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Requires `aud` to name this audience. Call it again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Requires `aud` to name one of these audiences.
    pub fn audiences<S: Into<String>>(mut self, audiences: impl IntoIterator<Item = S>) -> Self {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Tolerance for clock differences in the `exp`, `nbf` and `iat` checks, at most
    /// [`MAX_LEEWAY`] (default none).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Reads the Hasura claims under this top-level claim (Hasura's `claims_namespace`).
    pub fn claims_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.claims = Ok(ClaimsLocation::Key(namespace.into()));
        self
    }

    /// Reads the Hasura claims at this JSON path (Hasura's `claims_namespace_path`): `$`,
    /// `$.a.b`, `$['a.b'].c`.
    pub fn claims_namespace_path(mut self, path: &str) -> Self {
        self.claims = ClaimsLocation::parse_path(path);
        self
    }

    pub(crate) fn claims_location(mut self, location: ClaimsLocation) -> Self {
        self.claims = Ok(location);
        self
    }

    /// The clock for `exp`/`nbf`/`iat` and for the JWKS refetch floor (default: the system
    /// clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Refuses tokens longer than this many bytes without looking at them (default
    /// [`DEFAULT_MAX_TOKEN_LEN`]).
    pub fn max_token_len(mut self, max: usize) -> Self {
        self.max_token_len = max;
        self
    }

    /// The shortest time between two JWKS fetches, whatever triggers them (default
    /// [`DEFAULT_JWKS_REFETCH_FLOOR`], at least one second).
    pub fn jwks_refetch_floor(mut self, floor: Duration) -> Self {
        self.refetch_floor = floor;
        self
    }

    /// Cached JWKS keys older than this are refreshed before use; if the refresh fails they
    /// stay in use (default [`DEFAULT_JWKS_MAX_AGE`]).
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Checks the settings and builds the verifier. Nothing is fetched yet: the JWKS is
    /// fetched by the first verification, or by [`JwtVerifier::prefetch_keys`].
    pub fn build(self) -> Result<JwtVerifier, VerifierConfigError> {
        ensure_crypto_backend()?;
        let setting = VerifierConfigError::InvalidSetting;
        if self.leeway.is_negative() || self.leeway > MAX_LEEWAY {
            return Err(setting(format!(
                "the leeway must be between 0 and {} seconds",
                MAX_LEEWAY.whole_seconds()
            )));
        }
        if self.max_token_len == 0 {
            return Err(setting("the maximum token length must not be zero".into()));
        }
        if self.refetch_floor < MIN_REFETCH_FLOOR {
            return Err(setting(
                "the JWKS refetch floor must be at least one second".into(),
            ));
        }
        if self.max_age < self.refetch_floor {
            return Err(setting(
                "the JWKS maximum age must not be shorter than the refetch floor".into(),
            ));
        }
        let claims = self.claims.map_err(setting)?;
        let mut allowed = match (&self.source.0, self.algorithms) {
            (_, Some(list)) if list.is_empty() => {
                return Err(VerifierConfigError::Algorithms(
                    "the allow-list is empty".into(),
                ));
            }
            (SourceKind::Static { algorithm, .. }, Some(list)) if !list.contains(algorithm) => {
                return Err(VerifierConfigError::Algorithms(format!(
                    "the key is for {algorithm}, which the allow-list lacks"
                )));
            }
            (SourceKind::Static { algorithm, .. }, _) => vec![*algorithm],
            (SourceKind::Jwks { .. }, Some(list)) => {
                if let Some(alg) = list.iter().find(|a| a.is_symmetric()) {
                    return Err(VerifierConfigError::Algorithms(format!(
                        "a JWKS holds public keys: {alg} cannot be verified with it"
                    )));
                }
                list
            }
            (SourceKind::Jwks { .. }, None) => Algorithm::ASYMMETRIC.to_vec(),
        };
        allowed.dedup();
        let keys = match self.source.0 {
            SourceKind::Static { key, .. } => Keys::Static(key),
            SourceKind::Jwks { url, transport } => Keys::Jwks(Box::new(JwksCache::new(
                url,
                transport,
                allowed.clone(),
                self.refetch_floor,
                self.max_age,
            ))),
        };
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                keys,
                allowed,
                issuers: self.issuers,
                audiences: self.audiences,
                leeway: self.leeway,
                claims,
                clock: self.clock,
                max_token_len: self.max_token_len,
            }),
        })
    }
}

/// Makes sure jsonwebtoken has a crypto backend. This crate enables `rust_crypto`; if another
/// crate enables `aws_lc_rs` too, jsonwebtoken would panic on first use unless one is
/// installed, so the RustCrypto one is installed then (a backend someone else installed stays).
fn ensure_crypto_backend() -> Result<(), VerifierConfigError> {
    use jsonwebtoken::crypto::CryptoProvider;
    if CryptoProvider::try_get_default().is_none() {
        let _someone_was_first =
            jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    }
    CryptoProvider::try_get_default()
        .map(|_| ())
        .ok_or(VerifierConfigError::CryptoBackend)
}

/// Verifies bearer JWTs and returns their typed Hasura claims.
///
/// Cheap to clone (one `Arc`), `Send + Sync`: build one at start-up and share it between
/// requests. Clones share the JWKS cache. See the [module documentation](super) for the
/// checks and an example.
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    allowed: Vec<Algorithm>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    claims: ClaimsLocation,
    clock: Arc<dyn Clock>,
    max_token_len: usize,
}

enum Keys {
    Static(Arc<KeySet>),
    Jwks(Box<JwksCache>),
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut s = f.debug_struct("JwtVerifier");
        match &inner.keys {
            Keys::Static(_) => s.field("keys", &"fixed"),
            Keys::Jwks(cache) => s.field("jwks", &cache.url().as_str()),
        };
        s.field("algorithms", &inner.allowed)
            .field("issuers", &inner.issuers)
            .field("audiences", &inner.audiences)
            .field("leeway", &inner.leeway)
            .field("claims", &inner.claims)
            .finish_non_exhaustive()
    }
}

/// The parts of a header that matter.
struct Header {
    alg: String,
    kid: Option<String>,
}

impl JwtVerifier {
    /// A builder for keys from `source`.
    pub fn builder(source: KeySource) -> JwtVerifierBuilder {
        JwtVerifierBuilder::new(source)
    }

    /// The algorithms this verifier accepts.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.inner.allowed
    }

    /// Verifies a token (the bare JWT, without `Bearer `) and returns its Hasura claims.
    pub async fn verify(&self, token: &str) -> Result<HasuraClaims, VerifyError> {
        Ok(self.verify_token(token).await?.claims)
    }

    /// Verifies a token and returns its claims, payload, algorithm and key id.
    ///
    /// Checks, in order: the length; the header (three base64url parts, `alg` in the
    /// allow-list, never `none`); the key (by `kid`; an unknown `kid` refetches the JWKS once,
    /// no more often than the floor allows); the signature, with a key of the algorithm's
    /// kind only; `exp` (required), `nbf` and `iat` against the clock with the leeway; the
    /// issuer and audience when configured; the Hasura claims.
    pub async fn verify_token(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_len {
            return Err(VerifyError::TooLarge {
                len: token.len(),
                max: inner.max_token_len,
            });
        }
        let header = parse_header(token)?;
        let algorithm = match Algorithm::from_name(&header.alg) {
            Some(alg) if inner.allowed.contains(&alg) => alg,
            _ => return Err(VerifyError::AlgorithmNotAllowed(excerpt(&header.alg))),
        };
        let kid = header.kid.as_deref();
        let payload = match &inner.keys {
            Keys::Static(set) => check_with(set.lookup(kid, algorithm, true), token, algorithm)?,
            Keys::Jwks(cache) => {
                let now = || inner.clock.now();
                let first = cache.keys(now).await?;
                match first.keys.lookup(kid, algorithm, false) {
                    Lookup::Unknown => {
                        let second = cache.refetch(first.generation, now).await;
                        match second.keys.lookup(kid, algorithm, false) {
                            Lookup::Unknown => {
                                return Err(match second.last_error {
                                    Some(error) => VerifyError::JwksUnavailable(error),
                                    None => VerifyError::UnknownKey {
                                        kid: kid.map(excerpt),
                                    },
                                });
                            }
                            found => check_with(found, token, algorithm)?,
                        }
                    }
                    found => check_with(found, token, algorithm)?,
                }
            }
        };
        let claims = self.check_claims(&payload)?;
        Ok(VerifiedToken {
            claims,
            payload,
            algorithm,
            key_id: header.kid,
        })
    }

    /// Fetches the JWKS now (when the floor allows), so that the first request does not wait
    /// for it and a wrong URL shows at start-up. Does nothing for a fixed key.
    pub async fn prefetch_keys(&self) -> Result<(), VerifyError> {
        match &self.inner.keys {
            Keys::Static(_) => Ok(()),
            Keys::Jwks(cache) => cache
                .prefetch(|| self.inner.clock.now())
                .await
                .map_err(VerifyError::JwksUnavailable),
        }
    }

    fn check_claims(&self, payload: &Map<String, Value>) -> Result<HasuraClaims, VerifyError> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let leeway = inner.leeway;
        let exp = time_claim(payload, "exp", "`exp` is not a NumericDate")?
            .ok_or(VerifyError::MissingClaim("exp"))?;
        // Saturating: `exp` may be the latest time there is, `nbf`/`iat` the earliest.
        if now >= exp.saturating_add(leeway) {
            return Err(VerifyError::Expired { expired_at: exp });
        }
        for (name, message) in [
            ("nbf", "`nbf` is not a NumericDate"),
            ("iat", "`iat` is not a NumericDate"),
        ] {
            if let Some(at) = time_claim(payload, name, message)? {
                if at.saturating_sub(leeway) > now {
                    return Err(VerifyError::NotYetValid { valid_from: at });
                }
            }
        }
        if !inner.issuers.is_empty() {
            match payload.get("iss") {
                Some(Value::String(iss)) if inner.issuers.iter().any(|i| i == iss) => {}
                Some(Value::String(iss)) => {
                    return Err(VerifyError::IssuerMismatch {
                        found: Some(excerpt(iss)),
                    });
                }
                _ => return Err(VerifyError::IssuerMismatch { found: None }),
            }
        }
        if !inner.audiences.is_empty() {
            let accepted = |aud: &Value| {
                aud.as_str()
                    .is_some_and(|aud| inner.audiences.iter().any(|a| a == aud))
            };
            let ok = match payload.get("aud") {
                Some(Value::Array(items)) => items.iter().any(accepted),
                Some(aud) => accepted(aud),
                None => false,
            };
            if !ok {
                return Err(VerifyError::AudienceMismatch);
            }
        }
        inner.claims.extract(payload).map_err(VerifyError::Claims)
    }
}

/// Reads the header without trusting it: only to pick the algorithm and the key.
fn parse_header(token: &str) -> Result<Header, VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("not three dot-separated parts"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed("the header is not base64url"))?;
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(VerifyError::Malformed("the header is not a JSON object"));
    };
    if fields.contains_key("crit") {
        return Err(VerifyError::Malformed(
            "the header has critical extensions (`crit`), which are not supported",
        ));
    }
    let alg = match fields.remove("alg") {
        Some(Value::String(alg)) => alg,
        _ => return Err(VerifyError::Malformed("the header has no `alg`")),
    };
    let kid = match fields.remove("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid),
        Some(_) => return Err(VerifyError::Malformed("the header's `kid` is not a string")),
    };
    Ok(Header { alg, kid })
}

/// Checks the signature with the keys found, and returns the payload.
fn check_with(
    lookup: Lookup<'_>,
    token: &str,
    algorithm: Algorithm,
) -> Result<Map<String, Value>, VerifyError> {
    let keys: Vec<&VerifyingKey> = match lookup {
        Lookup::Found(keys) => keys,
        Lookup::WrongAlgorithm => {
            return Err(VerifyError::AlgorithmNotAllowed(
                algorithm.name().to_owned(),
            ));
        }
        Lookup::Unknown => return Err(VerifyError::UnknownKey { kid: None }),
    };
    // jsonwebtoken checks the signature (and that the key is of the algorithm's kind); the
    // time and issuer checks are done afterwards against the verifier's clock.
    let mut validation = Validation::new(algorithm.to_jwt());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    for key in keys {
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(error) => match library_error(error.kind(), algorithm) {
                VerifyError::BadSignature => continue,
                other => return Err(other),
            },
        }
    }
    Err(VerifyError::BadSignature)
}

/// A jsonwebtoken error as a [`VerifyError`]; never carries the library's message, which
/// could quote parts of the token.
fn library_error(kind: &ErrorKind, algorithm: Algorithm) -> VerifyError {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey => VerifyError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidAlgorithmName => {
            VerifyError::AlgorithmNotAllowed(algorithm.name().to_owned())
        }
        ErrorKind::Base64(_) => VerifyError::Malformed("a part is not base64url"),
        ErrorKind::Json(_) => VerifyError::Malformed("the payload is not a JSON object"),
        ErrorKind::Utf8(_) => VerifyError::Malformed("a part is not UTF-8"),
        ErrorKind::InvalidToken => VerifyError::Malformed("not three dot-separated parts"),
        _ => VerifyError::Malformed("refused by the JWT library"),
    }
}

/// A NumericDate claim: `None` when absent (or `null`).
fn time_claim(
    payload: &Map<String, Value>,
    name: &str,
    invalid: &'static str,
) -> Result<Option<OffsetDateTime>, VerifyError> {
    let seconds = match payload.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(seconds), _) => seconds,
            (None, Some(seconds)) if seconds.is_finite() && seconds.abs() < 1e15 => {
                seconds.floor() as i64
            }
            _ => return Err(VerifyError::Malformed(invalid)),
        },
        Some(_) => return Err(VerifyError::Malformed(invalid)),
    };
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(Some)
        .map_err(|_| VerifyError::Malformed(invalid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_paths() {
        let path = |p: &str| match ClaimsLocation::parse_path(p) {
            Ok(ClaimsLocation::Path { segments, .. }) => Ok(segments),
            Ok(ClaimsLocation::Key(_)) => Err(()),
            Err(_) => Err(()),
        };
        assert_eq!(path("$"), Ok(vec![]));
        assert_eq!(path("$.a.b"), Ok(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(
            path("$['https://hasura.io/jwt/claims'].x"),
            Ok(vec![
                "https://hasura.io/jwt/claims".to_owned(),
                "x".to_owned()
            ])
        );
        assert_eq!(path("$[\"a.b\"]"), Ok(vec!["a.b".to_owned()]));
        for bad in ["", "a.b", "$.", "$..a", "$['a'", "$[a]", "$x"] {
            assert_eq!(path(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn claims_at_a_path_keep_only_session_variables() {
        let payload: Map<String, Value> = serde_json::from_str(
            r#"{"sub":"u","exp":1,"x-hasura-user-id":"u","x-hasura-default-role":"user",
                "x-hasura-allowed-roles":["user"],"x-hasura-org":"o"}"#,
        )
        .unwrap();
        let root = ClaimsLocation::parse_path("$").unwrap();
        let claims = root.extract(&payload).unwrap();
        assert_eq!(claims.user_id, "u");
        assert_eq!(claims.custom.len(), 1);
        let missing = ClaimsLocation::parse_path("$.nowhere").unwrap();
        assert_eq!(
            missing.extract(&payload),
            Err(ClaimsError::MissingNamespace("$.nowhere".into()))
        );
    }

    #[test]
    fn header_parsing() {
        let enc = |v: &str| URL_SAFE_NO_PAD.encode(v);
        let token = |h: &str| format!("{}.e30.sig", enc(h));
        assert!(matches!(
            parse_header("a.b"),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            parse_header("!!.b.c"),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            parse_header(&token("[]")),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            parse_header(&token("{}")),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            parse_header(&token(r#"{"alg":"RS256","kid":5}"#)),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            parse_header(&token(r#"{"alg":"RS256","crit":["b64"]}"#)),
            Err(VerifyError::Malformed(_))
        ));
        let header = parse_header(&token(r#"{"alg":"RS256","kid":"k"}"#)).unwrap();
        assert_eq!(
            (header.alg.as_str(), header.kid.as_deref()),
            ("RS256", Some("k"))
        );
    }
}
