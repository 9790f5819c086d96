//! Where the verification keys come from, and the key sets built from them.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use serde_json::Value;
use url::Url;

use super::algorithm::{Algorithm, KeyKind};
use super::error::{JwksError, VerifierConfigError};
use crate::auth_url::AuthUrl;
use crate::transport::HttpTransport;

/// The shortest HMAC secret accepted, in bytes (Hasura asks for 32 characters too).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// A JWKS document is never this large.
pub(crate) const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Keys beyond this many in a JWKS are ignored.
const MAX_JWKS_KEYS: usize = 64;

/// A token without a `kid` is tried against at most this many keys.
const MAX_CANDIDATES: usize = 4;

/// Where a [`JwtVerifier`](super::JwtVerifier) gets its keys.
///
/// - [`jwks`](Self::jwks) / [`jwks_url`](Self::jwks_url): the public keys of the auth service's
///   JWKS, fetched through an [`HttpTransport`], cached, and refetched when a token names an
///   unknown `kid` (no more often than the refetch floor);
/// - [`hmac_secret`](Self::hmac_secret): the shared secret of an HS256/384/512 project;
/// - [`public_key_pem`](Self::public_key_pem): one fixed public key.
///
/// `HASURA_GRAPHQL_JWT_SECRET` gives one of these through
/// [`HasuraJwtSecret`](super::HasuraJwtSecret).
#[derive(Clone)]
pub struct KeySource(pub(crate) SourceKind);

#[derive(Clone)]
pub(crate) enum SourceKind {
    Static {
        key: Arc<KeySet>,
        algorithm: Algorithm,
    },
    Jwks {
        url: Url,
        transport: Arc<dyn HttpTransport>,
    },
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SourceKind::Static { algorithm, .. } => f
                .debug_struct("KeySource::Static")
                .field("algorithm", algorithm)
                .finish_non_exhaustive(),
            SourceKind::Jwks { url, .. } => f
                .debug_struct("KeySource::Jwks")
                .field("url", &url.as_str())
                .finish_non_exhaustive(),
        }
    }
}

impl KeySource {
    /// The JWKS of an Nhost auth service: `{auth_url}/.well-known/jwks.json`.
    pub fn jwks(auth_url: &AuthUrl, transport: impl HttpTransport + 'static) -> Self {
        Self(SourceKind::Jwks {
            url: auth_url.endpoint(".well-known/jwks.json"),
            transport: Arc::new(transport),
        })
    }

    /// A JWKS at any `http`/`https` URL (Hasura's `jwk_url`).
    pub fn jwks_url(
        url: &str,
        transport: impl HttpTransport + 'static,
    ) -> Result<Self, VerifierConfigError> {
        Self::jwks_url_shared(url, Arc::new(transport))
    }

    pub(crate) fn jwks_url_shared(
        url: &str,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Self, VerifierConfigError> {
        let url =
            Url::parse(url.trim()).map_err(|e| VerifierConfigError::InvalidUrl(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(VerifierConfigError::InvalidUrl(
                "the JWKS URL must be http or https, with a host".into(),
            ));
        }
        Ok(Self(SourceKind::Jwks { url, transport }))
    }

    /// A shared HMAC secret (the bytes as they are, as Hasura uses its `key`), at least
    /// [`MIN_HMAC_SECRET_LEN`] bytes long, for an `HS256`/`HS384`/`HS512` algorithm.
    pub fn hmac_secret(algorithm: Algorithm, secret: &[u8]) -> Result<Self, VerifierConfigError> {
        if !algorithm.is_symmetric() {
            return Err(VerifierConfigError::Algorithms(format!(
                "{algorithm} does not use a shared secret"
            )));
        }
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(VerifierConfigError::WeakSecret {
                len: secret.len(),
                min: MIN_HMAC_SECRET_LEN,
            });
        }
        let key = DecodingKey::from_secret(secret)
            .map_err(|e| VerifierConfigError::InvalidKey(e.to_string()))?;
        Ok(Self::fixed(algorithm, key))
    }

    /// One public key in PEM (`PUBLIC KEY`, `RSA PUBLIC KEY` or a `CERTIFICATE`), for an RSA,
    /// ECDSA or Ed25519 algorithm.
    pub fn public_key_pem(algorithm: Algorithm, pem: &str) -> Result<Self, VerifierConfigError> {
        let pem = pem.trim().as_bytes();
        let key = match algorithm.kind() {
            KeyKind::Hmac => {
                return Err(VerifierConfigError::Algorithms(format!(
                    "{algorithm} uses a shared secret, not a public key"
                )));
            }
            KeyKind::Rsa => DecodingKey::from_rsa_pem(pem),
            KeyKind::EcP256 | KeyKind::EcP384 => DecodingKey::from_ec_pem(pem),
            KeyKind::Ed25519 => DecodingKey::from_ed_pem(pem),
        }
        .map_err(|e| {
            VerifierConfigError::InvalidKey(format!("not a PEM public key for {algorithm} ({e})"))
        })?;
        Ok(Self::fixed(algorithm, key))
    }

    fn fixed(algorithm: Algorithm, key: DecodingKey) -> Self {
        let key = VerifyingKey {
            kid: None,
            key,
            algorithms: vec![algorithm],
        };
        Self(SourceKind::Static {
            key: Arc::new(KeySet { keys: vec![key] }),
            algorithm,
        })
    }

    /// Whether the keys come from a JWKS.
    pub fn is_jwks(&self) -> bool {
        matches!(self.0, SourceKind::Jwks { .. })
    }
}

/// One key and the algorithms it may verify.
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<String>,
    pub(crate) key: DecodingKey,
    pub(crate) algorithms: Vec<Algorithm>,
}

/// A set of keys: a JWKS, or the one fixed key.
#[derive(Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<VerifyingKey>,
}

/// What a key set holds for a token.
pub(crate) enum Lookup<'a> {
    /// Keys to try, in order.
    Found(Vec<&'a VerifyingKey>),
    /// Keys with the token's `kid` exist, but none can verify its algorithm.
    WrongAlgorithm,
    /// No key fits.
    Unknown,
}

impl KeySet {
    /// The keys for a token with this `kid` and algorithm. With `ignore_kid` (a fixed key), the
    /// token's `kid` does not matter.
    pub(crate) fn lookup(&self, kid: Option<&str>, alg: Algorithm, ignore_kid: bool) -> Lookup<'_> {
        let named: Vec<&VerifyingKey> = match kid {
            Some(kid) if !ignore_kid => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            _ => self.keys.iter().collect(),
        };
        if named.is_empty() {
            return Lookup::Unknown;
        }
        let fitting: Vec<&VerifyingKey> = named
            .into_iter()
            .filter(|k| k.algorithms.contains(&alg))
            .take(MAX_CANDIDATES)
            .collect();
        match (fitting.is_empty(), kid.is_some() || ignore_kid) {
            (false, _) => Lookup::Found(fitting),
            (true, true) => Lookup::WrongAlgorithm,
            (true, false) => Lookup::Unknown,
        }
    }

    /// Reads a JWKS document, keeping the signing keys that can verify one of `allowed`.
    /// `{"keys": null}` (what Nhost answers with a shared secret) is an empty set.
    pub(crate) fn from_jwks(body: &[u8], allowed: &[Algorithm]) -> Result<Self, JwksError> {
        if body.len() > MAX_JWKS_BYTES {
            return Err(JwksError::Invalid("larger than 1 MiB"));
        }
        let document: Value =
            serde_json::from_slice(body).map_err(|_| JwksError::Invalid("not JSON"))?;
        let items = match document.get("keys") {
            Some(Value::Array(items)) => items.as_slice(),
            Some(Value::Null) => &[],
            _ => return Err(JwksError::Invalid("no `keys` array")),
        };
        let mut keys = Vec::new();
        for item in items.iter().take(MAX_JWKS_KEYS) {
            match verifying_key(item, allowed) {
                Some(key) => keys.push(key),
                None => tracing::debug!(
                    kid = item
                        .get("kid")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or(""),
                    "nhost-session: JWKS key skipped (unsupported, not for signing, or not allowed)"
                ),
            }
        }
        Ok(Self { keys })
    }
}

/// A JWK as a verifying key, or `None` when it cannot be one.
fn verifying_key(item: &Value, allowed: &[Algorithm]) -> Option<VerifyingKey> {
    let jwk: Jwk = serde_json::from_value(item.clone()).ok()?;
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    if let Some(ops) = &jwk.common.key_operations {
        if !ops.iter().any(|op| matches!(op, KeyOperations::Verify)) {
            return None;
        }
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => KeyKind::EcP256,
            EllipticCurve::P384 => KeyKind::EcP384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => KeyKind::Ed25519,
            _ => return None,
        },
        // A shared secret has no place in a public document; never let it verify.
        AlgorithmParameters::OctetKey(_) | AlgorithmParameters::Other(_) => return None,
        _ => return None,
    };
    let declared = match &jwk.common.key_algorithm {
        Some(alg) => Some(Algorithm::from_name(&alg.to_string())?),
        None => None,
    };
    let algorithms: Vec<Algorithm> = kind
        .algorithms()
        .filter(|alg| declared.is_none_or(|d| d == *alg) && allowed.contains(alg))
        .collect();
    if algorithms.is_empty() {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(VerifyingKey {
        kid: jwk.common.key_id.clone(),
        key,
        algorithms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_JWK: &str = r#"{"alg":"RS256","e":"AQAB","kid":"k1","kty":"RSA","use":"sig",
        "n":"u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"}"#;

    #[test]
    fn jwks_keeps_signing_keys_of_allowed_algorithms_only() {
        let doc = format!(
            r#"{{"keys":[{RSA_JWK},
              {{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","kid":"hmac"}},
              {{"kty":"RSA","use":"enc","kid":"enc","e":"AQAB","n":"AQAB"}},
              {{"kty":"weird"}}]}}"#
        );
        let set = KeySet::from_jwks(doc.as_bytes(), &Algorithm::ASYMMETRIC).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("k1"));
        assert_eq!(set.keys[0].algorithms.len(), 1);
        assert!(matches!(
            set.lookup(Some("k1"), Algorithm::Rs256, false),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.lookup(Some("k1"), Algorithm::Hs256, false),
            Lookup::WrongAlgorithm
        ));
        assert!(matches!(
            set.lookup(Some("k1"), Algorithm::Ps256, false),
            Lookup::WrongAlgorithm
        ));
        assert!(matches!(
            set.lookup(Some("zz"), Algorithm::Rs256, false),
            Lookup::Unknown
        ));
        assert!(matches!(
            set.lookup(None, Algorithm::Rs256, false),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.lookup(None, Algorithm::Es256, false),
            Lookup::Unknown
        ));

        let only_es = KeySet::from_jwks(doc.as_bytes(), &[Algorithm::Es256]).unwrap();
        assert!(only_es.keys.is_empty());
    }

    #[test]
    fn null_keys_is_an_empty_set_and_garbage_is_an_error() {
        assert!(
            KeySet::from_jwks(br#"{"keys":null}"#, &Algorithm::ALL)
                .unwrap()
                .keys
                .is_empty()
        );
        assert!(matches!(
            KeySet::from_jwks(b"<html>", &Algorithm::ALL),
            Err(JwksError::Invalid(_))
        ));
        assert!(matches!(
            KeySet::from_jwks(b"{}", &Algorithm::ALL),
            Err(JwksError::Invalid(_))
        ));
    }

    #[test]
    fn fixed_keys_check_their_algorithm_and_strength() {
        assert!(matches!(
            KeySource::hmac_secret(Algorithm::Hs256, b"short"),
            Err(VerifierConfigError::WeakSecret { len: 5, min: 32 })
        ));
        assert!(matches!(
            KeySource::hmac_secret(Algorithm::Rs256, &[7; 40]),
            Err(VerifierConfigError::Algorithms(_))
        ));
        assert!(matches!(
            KeySource::public_key_pem(Algorithm::Hs256, "x"),
            Err(VerifierConfigError::Algorithms(_))
        ));
        assert!(matches!(
            KeySource::public_key_pem(Algorithm::Rs256, "not a pem"),
            Err(VerifierConfigError::InvalidKey(_))
        ));
        assert!(KeySource::hmac_secret(Algorithm::Hs256, &[7; 32]).is_ok());
    }
}
