//! TOTP (RFC 6238) as the real server configures it: base32 secrets, HMAC-SHA1, 6 digits,
//! 30-second steps, and one step of tolerance either way.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha1::Sha1;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const STEP_SECS: u64 = 30;
const DIGITS: u32 = 6;

/// Encodes bytes as unpadded RFC 4648 base32.
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32 (any case, `=` padding and spaces ignored); `None` on a foreign character.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes() {
        if c == b'=' || c == b' ' {
            continue;
        }
        let value = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// A new random secret: 20 bytes, 32 base32 characters.
pub(crate) fn generate_secret() -> String {
    let mut bytes = [0u8; 20];
    crate::random::fill(&mut bytes);
    base32_encode(&bytes)
}

fn code_for_step(key: &[u8], step: u64) -> Option<String> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).ok()?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.last()? & 0x0f);
    let chunk: [u8; 4] = digest.get(offset..offset + 4)?.try_into().ok()?;
    let binary = u32::from_be_bytes(chunk) & 0x7fff_ffff;
    Some(format!("{:06}", binary % 10u32.pow(DIGITS)))
}

/// The 6-digit code for a base32 `secret` at Unix time `unix_secs`; `None` when the secret is
/// not base32.
pub fn code_at(secret: &str, unix_secs: u64) -> Option<String> {
    let key = base32_decode(secret)?;
    code_for_step(&key, unix_secs / STEP_SECS)
}

/// The code for `secret` at `time` (for example the fake clock's [`crate::FakeClock::now`]).
pub fn code_at_time(secret: &str, time: SystemTime) -> Option<String> {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    code_at(secret, secs)
}

/// Whether `code` is valid for `secret` at `unix_secs`, one 30-second step either way.
pub(crate) fn verify(secret: &str, code: &str, unix_secs: u64) -> bool {
    let Some(key) = base32_decode(secret) else {
        return false;
    };
    let step = unix_secs / STEP_SECS;
    [step.saturating_sub(1), step, step + 1]
        .iter()
        .filter_map(|&s| code_for_step(&key, s))
        .any(|expected| expected == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips() {
        let bytes = b"12345678901234567890";
        let text = base32_encode(bytes);
        assert_eq!(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode(&text).as_deref(), Some(&bytes[..]));
        assert_eq!(base32_decode("not base32!"), None);
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA1, truncated to 6 digits.
        let secret = base32_encode(b"12345678901234567890");
        assert_eq!(code_at(&secret, 59).as_deref(), Some("287082"));
        assert_eq!(code_at(&secret, 1_111_111_109).as_deref(), Some("081804"));
        assert_eq!(code_at(&secret, 2_000_000_000).as_deref(), Some("279037"));
    }

    #[test]
    fn verify_allows_one_step_of_skew() {
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap_or_default();
        assert!(verify(&secret, &code, now));
        assert!(verify(&secret, &code, now + 30));
        assert!(!verify(&secret, &code, now + 90));
    }
}
