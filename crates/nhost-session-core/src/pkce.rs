//! PKCE (RFC 7636) for provider sign-in on newer servers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::ConfigError;
use crate::secret::SecretString;

/// A PKCE verifier and its S256 challenge.
///
/// Send the challenge with the provider sign-in URL; keep the verifier (for example in a
/// short-lived, HttpOnly cookie) and give it to
/// [`AuthClient::complete_redirect`](crate::AuthClient::complete_redirect) when the redirect
/// comes back with `?code=`.
///
/// ```
/// use nhost_session_core::Pkce;
///
/// let pkce = Pkce::generate().unwrap();
/// assert_eq!(pkce.verifier().expose_secret().len(), 43);
/// assert_eq!(Pkce::from_verifier(pkce.verifier().clone()).challenge(), pkce.challenge());
/// ```
#[derive(Clone, Debug)]
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl Pkce {
    /// A new random verifier (32 bytes from the system's random source, base64url: 43
    /// characters).
    pub fn generate() -> Result<Self, ConfigError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ConfigError::Invalid(format!("the system's random source failed: {e}")))?;
        Ok(Self::from_verifier(SecretString::new(
            URL_SAFE_NO_PAD.encode(bytes),
        )))
    }

    /// The pair for a known verifier.
    pub fn from_verifier(verifier: SecretString) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }

    /// The verifier: keep it secret until the code exchange.
    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// The S256 challenge, safe to put in a URL.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b_vector() {
        let pkce = Pkce::from_verifier(SecretString::new(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_differ() {
        let a = Pkce::generate().unwrap();
        let b = Pkce::generate().unwrap();
        assert_ne!(a.verifier(), b.verifier());
    }
}
