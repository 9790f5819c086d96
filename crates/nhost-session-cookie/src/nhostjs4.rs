//! `@nhost/nhost-js` 4's `CookieStorage`.
//!
//! nhost-js 4.7 stores `{...session, decodedToken: decodeUserSession(session.accessToken)}` as
//! `encodeURIComponent(JSON.stringify(value))` in one cookie (`nhostSession` by default) with
//! `expires=<+30 days>; path=/; secure; SameSite=lax`, and reads it back with
//! `JSON.parse(decodeURIComponent(value))`, where `value` is what follows `name=` up to the next
//! `=` (its reader splits on `=`). The session is the `/token` answer: `accessToken`,
//! `accessTokenExpiresIn` (the lifetime, seconds), `refreshToken`, `refreshTokenId`, `user`.
//! `decodedToken` is the JWT payload with `iat`/`exp` in milliseconds and Postgres-array
//! strings among the Hasura claims turned into arrays; nhost-js decides when to refresh from
//! `decodedToken.exp`, and so does this reader.

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use nhost_session_core::{AccessToken, RefreshToken, StoredTokens, User};
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;

use crate::config::{CookieConfig, CookieFormat};
use crate::error::CookieError;
use crate::js_encoding::{
    decode_uri_component, encode_uri_component, is_js_line_terminator, js_trim,
};
use crate::request::RequestCookies;
use crate::set_cookie::{Attributes, SetCookie, removals};

/// The Hasura claims' namespace in the JWT payload.
const HASURA_CLAIMS: &str = "https://hasura.io/jwt/claims";

/// `atob` after nhost-js's `-`→`+`, `_`→`/` and re-padding: the standard alphabet, padding
/// optional, non-zero trailing bits accepted (as the forgiving-base64 algorithm does).
const ATOB: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// nhost-js 4's `decodeUserSession(accessToken)`, as JSON: `None` where it throws (not three
/// parts, an empty payload, base64 or JSON it cannot read), with two deliberate differences:
/// a payload that is not a JSON object is refused (nhost-js would spread a string or array
/// into an object; servers never send one), and a string claim-namespace is spread by UTF-16
/// unit with unpaired surrogates replaced by U+FFFD.
pub(crate) fn decode_user_session(jwt: &str) -> Result<Value, CookieError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let payload = match parts.as_slice() {
        [_, payload, _] if !payload.is_empty() => *payload,
        _ => {
            return Err(CookieError::InvalidAccessToken(
                "not three dot-separated parts",
            ));
        }
    };
    let base64: String = payload
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' '))
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let bytes = ATOB
        .decode(base64.trim_end_matches('='))
        .map_err(|_| CookieError::InvalidAccessToken("the payload is not base64url"))?;
    // TextDecoder: invalid UTF-8 becomes U+FFFD, a leading BOM is dropped.
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let Ok(Value::Object(mut decoded)) = serde_json::from_str::<Value>(text) else {
        return Err(CookieError::InvalidAccessToken(
            "the payload is not a JSON object",
        ));
    };
    for key in ["iat", "exp"] {
        match decoded.get(key) {
            Some(Value::Number(seconds)) => {
                let millis = to_js_number(seconds.as_f64().unwrap_or(f64::NAN) * 1000.0);
                decoded.insert(key.to_owned(), millis);
            }
            // `undefined`: JSON.stringify leaves the key out.
            Some(_) => {
                decoded.remove(key);
            }
            None => {}
        }
    }
    if let Some(claims) = decoded.remove(HASURA_CLAIMS) {
        if let Some(processed) = process_claims(claims) {
            decoded.insert(HASURA_CLAIMS.to_owned(), processed);
        }
    }
    Ok(Value::Object(decoded))
}

/// A JavaScript number as JSON: integers stay integers, non-finite numbers become `null`
/// (what `JSON.stringify` writes for them).
fn to_js_number(value: f64) -> Value {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if value.fract() == 0.0 && value.abs() <= MAX_SAFE {
        Value::Number(Number::from(value as i64))
    } else {
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

/// `hasuraClaims ? Object.entries(hasuraClaims).reduce(...) : undefined`.
fn process_claims(claims: Value) -> Option<Value> {
    let entries: Vec<(String, Value)> = match claims {
        // Falsy: undefined.
        Value::Null | Value::Bool(false) => return None,
        Value::Number(n) if n.as_f64() == Some(0.0) => return None,
        Value::String(s) if s.is_empty() => return None,
        Value::Object(map) => map.into_iter().collect(),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        Value::String(s) => {
            let units: Vec<u16> = s.encode_utf16().collect();
            units
                .iter()
                .enumerate()
                .map(|(i, unit)| {
                    let text: String = char::decode_utf16([*unit])
                        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                        .collect();
                    (i.to_string(), Value::String(text))
                })
                .collect()
        }
        // `Object.entries` of a number or `true` is empty.
        Value::Number(_) | Value::Bool(true) => Vec::new(),
    };
    let mut processed = Map::new();
    for (key, value) in entries {
        // `acc['__proto__'] = value` sets the prototype, not a property.
        if key == "__proto__" {
            continue;
        }
        let value = match value {
            Value::String(text) if text.starts_with('{') && text.ends_with('}') => Value::Array(
                parse_postgres_array(&text)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
            other => other,
        };
        processed.insert(key, value);
    }
    Some(Value::Object(processed))
}

/// nhost-js's `parsePostgresArray`: `{}` is empty; otherwise split on every comma, trim, and
/// strip one pair of quotes (`/^"(.*)"$/`, where `.` matches no line terminator).
fn parse_postgres_array(value: &str) -> Vec<String> {
    if value.is_empty() || value == "{}" {
        return Vec::new();
    }
    let inner = value.get(1..value.len() - 1).unwrap_or_default();
    inner
        .split(',')
        .map(|item| {
            let item = js_trim(item);
            match item
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
            {
                Some(unquoted) if !unquoted.contains(is_js_line_terminator) => unquoted.to_owned(),
                _ => item.to_owned(),
            }
        })
        .collect()
}

/// The session cookie's value as nhost-js reads it, URI-decoded: `None` without the cookie or
/// when `decodeURIComponent` would throw.
fn cookie_json(config: &CookieConfig, cookies: &RequestCookies) -> Option<String> {
    let name = &config.name;
    let raw = cookies.get(name)?;
    // `const [name, value] = cookie.trim().split('=')`: the value ends at the next `=`.
    let raw = match memchr::memchr(b'=', raw.as_bytes()) {
        Some(end) => raw.get(..end).unwrap_or_default(),
        None => raw,
    };
    let json = decode_uri_component(raw);
    if json.is_none() {
        tracing::warn!(cookie = %name, "session cookie is not URI-encoded; ignored");
    }
    json
}

/// The refresh token alone, for looking a session up: the value is URI-decoded, but of its
/// JSON only `refreshToken` is built; the rest (the access token, the user, `decodedToken`:
/// nearly all of the cookie) is checked for syntax and skipped. Where [`read`] finds a
/// session this finds its refresh token; it also finds one where only other members are
/// unreadable, which [`read`] refuses as a whole.
pub(crate) fn read_refresh_token(
    config: &CookieConfig,
    cookies: &RequestCookies,
) -> Option<RefreshToken> {
    let name = &config.name;
    let json = cookie_json(config, cookies)?;
    match serde_json::from_str::<RefreshTokenMember>(&json) {
        Ok(RefreshTokenMember(Some(Value::String(token)))) if !token.trim().is_empty() => {
            Some(RefreshToken::new(token))
        }
        Ok(_) => {
            tracing::warn!(cookie = %name, "session cookie has no refresh token; ignored");
            None
        }
        Err(_) => {
            tracing::warn!(cookie = %name, "session cookie is not a JSON object; ignored");
            None
        }
    }
}

/// The `refreshToken` member of a JSON object (the last one, as `JSON.parse` keeps), every
/// other member skipped without being built. Anything but an object is an error.
struct RefreshTokenMember(Option<Value>);

impl<'de> serde::Deserialize<'de> for RefreshTokenMember {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RefreshTokenVisitor)
    }
}

struct RefreshTokenVisitor;

impl<'de> serde::de::Visitor<'de> for RefreshTokenVisitor {
    type Value = RefreshTokenMember;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut token = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "refreshToken" {
                token = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(RefreshTokenMember(token))
    }
}

pub(crate) fn read(config: &CookieConfig, cookies: &RequestCookies) -> Option<StoredTokens> {
    let name = &config.name;
    let json = cookie_json(config, cookies)?;
    let Ok(Value::Object(session)) = serde_json::from_str::<Value>(&json) else {
        tracing::warn!(cookie = %name, "session cookie is not a JSON object; ignored");
        return None;
    };
    let refresh_token = match session.get("refreshToken") {
        Some(Value::String(token)) if !token.trim().is_empty() => RefreshToken::new(token.as_str()),
        _ => {
            tracing::warn!(cookie = %name, "session cookie has no refresh token; ignored");
            return None;
        }
    };
    let refresh_token_id = match session.get("refreshTokenId") {
        Some(Value::String(id)) => id.clone(),
        _ => String::new(),
    };
    let access_token = match session.get("accessToken") {
        Some(Value::String(token)) if !token.trim().is_empty() => {
            Some(AccessToken::new(token.as_str()))
        }
        _ => None,
    };
    let user = match session.get("user") {
        Some(user @ Value::Object(_)) => match serde_json::from_value::<User>(user.clone()) {
            Ok(user) => Some(user),
            Err(_) => {
                tracing::warn!(cookie = %name, "the user in the session cookie cannot be read; ignored");
                None
            }
        },
        _ => None,
    };
    let expires_at = session
        .get("decodedToken")
        .and_then(|decoded| decoded.get("exp"))
        .and_then(Value::as_f64)
        .and_then(millis_to_time)
        .or_else(|| {
            // No usable decodedToken: the JWT's own `exp`.
            let token = access_token.as_ref()?;
            let decoded = decode_user_session(token.expose_secret()).ok()?;
            decoded
                .get("exp")
                .and_then(Value::as_f64)
                .and_then(millis_to_time)
        });
    Some(StoredTokens {
        refresh_token,
        refresh_token_id,
        access_token_expires_at: expires_at,
        access_token,
        user,
    })
}

fn millis_to_time(millis: f64) -> Option<OffsetDateTime> {
    if !millis.is_finite() || millis.abs() > 1e17 {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(millis.trunc() as i128 * 1_000_000).ok()
}

pub(crate) fn write(
    config: &CookieConfig,
    tokens: &StoredTokens,
    now: OffsetDateTime,
) -> Result<Vec<SetCookie>, CookieError> {
    let format = CookieFormat::NhostJs4;
    let access_token = tokens
        .access_token
        .as_ref()
        .ok_or(CookieError::MissingSessionData {
            format,
            missing: "access token",
        })?;
    let user = tokens
        .user
        .as_ref()
        .ok_or(CookieError::MissingSessionData {
            format,
            missing: "user",
        })?;
    let decoded = decode_user_session(access_token.expose_secret())?;
    let session = serde_json::json!({
        "accessToken": access_token.expose_secret(),
        "accessTokenExpiresIn": lifetime_seconds(&decoded, tokens.access_token_expires_at, now),
        "refreshToken": tokens.refresh_token.expose_secret(),
        "refreshTokenId": tokens.refresh_token_id,
        "user": serde_json::to_value(user).map_err(|e| CookieError::Serialize(e.to_string()))?,
        "decodedToken": decoded,
    });
    let json =
        serde_json::to_string(&session).map_err(|e| CookieError::Serialize(e.to_string()))?;
    let cookie = Attributes::of(config).set(
        &config.name,
        encode_uri_component(&json),
        now,
        config.max_age,
    )?;
    Ok(vec![cookie])
}

/// `accessTokenExpiresIn` as the server sent it: the JWT's lifetime (`exp - iat`), else the
/// time left, else 0.
fn lifetime_seconds(
    decoded: &Value,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> i64 {
    let millis = |key| decoded.get(key).and_then(Value::as_f64);
    if let (Some(exp), Some(iat)) = (millis("exp"), millis("iat")) {
        let seconds = ((exp - iat) / 1000.0).round();
        if seconds.is_finite() && seconds > 0.0 && seconds < 1e12 {
            return seconds as i64;
        }
    }
    expires_at.map_or(0, |at| (at - now).whole_seconds().max(0))
}

pub(crate) fn remove(config: &CookieConfig) -> Vec<SetCookie> {
    removals(&Attributes::of(config), [config.name.as_str()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn jwt(payload: &Value) -> String {
        format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(payload.to_string())
        )
    }

    /// Both readers on one `nhostSession` value, given as JSON text.
    fn read_both(json: &str) -> (Option<String>, Option<String>) {
        let config = CookieConfig::nhost_js4();
        let value = encode_uri_component(json);
        let cookies = RequestCookies::from_pairs([("nhostSession", value.as_str())]);
        let secret = |token: RefreshToken| token.expose_secret().to_owned();
        (
            read(&config, &cookies).map(|tokens| secret(tokens.refresh_token)),
            read_refresh_token(&config, &cookies).map(secret),
        )
    }

    #[test]
    fn the_refresh_token_alone_is_read_like_the_whole_session() {
        let user = r#"{"id":"u1","displayName":"A","locale":"en","defaultRole":"user","roles":["user"],"isAnonymous":false,"createdAt":"2024-01-01T00:00:00Z","avatarUrl":"","emailVerified":true,"phoneNumberVerified":false,"metadata":{}}"#;
        let whole = format!(
            r#"{{"accessToken":"a.b.c","accessTokenExpiresIn":900,"refreshToken":"rt-1","refreshTokenId":"id","user":{user},"decodedToken":{{"exp":1700000900000}}}}"#
        );
        let some = |token: &str| Some(token.to_owned());
        assert_eq!(read_both(&whole), (some("rt-1"), some("rt-1")));
        // `JSON.parse` keeps the last of duplicate members; so do both readers.
        assert_eq!(
            read_both(r#"{"refreshToken":"first","refreshToken":"last"}"#),
            (some("last"), some("last"))
        );
        // A refresh token nested elsewhere is not the session's.
        assert_eq!(read_both(r#"{"user":{"refreshToken":"x"}}"#), (None, None));
        for refused in [
            r#"{"refreshToken":"  "}"#,
            r#"{"refreshToken":7}"#,
            r#"{"refreshToken":null}"#,
            r#"["rt-1"]"#,
            r#""rt-1""#,
            r#"{"refreshToken":"rt-1""#,
            r#"{"refreshToken":"rt-1"} trailing"#,
            "",
        ] {
            assert_eq!(read_both(refused), (None, None), "{refused}");
        }
        // Members the lookup skips unread do not hide the token from it.
        assert_eq!(
            read_both(r#"{"refreshToken":"rt-1","decodedToken":{"exp":1e400}}"#),
            (None, some("rt-1"))
        );
    }

    #[test]
    fn decoded_token_mirrors_nhost_js() {
        let token = jwt(&json!({
            "sub": "u1", "iat": 1_700_000_000, "exp": 1_700_000_900, "iss": "hasura-auth",
            HASURA_CLAIMS: {
                "x-hasura-user-id": "u1",
                "x-hasura-allowed-roles": ["user", "me"],
                "x-hasura-user-is-anonymous": "false",
                "x-hasura-org-ids": "{a, \"b\" ,\"c,d\"}",
                "x-hasura-empty": "{}",
                "x-hasura-blank": "{ }",
                "x-hasura-brace": "{",
                "__proto__": "x"
            }
        }));
        assert_eq!(
            decode_user_session(&token).unwrap(),
            json!({
                "sub": "u1", "iat": 1_700_000_000_000_i64, "exp": 1_700_000_900_000_i64, "iss": "hasura-auth",
                HASURA_CLAIMS: {
                    "x-hasura-user-id": "u1",
                    "x-hasura-allowed-roles": ["user", "me"],
                    "x-hasura-user-is-anonymous": "false",
                    "x-hasura-org-ids": ["a", "b", "\"c", "d\""],
                    "x-hasura-empty": [],
                    "x-hasura-blank": [""],
                    "x-hasura-brace": "{"
                }
            })
        );
    }

    #[test]
    fn odd_payloads_follow_javascript() {
        let decoded =
            decode_user_session(&jwt(&json!({"iat": "x", "exp": 1.5, HASURA_CLAIMS: null})))
                .unwrap();
        assert_eq!(decoded, json!({"exp": 1500}));
        let decoded = decode_user_session(&jwt(&json!({HASURA_CLAIMS: ["{a}"]}))).unwrap();
        assert_eq!(decoded, json!({HASURA_CLAIMS: {"0": ["a"]}}));
        let decoded = decode_user_session(&jwt(&json!({HASURA_CLAIMS: "ab"}))).unwrap();
        assert_eq!(decoded, json!({HASURA_CLAIMS: {"0": "a", "1": "b"}}));
        let decoded = decode_user_session(&jwt(&json!({HASURA_CLAIMS: 5}))).unwrap();
        assert_eq!(decoded, json!({HASURA_CLAIMS: {}}));
        // Standard-alphabet characters and padding are accepted, as atob does.
        let padded = format!(
            "h.{}.s",
            base64::engine::general_purpose::STANDARD.encode(r#"{"a":"??>"}"#)
        );
        assert_eq!(decode_user_session(&padded).unwrap(), json!({"a": "??>"}));
        for bad in [
            "",
            "a.b",
            "a..c",
            "a.b.c.d",
            "a.!!!.c",
            "a.W10.c",
            "a.bnVsbA.c",
        ] {
            assert!(decode_user_session(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postgres_arrays_as_nhost_js_splits_them() {
        assert_eq!(parse_postgres_array("{a,b}"), ["a", "b"]);
        assert_eq!(parse_postgres_array("{\"a\nb\"}"), ["\"a\nb\""]);
        assert_eq!(parse_postgres_array("{\"}"), ["\""]);
        assert_eq!(parse_postgres_array("{\u{feff}a\u{85}}"), ["a\u{85}"]);
    }
}
