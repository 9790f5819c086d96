//! The project's own format: one compact, versioned cookie without the JWT.
//!
//! The value is base64url (no padding) of a small JSON object:
//! `{"v":1,"rt":"<refresh token>","id":"<refresh token id>","exp":<unix seconds>}`, with `id`
//! left out when empty and `exp` (the access token's expiry) when unknown. Signed or encrypted
//! with the `cookie` crate's jars when configured. Following Nhost's SSR design, the JWT is
//! not stored: a request restored from the cookie refreshes once, and a fresh JWT lives in
//! memory.

use std::borrow::Cow;

use base64::DecodeSliceError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nhost_session_core::{RefreshToken, StoredTokens};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::chunking;
use crate::config::{CookieConfig, Protection};
use crate::error::CookieError;
use crate::request::RequestCookies;
use crate::set_cookie::{Attributes, SetCookie, removals};

/// The version this crate writes.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Payload<'a> {
    v: u32,
    // Borrowed from the decoded JSON when it has no escapes (always, as written here).
    #[serde(borrow)]
    rt: Cow<'a, str>,
    #[serde(default, borrow, skip_serializing_if = "str::is_empty")]
    id: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

/// The cookie value for `tokens`, before protection.
fn encode(tokens: &StoredTokens) -> Result<String, CookieError> {
    let payload = Payload {
        v: VERSION,
        rt: Cow::Borrowed(tokens.refresh_token.expose_secret()),
        id: Cow::Borrowed(&tokens.refresh_token_id),
        exp: tokens
            .access_token_expires_at
            .map(OffsetDateTime::unix_timestamp),
    };
    let json = serde_json::to_vec(&payload).map_err(|e| CookieError::Serialize(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Decoded JSON of a value this small stays on the stack; larger ones (not written by this
/// crate) go to the heap.
const STACK_JSON_BYTES: usize = 512;

/// Decodes a cookie value (after protection was removed) and hands its checked payload to
/// `use_payload`; the error says why the value is not one.
fn decode_with<T>(
    value: &str,
    use_payload: impl FnOnce(Payload<'_>, Option<OffsetDateTime>) -> T,
) -> Result<T, &'static str> {
    let base64 = value.trim_end_matches('=');
    let mut stack = [0u8; STACK_JSON_BYTES];
    let heap: Vec<u8>;
    let json = match URL_SAFE_NO_PAD.decode_slice(base64, &mut stack) {
        Ok(len) => stack.get(..len).ok_or("not base64url")?,
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            heap = URL_SAFE_NO_PAD
                .decode(base64)
                .map_err(|_| "not base64url")?;
            &heap
        }
        Err(DecodeSliceError::DecodeError(_)) => return Err("not base64url"),
    };
    let payload: Payload = serde_json::from_slice(json).map_err(|_| "not the expected JSON")?;
    if payload.v != VERSION {
        return Err("unsupported version");
    }
    if payload.rt.trim().is_empty() {
        return Err("empty refresh token");
    }
    let expires_at = match payload.exp {
        Some(seconds) => {
            Some(OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| "expiry out of range")?)
        }
        None => None,
    };
    Ok(use_payload(payload, expires_at))
}

/// The tokens in a cookie value (after protection was removed); the error says why not.
fn decode(value: &str) -> Result<StoredTokens, &'static str> {
    decode_with(value, |payload, expires_at| StoredTokens {
        refresh_token: RefreshToken::new(payload.rt.as_ref()),
        refresh_token_id: payload.id.into_owned(),
        access_token_expires_at: expires_at,
        access_token: None,
        user: None,
    })
}

impl Protection {
    /// Signs or encrypts `value` for the cookie `name` (the name is bound to the value).
    #[cfg_attr(
        not(any(feature = "signed", feature = "private")),
        allow(unused_variables)
    )]
    fn protect(&self, name: &str, value: String) -> String {
        match self {
            Self::None => value,
            #[cfg(feature = "signed")]
            Self::Signed(key) => {
                let mut jar = cookie::CookieJar::new();
                jar.signed_mut(key)
                    .add(cookie::Cookie::new(name.to_owned(), value));
                jar.get(name)
                    .map(|c| c.value().to_owned())
                    .unwrap_or_default()
            }
            #[cfg(feature = "private")]
            Self::Private(key) => {
                let mut jar = cookie::CookieJar::new();
                jar.private_mut(key)
                    .add(cookie::Cookie::new(name.to_owned(), value));
                jar.get(name)
                    .map(|c| c.value().to_owned())
                    .unwrap_or_default()
            }
        }
    }

    /// Checks and removes the protection; `None` when the value was tampered with or made
    /// with another key.
    #[cfg_attr(
        not(any(feature = "signed", feature = "private")),
        allow(unused_variables)
    )]
    fn unprotect<'a>(&self, name: &str, value: &'a str) -> Option<Cow<'a, str>> {
        match self {
            Self::None => Some(Cow::Borrowed(value)),
            #[cfg(feature = "signed")]
            Self::Signed(key) => cookie::CookieJar::new()
                .signed(key)
                .verify(cookie::Cookie::new(name.to_owned(), value.to_owned()))
                .map(|c| Cow::Owned(c.value().to_owned())),
            #[cfg(feature = "private")]
            Self::Private(key) => cookie::CookieJar::new()
                .private(key)
                .decrypt(cookie::Cookie::new(name.to_owned(), value.to_owned()))
                .map(|c| Cow::Owned(c.value().to_owned())),
        }
    }
}

pub(crate) fn read(config: &CookieConfig, cookies: &RequestCookies) -> Option<StoredTokens> {
    read_with(config, cookies, decode)
}

/// Only the refresh token of the session cookie: what a server needs on every request, without
/// copying the rest.
pub(crate) fn read_refresh_token(
    config: &CookieConfig,
    cookies: &RequestCookies,
) -> Option<RefreshToken> {
    read_with(config, cookies, |plain| {
        decode_with(plain, |payload, _| RefreshToken::new(payload.rt.as_ref()))
    })
}

/// Finds the cookie (or its chunks), removes its protection and decodes it with `decode`;
/// `None`, with a warning, when any step fails.
fn read_with<T>(
    config: &CookieConfig,
    cookies: &RequestCookies,
    decode: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Option<T> {
    let name = &config.name;
    let value = match cookies.get(name) {
        Some(value) => Cow::Borrowed(value),
        None => Cow::Owned(chunking::join(cookies, name)?),
    };
    let Some(plain) = config.protection.unprotect(name, &value) else {
        tracing::warn!(cookie = %name, "session cookie failed its signature or decryption check; ignored");
        return None;
    };
    match decode(&plain) {
        Ok(decoded) => Some(decoded),
        Err(reason) => {
            tracing::warn!(cookie = %name, reason, "session cookie cannot be decoded; ignored");
            None
        }
    }
}

pub(crate) fn write(
    config: &CookieConfig,
    tokens: &StoredTokens,
    now: OffsetDateTime,
    request: &RequestCookies,
) -> Result<Vec<SetCookie>, CookieError> {
    let value = config.protection.protect(&config.name, encode(tokens)?);
    chunking::write(
        &Attributes::of(config),
        &config.name,
        &value,
        now,
        config.max_age,
        request,
    )
}

pub(crate) fn remove(config: &CookieConfig, request: &RequestCookies) -> Vec<SetCookie> {
    let chunks: Vec<String> = (0..chunking::MAX_CHUNKS)
        .map(|index| chunking::chunk_name(&config.name, index))
        .filter(|name| request.contains(name))
        .collect();
    removals(
        &Attributes::of(config),
        std::iter::once(config.name.as_str()).chain(chunks.iter().map(String::as_str)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> StoredTokens {
        StoredTokens {
            refresh_token: RefreshToken::new("8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11"),
            refresh_token_id: "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b".into(),
            access_token_expires_at: OffsetDateTime::from_unix_timestamp(1_700_000_900).ok(),
            access_token: None,
            user: None,
        }
    }

    #[test]
    fn value_is_compact_and_versioned() {
        let value = encode(&tokens()).unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&value).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"rt":"8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11","id":"0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b","exp":1700000900}"#
        );
        assert!(value.len() < 160, "{}", value.len());
        assert_eq!(decode(&value).unwrap(), tokens());
    }

    #[test]
    fn bad_values_say_why() {
        assert_eq!(decode("!!").unwrap_err(), "not base64url");
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode("[]")).unwrap_err(),
            "not the expected JSON"
        );
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode(r#"{"v":2,"rt":"x"}"#)).unwrap_err(),
            "unsupported version"
        );
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode(r#"{"v":1,"rt":" "}"#)).unwrap_err(),
            "empty refresh token"
        );
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode(r#"{"v":1,"rt":"x","exp":99999999999999}"#))
                .unwrap_err(),
            "expiry out of range"
        );
        let minimal = decode(&URL_SAFE_NO_PAD.encode(r#"{"v":1,"rt":"x","future":true}"#)).unwrap();
        assert_eq!(minimal.refresh_token_id, "");
        assert_eq!(minimal.access_token_expires_at, None);
    }

    #[test]
    fn values_beyond_the_stack_buffer_decode_the_same() {
        let mut json_sizes = Vec::new();
        // The JSON is the token and 76 bytes: around the buffer's size, and far beyond it.
        for len in [100, 435, 436, 437, 4 * STACK_JSON_BYTES] {
            let long = StoredTokens {
                refresh_token: RefreshToken::new("r".repeat(len)),
                ..tokens()
            };
            let value = encode(&long).unwrap();
            json_sizes.push(URL_SAFE_NO_PAD.decode(&value).unwrap().len());
            assert_eq!(decode(&value).unwrap(), long, "{len}");
            let config = CookieConfig::own();
            let cookies = RequestCookies::from_pairs([(config.name.as_str(), value.as_str())]);
            let token = read_refresh_token(&config, &cookies).unwrap();
            assert!(token.ct_eq(&long.refresh_token), "{len}");
        }
        assert!(json_sizes.contains(&STACK_JSON_BYTES), "{json_sizes:?}");
        assert!(
            json_sizes.contains(&(STACK_JSON_BYTES + 1)),
            "{json_sizes:?}"
        );
        let broken = URL_SAFE_NO_PAD.encode("x".repeat(2 * STACK_JSON_BYTES)) + "!";
        assert_eq!(decode(&broken).unwrap_err(), "not base64url");
    }
}
