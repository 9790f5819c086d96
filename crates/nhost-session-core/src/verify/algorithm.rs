//! The signature algorithms a verifier may accept.

use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm. `none` is not one: an unsigned token is never accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 (a shared secret; Nhost's default).
    Hs256,
    /// HMAC with SHA-384.
    Hs384,
    /// HMAC with SHA-512.
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Nhost with RSA keys and a JWKS).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// Ed25519 (`EdDSA`; Hasura calls it `Ed25519`).
    EdDsa,
}

/// The kind of key an algorithm needs: a token may only be verified by a key of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Hmac,
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Self; 12] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
    ];

    /// The algorithms that verify with a public key (everything but HMAC).
    pub const ASYMMETRIC: [Self; 9] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::EdDsa,
    ];

    /// The name in a JWT header (`RS256`, `EdDSA`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this header name, matched exactly (`none` and unknown names give
    /// `None`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// Whether the algorithm uses a shared secret (HMAC).
    pub fn is_symmetric(self) -> bool {
        self.kind() == KeyKind::Hmac
    }

    pub(crate) fn kind(self) -> KeyKind {
        match self {
            Self::Hs256 | Self::Hs384 | Self::Hs512 => KeyKind::Hmac,
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                KeyKind::Rsa
            }
            Self::Es256 => KeyKind::EcP256,
            Self::Es384 => KeyKind::EcP384,
            Self::EdDsa => KeyKind::Ed25519,
        }
    }

    pub(crate) fn to_jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Self::Hs256 => J::HS256,
            Self::Hs384 => J::HS384,
            Self::Hs512 => J::HS512,
            Self::Rs256 => J::RS256,
            Self::Rs384 => J::RS384,
            Self::Rs512 => J::RS512,
            Self::Ps256 => J::PS256,
            Self::Ps384 => J::PS384,
            Self::Ps512 => J::PS512,
            Self::Es256 => J::ES256,
            Self::Es384 => J::ES384,
            Self::EdDsa => J::EdDSA,
        }
    }
}

impl KeyKind {
    /// The algorithms a key of this kind can verify.
    pub(crate) fn algorithms(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| alg.kind() == self)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an [`Algorithm`] name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a supported JWT algorithm")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Parses a header name (`RS256`, …); Hasura's `Ed25519` is accepted for [`Algorithm::EdDsa`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Ed25519" => Ok(Self::EdDsa),
            _ => Self::from_name(s).ok_or_else(|| UnknownAlgorithm(super::error::excerpt(s))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(alg.to_string().parse::<Algorithm>(), Ok(alg));
        }
        for bad in ["none", "None", "NONE", "rs256", ""] {
            assert_eq!(Algorithm::from_name(bad), None);
        }
        assert_eq!("Ed25519".parse::<Algorithm>(), Ok(Algorithm::EdDsa));
        assert!(Algorithm::ASYMMETRIC.iter().all(|a| !a.is_symmetric()));
        assert_eq!(KeyKind::Rsa.algorithms().count(), 6);
    }
}
