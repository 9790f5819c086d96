//! `@nhost/nextjs` 2 and `@nhost/hasura-auth-js` 2 in cookie mode.
//!
//! hasura-auth-js 2.12 (`localStorageSetter('cookie')`) writes, with js-cookie 3,
//! `Cookies.set(key, value, { expires: 30, sameSite: 'lax' })` for
//! - `nhostRefreshToken`: the refresh token;
//! - `nhostRefreshTokenId`: its id (only when the session has one);
//! - `nhostRefreshTokenExpiresAt`: `new Date(Date.now() + accessTokenExpiresIn * 1000)
//!   .toISOString()`, the ACCESS token's expiry despite the name (removed when unknown);
//!
//! and `@nhost/nextjs` 2.3 (`setNhostSessionInCookie`) adds `nhostSession` =
//! `JSON.stringify({accessToken, accessTokenExpiresIn, user})` (seconds remaining, no refresh
//! token), `SameSite=Strict`, expiring 60 s before the JWT. js-cookie adds `path=/` and
//! encodes values with `encodeURIComponent`, then puts `#$&+/:<=>?@[]^`{|}` back raw.

use nhost_session_core::{AccessToken, RefreshToken, StoredTokens, User};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::config::{CookieConfig, SameSite};
use crate::error::CookieError;
use crate::js_encoding::{js_cookie_decode, js_cookie_encode};
use crate::request::RequestCookies;
use crate::set_cookie::{Attributes, SetCookie, removals};

/// `nhostRefreshToken`: the refresh token.
pub const REFRESH_TOKEN: &str = "nhostRefreshToken";
/// `nhostRefreshTokenId`: the refresh token's id.
pub const REFRESH_TOKEN_ID: &str = "nhostRefreshTokenId";
/// `nhostRefreshTokenExpiresAt`: the access token's expiry, ISO-8601.
pub const EXPIRES_AT: &str = "nhostRefreshTokenExpiresAt";
/// `nhostSession`: `@nhost/nextjs`'s copy of the access token and the user.
pub const SESSION: &str = "nhostSession";

/// Every cookie of the format.
pub(crate) const ALL_NAMES: [&str; 4] = [REFRESH_TOKEN, REFRESH_TOKEN_ID, EXPIRES_AT, SESSION];

/// `@nhost/nextjs` lets `nhostSession` expire this long before the JWT.
const SESSION_COOKIE_MARGIN: Duration = Duration::seconds(60);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NextSessionOut<'a> {
    access_token: &'a str,
    access_token_expires_in: f64,
    user: &'a User,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NextSessionIn {
    #[serde(default)]
    access_token: Option<serde_json::Value>,
    #[serde(default)]
    user: Option<serde_json::Value>,
}

/// `Date.prototype.toISOString`: `YYYY-MM-DDTHH:mm:ss.sssZ` (`±YYYYYY` outside years 0–9999).
pub(crate) fn to_iso_string(time: OffsetDateTime) -> String {
    let utc = time.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!(
            "{}{:06}",
            if year < 0 { '-' } else { '+' },
            year.unsigned_abs()
        )
    };
    format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.millisecond()
    )
}

/// A cookie's value decoded as js-cookie reads it: `None` when absent, `Some(Err(()))` when
/// js-cookie would skip it (escapes that are not UTF-8).
fn decoded(cookies: &RequestCookies, name: &str) -> Option<Result<String, ()>> {
    cookies.get(name).map(|raw| js_cookie_decode(raw).ok_or(()))
}

/// The `nhostRefreshToken` cookie alone: what [`read`] gives a session for.
pub(crate) fn read_refresh_token(cookies: &RequestCookies) -> Option<RefreshToken> {
    let token = match decoded(cookies, REFRESH_TOKEN)? {
        Ok(token) if !token.trim().is_empty() => token,
        Ok(_) => {
            tracing::warn!(
                cookie = REFRESH_TOKEN,
                "empty refresh token cookie; ignored"
            );
            return None;
        }
        Err(()) => {
            tracing::warn!(
                cookie = REFRESH_TOKEN,
                "refresh token cookie cannot be decoded; ignored"
            );
            return None;
        }
    };
    Some(RefreshToken::new(token))
}

pub(crate) fn read(cookies: &RequestCookies) -> Option<StoredTokens> {
    let refresh_token = read_refresh_token(cookies)?;
    let refresh_token_id = match decoded(cookies, REFRESH_TOKEN_ID) {
        Some(Ok(id)) => id,
        Some(Err(())) => {
            tracing::warn!(
                cookie = REFRESH_TOKEN_ID,
                "cookie cannot be decoded; ignored"
            );
            String::new()
        }
        None => String::new(),
    };
    let expires_at = match decoded(cookies, EXPIRES_AT) {
        Some(Ok(text)) => match OffsetDateTime::parse(&text, &Rfc3339) {
            Ok(time) => Some(time),
            Err(_) => {
                tracing::warn!(cookie = EXPIRES_AT, "not an ISO-8601 time; expiry unknown");
                None
            }
        },
        Some(Err(())) => {
            tracing::warn!(
                cookie = EXPIRES_AT,
                "cookie cannot be decoded; expiry unknown"
            );
            None
        }
        None => None,
    };
    let (access_token, user) = read_session_cookie(cookies);
    Some(StoredTokens {
        refresh_token,
        refresh_token_id,
        access_token_expires_at: expires_at,
        access_token,
        user,
    })
}

/// The access token and user of `nhostSession`, each `None` when absent or unreadable.
fn read_session_cookie(cookies: &RequestCookies) -> (Option<AccessToken>, Option<User>) {
    let json = match decoded(cookies, SESSION) {
        None => return (None, None),
        Some(Ok(json)) => json,
        Some(Err(())) => {
            tracing::warn!(cookie = SESSION, "cookie cannot be decoded; ignored");
            return (None, None);
        }
    };
    let Ok(session) = serde_json::from_str::<NextSessionIn>(&json) else {
        tracing::warn!(cookie = SESSION, "cookie is not the expected JSON; ignored");
        return (None, None);
    };
    let access_token = match session.access_token {
        Some(serde_json::Value::String(token)) if !token.trim().is_empty() => {
            Some(AccessToken::new(token))
        }
        _ => None,
    };
    let user = session
        .user
        .and_then(|user| match serde_json::from_value::<User>(user) {
            Ok(user) => Some(user),
            Err(_) => {
                tracing::warn!(
                    cookie = SESSION,
                    "the user in the cookie cannot be read; ignored"
                );
                None
            }
        });
    (access_token, user)
}

pub(crate) fn write(
    config: &CookieConfig,
    tokens: &StoredTokens,
    now: OffsetDateTime,
    request: &RequestCookies,
) -> Result<Vec<SetCookie>, CookieError> {
    let attributes = Attributes::of(config);
    let max_age = config.max_age;
    let mut cookies = vec![attributes.set(
        REFRESH_TOKEN,
        js_cookie_encode(tokens.refresh_token.expose_secret()),
        now,
        max_age,
    )?];
    let mut stale = Vec::new();
    // hasura-auth-js writes the id only when there is one, and removes the expiry when unknown.
    if tokens.refresh_token_id.is_empty() {
        stale.push(REFRESH_TOKEN_ID);
    } else {
        cookies.push(attributes.set(
            REFRESH_TOKEN_ID,
            js_cookie_encode(&tokens.refresh_token_id),
            now,
            max_age,
        )?);
    }
    match tokens.access_token_expires_at {
        Some(expires_at) => cookies.push(attributes.set(
            EXPIRES_AT,
            js_cookie_encode(&to_iso_string(expires_at)),
            now,
            max_age,
        )?),
        None => stale.push(EXPIRES_AT),
    }
    match session_cookie(config, tokens, now) {
        Some(cookie) => cookies.push(cookie),
        // An old nhostSession would pair an old access token with the new refresh token.
        None => stale.push(SESSION),
    }
    let stale = stale.into_iter().filter(|name| request.contains(name));
    let session_attributes = Attributes {
        same_site: Some(SameSite::Strict),
        ..attributes.clone()
    };
    for name in stale {
        let attributes = if name == SESSION {
            &session_attributes
        } else {
            &attributes
        };
        cookies.extend(removals(attributes, [name]));
    }
    Ok(cookies)
}

/// `@nhost/nextjs`'s `nhostSession`, when enabled, possible (access token, user and expiry
/// known, not within a minute of expiring) and small enough. Too large is not an error: the
/// refresh token cookies are what matter, and the SSR side refreshes without this one.
fn session_cookie(
    config: &CookieConfig,
    tokens: &StoredTokens,
    now: OffsetDateTime,
) -> Option<SetCookie> {
    if !config.nextjs_session_cookie {
        return None;
    }
    let (Some(access_token), Some(user), Some(expires_at)) = (
        &tokens.access_token,
        &tokens.user,
        tokens.access_token_expires_at,
    ) else {
        return None;
    };
    // Saturating: an expiry within a minute of the earliest representable time must not panic.
    let lifetime = expires_at.saturating_sub(SESSION_COOKIE_MARGIN) - now;
    if lifetime <= Duration::ZERO {
        return None;
    }
    let remaining = expires_at - now;
    let json = serde_json::to_string(&NextSessionOut {
        access_token: access_token.expose_secret(),
        access_token_expires_in: remaining.whole_milliseconds() as f64 / 1000.0,
        user,
    })
    .ok()?;
    let attributes = Attributes {
        same_site: Some(SameSite::Strict),
        ..Attributes::of(config)
    };
    match attributes.set(SESSION, js_cookie_encode(&json), now, lifetime) {
        Ok(cookie) => Some(cookie),
        Err(error) => {
            tracing::warn!(%error, "nhostSession cookie not written; the refresh token cookies are");
            None
        }
    }
}

pub(crate) fn remove(config: &CookieConfig) -> Vec<SetCookie> {
    let attributes = Attributes::of(config);
    let mut cookies = removals(&attributes, [REFRESH_TOKEN, REFRESH_TOKEN_ID, EXPIRES_AT]);
    let session_attributes = Attributes {
        same_site: Some(SameSite::Strict),
        ..attributes
    };
    cookies.extend(removals(&session_attributes, [SESSION]));
    cookies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_strings_match_javascript() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(to_iso_string(t), "2023-11-14T22:13:20.123Z");
        let t = OffsetDateTime::from_unix_timestamp(0)
            .unwrap()
            .to_offset(UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(to_iso_string(t), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            OffsetDateTime::parse("2023-11-14T22:13:20.123Z", &Rfc3339)
                .unwrap()
                .unix_timestamp(),
            1_700_000_000
        );
    }

    #[test]
    fn reads_what_hasura_auth_js_writes() {
        // Values as js-cookie 3 writes them.
        let cookies = RequestCookies::from_pairs([
            (REFRESH_TOKEN, "8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11"),
            (REFRESH_TOKEN_ID, "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b"),
            (EXPIRES_AT, "2023-11-14T22:13:20.123Z"),
            (
                SESSION,
                "{%22accessToken%22:%22a.b.c%22,%22accessTokenExpiresIn%22:899.5,%22user%22:{%22id%22:%22u1%22,%22email%22:%22a@b.c%22}}",
            ),
        ]);
        let tokens = read(&cookies).unwrap();
        assert_eq!(
            tokens.refresh_token.expose_secret(),
            "8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11"
        );
        assert_eq!(
            tokens.refresh_token_id,
            "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b"
        );
        assert_eq!(
            tokens.access_token_expires_at.unwrap().unix_timestamp(),
            1_700_000_000
        );
        assert_eq!(tokens.access_token.unwrap().expose_secret(), "a.b.c");
        assert_eq!(tokens.user.unwrap().email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn only_the_refresh_token_is_essential() {
        let cookies = RequestCookies::from_pairs([
            (REFRESH_TOKEN, "rt"),
            (EXPIRES_AT, "yesterday"),
            (SESSION, "{not json"),
        ]);
        let tokens = read(&cookies).unwrap();
        assert_eq!(
            (
                tokens.refresh_token_id.as_str(),
                tokens.access_token_expires_at
            ),
            ("", None)
        );
        assert!(tokens.access_token.is_none() && tokens.user.is_none());
        assert!(read(&RequestCookies::from_pairs([(REFRESH_TOKEN, "%C3")])).is_none());
        assert!(read(&RequestCookies::from_pairs([(REFRESH_TOKEN, "%20")])).is_none());
        assert!(read(&RequestCookies::from_pairs([(REFRESH_TOKEN_ID, "x")])).is_none());
    }
}
