//! Randomness for tokens, codes and secrets.

use uuid::Uuid;

/// Fills `buf` with OS randomness. Should the OS source ever fail, falls back to bytes of a v4
/// UUID (which has its own source), so that a test never dies for want of entropy.
pub(crate) fn fill(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        for chunk in buf.chunks_mut(16) {
            let bytes = Uuid::new_v4().into_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// A 6-digit one-time code, zero-padded.
pub(crate) fn digits6() -> String {
    let mut bytes = [0u8; 4];
    fill(&mut bytes);
    format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000)
}

/// A random URL-safe string of 32 bytes of entropy (authorization codes, OAuth state).
pub(crate) fn url_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
