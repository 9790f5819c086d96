//! Encryption of the values stored in Redis: XChaCha20-Poly1305 with a random 24-byte nonce per
//! value and the key's name as associated data.

use std::fmt;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use nhost_session_core::ConfigError;

/// The length of an [`EncryptionKey`] in bytes.
pub const KEY_LEN: usize = 32;

/// The first byte of every stored value: the format (version 1: XChaCha20-Poly1305).
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The 256-bit key that encrypts and authenticates what the coordinator stores in Redis
/// (values hold refresh tokens and JWTs). Every instance that shares a Redis must use the
/// same key. Generate one with `openssl rand -base64 32` or [`EncryptionKey::generate`].
///
/// Weak keys are refused: the wrong length, a key with few distinct bytes (`000…`,
/// `abab…`), or one made only of printable characters (a password pasted as a key).
/// `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct EncryptionKey([u8; KEY_LEN]);

impl EncryptionKey {
    /// A key from 32 raw bytes.
    ///
    /// # Errors
    /// When the key is weak (see the type's documentation).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<Self, ConfigError> {
        let mut seen = [false; 256];
        for byte in bytes {
            seen[usize::from(byte)] = true;
        }
        let distinct = seen.iter().filter(|s| **s).count();
        if distinct < 16 {
            return Err(ConfigError::Invalid(
                "the Redis encryption key is weak (too few distinct bytes): use 32 random bytes"
                    .into(),
            ));
        }
        if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Err(ConfigError::Invalid(
                "the Redis encryption key looks like text, not 32 random bytes (give it in \
                 base64 or hex)"
                    .into(),
            ));
        }
        Ok(Self(bytes))
    }

    /// A key from standard base64 (with or without padding) of 32 bytes, such as the output
    /// of `openssl rand -base64 32`. Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// When the text is not base64 of exactly 32 bytes, or the key is weak.
    pub fn from_base64(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| ConfigError::Invalid("the Redis encryption key is not base64".into()))?;
        Self::from_slice(&decoded)
    }

    /// A key from 64 hexadecimal digits, such as the output of `openssl rand -hex 32`.
    /// Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// When the text is not 64 hex digits, or the key is weak.
    pub fn from_hex(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim().as_bytes();
        if text.len() != KEY_LEN * 2 {
            return Err(ConfigError::Invalid(format!(
                "the Redis encryption key must be {} hex digits",
                KEY_LEN * 2
            )));
        }
        let mut bytes = [0u8; KEY_LEN];
        for (out, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            match (hex_digit(pair[0]), hex_digit(pair[1])) {
                (Some(high), Some(low)) => *out = high << 4 | low,
                _ => {
                    return Err(ConfigError::Invalid(
                        "the Redis encryption key is not hexadecimal".into(),
                    ));
                }
            }
        }
        Self::from_bytes(bytes)
    }

    /// A key in base64 or hex (64 hex digits are read as hex, anything else as base64).
    ///
    /// # Errors
    /// As [`from_base64`](Self::from_base64) and [`from_hex`](Self::from_hex).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let trimmed = text.trim();
        if trimmed.len() == KEY_LEN * 2 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::from_hex(trimmed)
        } else {
            Self::from_base64(trimmed)
        }
    }

    /// A new random key from the operating system's generator.
    ///
    /// # Errors
    /// When the operating system has no random numbers to give.
    pub fn generate() -> Result<Self, ConfigError> {
        loop {
            let mut bytes = [0u8; KEY_LEN];
            getrandom::fill(&mut bytes).map_err(|e| {
                ConfigError::Invalid(format!("no random numbers for a Redis encryption key: {e}"))
            })?;
            // A random key is refused as weak with a probability below 2^-40; draw again.
            if let Ok(key) = Self::from_bytes(bytes) {
                return Ok(key);
            }
        }
    }

    /// The key as standard base64 (to print it once, for a demo, or to store it).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    fn from_slice(bytes: &[u8]) -> Result<Self, ConfigError> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            ConfigError::Invalid(format!(
                "the Redis encryption key must be {KEY_LEN} bytes, not {}",
                bytes.len()
            ))
        })?;
        Self::from_bytes(bytes)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Why a stored value could not be opened. Carries no detail: a value that fails to open
/// is treated as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Too short, or an unknown format.
    Malformed,
    /// The tag does not match: another key, another key name, or tampering.
    Unauthentic,
}

/// Seals and opens values; the key name is the associated data, so a value moved to another
/// key (or written under another prefix) does not open.
#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub(crate) fn new(key: &EncryptionKey) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.0.into()),
        }
    }

    /// `1 ‖ nonce ‖ ciphertext ‖ tag`.
    pub(crate) fn seal(&self, key_name: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError)?;
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: key_name.as_bytes(),
                },
            )
            .map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub(crate) fn open(&self, key_name: &str, value: &[u8]) -> Result<Vec<u8>, OpenError> {
        let Some((&FORMAT_V1, rest)) = value.split_first() else {
            return Err(OpenError::Malformed);
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: key_name.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Unauthentic)
    }
}

/// The operating system gave no random nonce (never seen in practice).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealError;

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EncryptionKey {
        EncryptionKey::generate().unwrap()
    }

    #[test]
    fn values_round_trip_only_under_their_key_name_and_key() {
        let k = key();
        let sealer = Sealer::new(&k);
        let sealed = sealer.seal("p:s:abc", b"refresh-token-here").unwrap();
        assert_eq!(
            sealer.open("p:s:abc", &sealed).unwrap(),
            b"refresh-token-here"
        );
        assert!(!sealed.windows(7).any(|w| w == b"refresh"));
        assert_eq!(
            sealer.open("p:s:abd", &sealed),
            Err(OpenError::Unauthentic),
            "moved to another key"
        );
        let other = Sealer::new(&key());
        assert_eq!(other.open("p:s:abc", &sealed), Err(OpenError::Unauthentic));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            sealer.open("p:s:abc", &tampered),
            Err(OpenError::Unauthentic)
        );
        assert_eq!(sealer.open("p:s:abc", b""), Err(OpenError::Malformed));
        assert_eq!(
            sealer.open("p:s:abc", &[1, 2, 3]),
            Err(OpenError::Malformed)
        );
        assert_eq!(
            sealer.open("p:s:abc", &sealed[..20]),
            Err(OpenError::Malformed)
        );
        // A fresh nonce each time.
        assert_ne!(
            sealer.seal("p:s:abc", b"x").unwrap(),
            sealer.seal("p:s:abc", b"x").unwrap()
        );
    }

    #[test]
    fn keys_parse_from_base64_and_hex_and_weak_ones_are_refused() {
        let k = key();
        let b64 = k.to_base64();
        assert_eq!(EncryptionKey::from_base64(&b64).unwrap().0, k.0);
        assert_eq!(EncryptionKey::parse(&format!(" {b64}\n")).unwrap().0, k.0);
        let hex: String = k.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(EncryptionKey::from_hex(&hex).unwrap().0, k.0);
        assert_eq!(EncryptionKey::parse(&hex.to_uppercase()).unwrap().0, k.0);

        assert!(EncryptionKey::from_bytes([0; 32]).is_err());
        let mut pattern = [0u8; 32];
        for (i, b) in pattern.iter_mut().enumerate() {
            *b = (i % 4) as u8;
        }
        assert!(EncryptionKey::from_bytes(pattern).is_err());
        assert!(EncryptionKey::from_bytes(*b"correct horse battery staple!!!!").is_err());
        assert!(EncryptionKey::from_base64("c2hvcnQ=").is_err(), "short");
        assert!(EncryptionKey::from_base64("not base64 at all!").is_err());
        assert!(EncryptionKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(EncryptionKey::from_hex("abcd").is_err());
        let long = base64::engine::general_purpose::STANDARD.encode([7u8; 48]);
        assert!(EncryptionKey::from_base64(&long).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let k = key();
        let text = format!("{k:?}");
        assert_eq!(text, "EncryptionKey([redacted])");
        assert!(!text.contains(&k.to_base64()));
    }
}
