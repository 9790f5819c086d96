//! The fixed test keys that sign access tokens, and the JWKS built from them.
//!
//! These keys are public (they are committed in `keys/`): a token they sign proves nothing
//! outside tests.

use std::sync::RwLock;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};

use crate::config::JwtAlgorithm;
use crate::lock::{read, write};

/// The HS256 secret (what `HASURA_GRAPHQL_JWT_SECRET`'s `key` holds in HS256 mode).
pub const HS256_SECRET: &str = "nhost-session-testkit-hs256-secret-never-use-it-in-production";

/// The `kid` of the key that signs at start-up.
pub const PRIMARY_KID: &str = "nhost-testkit-rs256-1";
/// The `kid` of the key that [`crate::FakeAuthServer::rotate_signing_key`] switches to.
pub const SECONDARY_KID: &str = "nhost-testkit-rs256-2";

/// Private key (PKCS#8 PEM) of the start-up signing key.
pub const PRIMARY_PRIVATE_KEY_PEM: &str = include_str!("../keys/rs256-primary.key.pem");
/// Public key (SPKI PEM) of the start-up signing key.
pub const PRIMARY_PUBLIC_KEY_PEM: &str = include_str!("../keys/rs256-primary.pub.pem");
/// Private key (PKCS#8 PEM) of the second signing key.
pub const SECONDARY_PRIVATE_KEY_PEM: &str = include_str!("../keys/rs256-secondary.key.pem");
/// Public key (SPKI PEM) of the second signing key.
pub const SECONDARY_PUBLIC_KEY_PEM: &str = include_str!("../keys/rs256-secondary.pub.pem");

/// One RSA signing key with everything derived from it.
struct RsaKey {
    kid: &'static str,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

impl RsaKey {
    fn load(
        kid: &'static str,
        private_pem: &str,
        public_pem: &str,
    ) -> jsonwebtoken::errors::Result<Self> {
        let encoding = EncodingKey::from_rsa_pem(private_pem.as_bytes())?;
        let decoding = DecodingKey::from_rsa_pem(public_pem.as_bytes())?;
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)?;
        let components = serde_json::to_value(&jwk).unwrap_or(Value::Null);
        // The real server's JWK: exactly alg, e, kid, kty, n, use.
        let jwk = json!({
            "alg": "RS256",
            "e": components.get("e").cloned().unwrap_or(Value::Null),
            "kid": kid,
            "kty": "RSA",
            "n": components.get("n").cloned().unwrap_or(Value::Null),
            "use": "sig",
        });
        Ok(Self {
            kid,
            encoding,
            decoding,
            jwk,
        })
    }
}

/// Which keys sign and which verify.
enum Keys {
    Hmac {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
    Rsa {
        keys: [RsaKey; 2],
    },
}

/// RSA rotation state: which key signs, and whether the second one was ever published.
#[derive(Clone, Copy, Debug, Default)]
struct Rotation {
    signing: usize,
    rotated: bool,
}

/// The signing keys of one server.
pub(crate) struct KeyRing {
    keys: Keys,
    rotation: RwLock<Rotation>,
}

/// The key to sign one token with.
pub(crate) struct Signer<'a> {
    pub(crate) algorithm: Algorithm,
    pub(crate) kid: Option<&'static str>,
    pub(crate) key: &'a EncodingKey,
}

impl KeyRing {
    pub(crate) fn new(algorithm: JwtAlgorithm) -> jsonwebtoken::errors::Result<Self> {
        // Pick the pure-Rust backend explicitly, so that another crate enabling a second
        // backend through feature unification cannot make jsonwebtoken panic.
        let _already_chosen = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let keys = match algorithm {
            JwtAlgorithm::Hs256 => Keys::Hmac {
                encoding: EncodingKey::from_secret(HS256_SECRET.as_bytes())?,
                decoding: DecodingKey::from_secret(HS256_SECRET.as_bytes())?,
            },
            JwtAlgorithm::Rs256 => Keys::Rsa {
                keys: [
                    RsaKey::load(PRIMARY_KID, PRIMARY_PRIVATE_KEY_PEM, PRIMARY_PUBLIC_KEY_PEM)?,
                    RsaKey::load(
                        SECONDARY_KID,
                        SECONDARY_PRIVATE_KEY_PEM,
                        SECONDARY_PUBLIC_KEY_PEM,
                    )?,
                ],
            },
        };
        Ok(Self {
            keys,
            rotation: RwLock::new(Rotation::default()),
        })
    }

    pub(crate) fn signer(&self) -> Signer<'_> {
        match &self.keys {
            Keys::Hmac { encoding, .. } => Signer {
                algorithm: Algorithm::HS256,
                kid: None,
                key: encoding,
            },
            Keys::Rsa { keys } => {
                let key = &keys[read(&self.rotation).signing % 2];
                Signer {
                    algorithm: Algorithm::RS256,
                    kid: Some(key.kid),
                    key: &key.encoding,
                }
            }
        }
    }

    /// The key that verifies a token with this header `kid`, among the published ones.
    /// HS256 ignores the kid; RS256 without a kid tries the current signing key.
    pub(crate) fn verifier(&self, kid: Option<&str>) -> Option<(Algorithm, &DecodingKey)> {
        match &self.keys {
            Keys::Hmac { decoding, .. } => Some((Algorithm::HS256, decoding)),
            Keys::Rsa { keys } => {
                let rotation = *read(&self.rotation);
                let published = |i: usize| i == rotation.signing % 2 || rotation.rotated;
                let index = match kid {
                    Some(kid) => keys.iter().position(|k| k.kid == kid)?,
                    None => rotation.signing % 2,
                };
                published(index).then(|| (Algorithm::RS256, &keys[index].decoding))
            }
        }
    }

    /// Switches signing to the other RSA key and publishes both. Returns the new `kid`, or
    /// `None` with HS256 (nothing to rotate).
    pub(crate) fn rotate(&self) -> Option<&'static str> {
        match &self.keys {
            Keys::Hmac { .. } => None,
            Keys::Rsa { keys } => {
                let mut rotation = write(&self.rotation);
                rotation.signing = (rotation.signing + 1) % 2;
                rotation.rotated = true;
                Some(keys[rotation.signing].kid)
            }
        }
    }

    /// Back to the start-up key, with only it published.
    pub(crate) fn reset(&self) {
        *write(&self.rotation) = Rotation::default();
    }

    /// The JWKS document: the signing key first, then the other one once published;
    /// `{"keys":null}` with HS256, as the real server answers.
    pub(crate) fn jwks(&self) -> Value {
        match &self.keys {
            Keys::Hmac { .. } => json!({ "keys": null }),
            Keys::Rsa { keys } => {
                let rotation = *read(&self.rotation);
                let signing = rotation.signing % 2;
                let mut list = vec![keys[signing].jwk.clone()];
                if rotation.rotated {
                    list.push(keys[(signing + 1) % 2].jwk.clone());
                }
                json!({ "keys": list })
            }
        }
    }

    /// The public key PEM of the current signing key (`None` with HS256).
    pub(crate) fn current_public_pem(&self) -> Option<&'static str> {
        match &self.keys {
            Keys::Hmac { .. } => None,
            Keys::Rsa { .. } => Some(if read(&self.rotation).signing.is_multiple_of(2) {
                PRIMARY_PUBLIC_KEY_PEM
            } else {
                SECONDARY_PUBLIC_KEY_PEM
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn jwks_lists_the_signing_key_then_both_after_rotation() {
        let ring = KeyRing::new(JwtAlgorithm::Rs256).unwrap();
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["kid"], PRIMARY_KID);
        assert_eq!(keys[0]["e"], "AQAB");
        assert!(ring.verifier(Some(SECONDARY_KID)).is_none());

        assert_eq!(ring.rotate(), Some(SECONDARY_KID));
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["kid"], SECONDARY_KID);
        assert!(ring.verifier(Some(PRIMARY_KID)).is_some());
        assert_eq!(ring.signer().kid, Some(SECONDARY_KID));

        ring.reset();
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn hs256_has_no_jwks() {
        let ring = KeyRing::new(JwtAlgorithm::Hs256).unwrap();
        assert_eq!(ring.jwks(), json!({ "keys": null }));
        assert!(ring.rotate().is_none());
        assert!(ring.signer().kid.is_none());
    }
}
