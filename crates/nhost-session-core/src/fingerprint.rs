//! Fingerprints of tokens: what to keep instead of a token when only its identity matters.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::secret::RefreshToken;

/// The first 128 bits of a token's SHA-256: enough to tell tokens apart, useless to an attacker
/// who reads it (refresh tokens are random UUIDs, so the hash cannot be reversed by guessing).
///
/// Caches and coordination keys use fingerprints so that no token value sits in a map, a log or
/// a Redis key. `Display` prints it as hex, which is safe to log.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenFingerprint([u8; 16]);

impl TokenFingerprint {
    /// The fingerprint of a refresh token.
    pub fn of(token: &RefreshToken) -> Self {
        Self::of_bytes(token.expose_secret().as_bytes())
    }

    /// The fingerprint of any secret bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenFingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_distinct_and_not_the_token() {
        let a = RefreshToken::new("2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24");
        let b = RefreshToken::new("2c35b6f3-c4b9-48e3-978a-d4d0f1d42e25");
        assert_eq!(TokenFingerprint::of(&a), TokenFingerprint::of(&a.clone()));
        assert_ne!(TokenFingerprint::of(&a), TokenFingerprint::of(&b));
        let hex = TokenFingerprint::of(&a).to_string();
        assert_eq!(hex.len(), 32);
        assert!(!hex.contains("2c35b6f3"));
    }
}
