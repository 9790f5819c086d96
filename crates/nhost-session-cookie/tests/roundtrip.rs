//! Property tests: every format round-trips arbitrary sessions through a browser's cookie
//! jar; arbitrary bytes in any cookie never panic a reader; chunks never linger.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Browser;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use nhost_session_cookie::{
    CookieConfig, CookieError, CookieFormat, MAX_CHUNKS, MAX_COOKIE_BYTES, RequestCookies,
    SetCookie, nextjs2,
};
use nhost_session_core::{AccessToken, RefreshToken, StoredTokens, User};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const NOW: i64 = 1_735_689_600; // 2025-01-01T00:00:00Z

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect())
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        1 => text(60),
    ]
    .prop_filter("a token is not blank", |t| !t.trim().is_empty())
}

fn time_in_range() -> impl Strategy<Value = OffsetDateTime> {
    // Years 1970 to 9999: what both JSON dates and cookies can express.
    (0i64..253_402_300_799, 0u32..1_000_000_000).prop_map(|(s, n)| {
        OffsetDateTime::from_unix_timestamp(s).unwrap() + Duration::nanoseconds(i64::from(n))
    })
}

fn user() -> impl Strategy<Value = User> {
    (
        token(),
        proptest::option::of(time_in_range()),
        text(20),
        proptest::option::of(text(20)),
        any::<bool>(),
        proptest::collection::vec(text(10), 0..4),
        proptest::option::of(proptest::collection::btree_map(text(8), text(12), 0..4)),
        proptest::option::of(text(8)),
    )
        .prop_map(
            |(id, created_at, display_name, email, anonymous, roles, metadata, phone)| User {
                id,
                created_at,
                display_name,
                avatar_url: "https://example.com/a.png".into(),
                locale: "en".into(),
                email,
                email_verified: !anonymous,
                phone_number: phone,
                phone_number_verified: false,
                is_anonymous: anonymous,
                default_role: "user".into(),
                roles,
                metadata: metadata
                    .map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
                active_mfa_type: None,
            },
        )
}

/// A JWT as the auth server makes them, with arbitrary custom claims.
fn jwt(sub: &str, iat: i64, exp: i64, custom: &[(String, String)]) -> String {
    let mut claims = serde_json::Map::new();
    claims.insert("x-hasura-user-id".into(), json!(sub));
    claims.insert("x-hasura-default-role".into(), json!("user"));
    claims.insert("x-hasura-allowed-roles".into(), json!(["user", "me"]));
    claims.insert("x-hasura-user-is-anonymous".into(), json!("false"));
    for (name, value) in custom {
        claims.insert(format!("x-hasura-{name}"), json!(value));
    }
    let payload = json!({
        "sub": sub, "iat": iat, "exp": exp, "iss": "hasura-auth",
        "https://hasura.io/jwt/claims": claims,
    });
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc(&json!({"alg": "HS256", "typ": "JWT"})),
        enc(&payload)
    )
}

prop_compose! {
    fn stored_tokens()(
        refresh_token in token(),
        refresh_token_id in prop_oneof![Just(String::new()), token()],
        expires_at in proptest::option::of(time_in_range()),
        access_token in proptest::option::of(text(40).prop_filter("not blank", |t| !t.trim().is_empty())),
        user in proptest::option::of(user()),
    ) -> StoredTokens {
        StoredTokens {
            refresh_token: RefreshToken::new(refresh_token),
            refresh_token_id,
            access_token_expires_at: expires_at,
            access_token: access_token.map(AccessToken::new),
            user,
        }
    }
}

prop_compose! {
    /// A full session for nhost-js 4: a real-looking JWT whose `exp` is the expiry.
    fn js4_tokens()(
        base in stored_tokens(),
        user in user(),
        iat in 1_600_000_000i64..1_900_000_000,
        lifetime in 1i64..100_000,
        custom in proptest::collection::vec(("[a-z-]{1,10}", prop_oneof![text(10), "\\{[a-z,\" ]{0,12}\\}"]), 0..4),
    ) -> StoredTokens {
        let exp = iat + lifetime;
        StoredTokens {
            access_token: Some(AccessToken::new(jwt(&user.id, iat, exp, &custom))),
            access_token_expires_at: OffsetDateTime::from_unix_timestamp(exp).ok(),
            user: Some(user),
            ..base
        }
    }
}

fn configs(format: CookieFormat) -> Vec<CookieConfig> {
    let mut configs = vec![CookieConfig::builder(format).build().unwrap()];
    let custom = CookieConfig::builder(format)
        .path("/app")
        .domain("example.com")
        .secure(false);
    let custom = if format == CookieFormat::NextJs2 {
        custom
    } else {
        custom.name("s")
    };
    configs.push(custom.build().unwrap());
    if format == CookieFormat::Own {
        #[cfg(feature = "signed")]
        configs.push(
            CookieConfig::builder(format)
                .signed(nhost_session_cookie::Key::generate())
                .build()
                .unwrap(),
        );
        #[cfg(feature = "private")]
        configs.push(
            CookieConfig::builder(format)
                .name("__Host-s")
                .private(nhost_session_cookie::Key::generate())
                .build()
                .unwrap(),
        );
    }
    configs
}

/// Writes to an empty browser, then reads back what the browser sends.
fn round_trip(
    config: &CookieConfig,
    tokens: &StoredTokens,
) -> Result<(Vec<SetCookie>, Option<StoredTokens>), CookieError> {
    let set_cookies = config.write(tokens, now(), &RequestCookies::empty())?;
    let mut browser = Browser::default();
    browser.apply(&set_cookies);
    let cookies = config.request_cookies(&browser.header());
    let read = config.read_cookies(&cookies);
    check_refresh_token_reader(config, &cookies);
    Ok((set_cookies.clone(), read))
}

/// `read_refresh_token` finds the refresh token of every session `read_cookies` finds, and,
/// except in the nhost-js 4 format (which skips the other members unread), nothing more.
fn check_refresh_token_reader(config: &CookieConfig, cookies: &RequestCookies) {
    let full = config
        .read_cookies(cookies)
        .map(|tokens| tokens.refresh_token);
    let alone = config.read_refresh_token(cookies);
    match (&full, &alone) {
        (Some(full), Some(alone)) => assert_eq!(full, alone),
        (Some(_), None) => panic!("read_refresh_token missed a session read_cookies found"),
        (None, Some(_)) => assert_eq!(
            config.format(),
            CookieFormat::NhostJs4,
            "only the nhost-js 4 reader may find a token read_cookies refuses"
        ),
        (None, None) => {}
    }
}

fn truncate_to_seconds(t: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap()
}

fn truncate_to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).unwrap()
}

fn check_sizes(set_cookies: &[SetCookie]) {
    for cookie in set_cookies {
        assert!(
            cookie.len() <= MAX_COOKIE_BYTES,
            "{} is {} bytes",
            cookie.name(),
            cookie.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn own_format_round_trips(tokens in stored_tokens()) {
        for config in configs(CookieFormat::Own) {
            let (set_cookies, read) = round_trip(&config, &tokens).unwrap();
            check_sizes(&set_cookies);
            let expected = StoredTokens {
                access_token_expires_at: tokens.access_token_expires_at.map(truncate_to_seconds),
                ..tokens.clone().without_session_data()
            };
            prop_assert_eq!(read, Some(expected));
        }
    }

    #[test]
    fn nextjs2_round_trips(tokens in stored_tokens()) {
        for config in configs(CookieFormat::NextJs2) {
            let (set_cookies, read) = round_trip(&config, &tokens).unwrap();
            check_sizes(&set_cookies);
            let session_written = set_cookies.iter().any(|c| c.name() == nextjs2::SESSION);
            let possible = tokens.access_token.is_some()
                && tokens.user.is_some()
                && tokens.access_token_expires_at.is_some_and(|at| at - Duration::seconds(60) > now());
            prop_assert!(possible || !session_written);
            let mut expected = tokens.clone();
            expected.access_token_expires_at = tokens.access_token_expires_at.map(truncate_to_millis);
            if !session_written {
                expected = StoredTokens { access_token: None, user: None, ..expected };
            }
            prop_assert_eq!(read, Some(expected));
        }
    }

    #[test]
    fn nhost_js4_round_trips(tokens in js4_tokens()) {
        for config in configs(CookieFormat::NhostJs4) {
            match round_trip(&config, &tokens) {
                Ok((set_cookies, read)) => {
                    check_sizes(&set_cookies);
                    prop_assert_eq!(set_cookies.len(), 1);
                    prop_assert_eq!(read, Some(tokens.clone()));
                }
                Err(CookieError::TooLarge { size, limit, .. }) => prop_assert!(size > limit),
                Err(other) => prop_assert!(false, "{other}"),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_reader(
        pairs in proptest::collection::vec((0usize..8, proptest::collection::vec(any::<u8>(), 0..300)), 0..6),
        raw in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let names = ["nhost-session", "nhost-session.0", "nhost-session.1", "s", nextjs2::REFRESH_TOKEN,
            nextjs2::REFRESH_TOKEN_ID, nextjs2::EXPIRES_AT, nextjs2::SESSION];
        let mut bytes = Vec::new();
        for (name, value) in &pairs {
            bytes.extend_from_slice(names[*name].as_bytes());
            bytes.push(b'=');
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"; ");
        }
        bytes.extend_from_slice(&raw);
        // A header value cannot hold control characters; everything else goes.
        let bytes: Vec<u8> = bytes.into_iter().map(|b| if b < 0x20 && b != b'\t' || b == 0x7f { b'x' } else { b }).collect();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_bytes(&bytes).unwrap());
        for format in [CookieFormat::Own, CookieFormat::NextJs2, CookieFormat::NhostJs4] {
            for config in configs(format) {
                let cookies = config.request_cookies(&headers);
                if let Some(tokens) = config.read_cookies(&cookies) {
                    prop_assert!(!tokens.refresh_token.expose_secret().trim().is_empty());
                }
                check_refresh_token_reader(&config, &cookies);
                // Writing and removing against such a request never panics either.
                let tokens = StoredTokens {
                    refresh_token: RefreshToken::new("rt"),
                    refresh_token_id: String::new(),
                    access_token_expires_at: None,
                    access_token: None,
                    user: None,
                };
                let _ = config.write(&tokens, now(), &cookies);
                let _ = config.remove(&cookies);
            }
        }
    }

    #[test]
    fn tampered_cookies_read_as_nothing_or_parse_cleanly(tokens in js4_tokens(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
        for format in [CookieFormat::Own, CookieFormat::NextJs2, CookieFormat::NhostJs4] {
            for config in configs(format) {
                let Ok(set_cookies) = config.write(&tokens, now(), &RequestCookies::empty()) else { continue };
                let mut browser = Browser::default();
                browser.apply(&set_cookies);
                for mutate in 0..2 {
                    let mut tampered = browser.clone();
                    let cookie = &mut tampered.cookies[0];
                    if cookie.value.is_empty() { continue }
                    if mutate == 0 {
                        let at = cut.index(cookie.value.len());
                        cookie.value = cookie.value.chars().take(at).collect();
                    } else {
                        let mut bytes = cookie.value.clone().into_bytes();
                        let at = flip.index(bytes.len());
                        bytes[at] = if byte.is_ascii_graphic() && byte != b';' { byte } else { b'A' };
                        cookie.value = String::from_utf8_lossy(&bytes).into_owned();
                    }
                    let read = config.read(&tampered.header());
                    check_refresh_token_reader(&config, &config.request_cookies(&tampered.header()));
                    if config.is_protected() && tampered.cookies[0].value != browser.cookies[0].value {
                        prop_assert_eq!(read, None);
                    }
                }
            }
        }
    }

    #[test]
    fn chunks_never_linger(sizes in proptest::collection::vec(prop_oneof![1usize..200, 3_000usize..20_000], 1..6)) {
        for config in configs(CookieFormat::Own) {
            let mut browser = Browser::default();
            for (i, size) in sizes.iter().enumerate() {
                let tokens = StoredTokens {
                    refresh_token: RefreshToken::new(format!("{i}{}", "r".repeat(*size))),
                    refresh_token_id: "id".into(),
                    access_token_expires_at: None,
                    access_token: None,
                    user: None,
                };
                let request = config.request_cookies(&browser.header());
                let set_cookies = config.write(&tokens, now(), &request).unwrap();
                check_sizes(&set_cookies);
                browser.apply(&set_cookies);
                prop_assert_eq!(config.read(&browser.header()).map(|t| t.refresh_token), Some(tokens.refresh_token.clone()));
                // Either the one cookie or chunks 0..n, nothing else.
                let names = browser.names();
                let single = names == [config.name().to_owned()];
                let chunked = names.iter().enumerate().all(|(i, n)| *n == format!("{}.{i}", config.name()));
                prop_assert!(single || chunked, "{:?}", names);
            }
            let request = config.request_cookies(&browser.header());
            browser.apply(&config.remove(&request));
            prop_assert!(browser.cookies.is_empty());
        }
    }
}

#[test]
fn too_large_for_chunks_is_refused() {
    let config = CookieConfig::own();
    let tokens = StoredTokens {
        refresh_token: RefreshToken::new("r".repeat(MAX_CHUNKS * MAX_COOKIE_BYTES)),
        refresh_token_id: String::new(),
        access_token_expires_at: None,
        access_token: None,
        user: None,
    };
    let error = config
        .write(&tokens, now(), &RequestCookies::empty())
        .unwrap_err();
    assert!(matches!(error, CookieError::TooLarge { .. }), "{error}");
    assert!(!error.to_string().contains("rrrr"));
}

#[test]
fn javascript_formats_refuse_what_does_not_fit() {
    let mut user = User {
        id: "u1".into(),
        ..User::default()
    };
    user.metadata = Some(
        [("big".to_owned(), json!("x".repeat(5000)))]
            .into_iter()
            .collect(),
    );
    let tokens = StoredTokens {
        refresh_token: RefreshToken::new("rt"),
        refresh_token_id: "id".into(),
        access_token_expires_at: Some(now() + Duration::minutes(15)),
        access_token: Some(AccessToken::new(jwt("u1", NOW, NOW + 900, &[]))),
        user: Some(user),
    };
    let error = CookieConfig::nhost_js4()
        .write(&tokens, now(), &RequestCookies::empty())
        .unwrap_err();
    assert!(
        matches!(error, CookieError::TooLarge { ref name, .. } if name == "nhostSession"),
        "{error}"
    );

    // @nhost/nextjs's nhostSession is optional: left out (and a stale one removed), the
    // refresh token cookies still written.
    let request = RequestCookies::empty();
    let cookies = CookieConfig::nextjs2()
        .write(&tokens, now(), &request)
        .unwrap();
    let names: Vec<&str> = cookies.iter().map(SetCookie::name).collect();
    assert_eq!(
        names,
        [
            nextjs2::REFRESH_TOKEN,
            nextjs2::REFRESH_TOKEN_ID,
            nextjs2::EXPIRES_AT
        ]
    );
    let refused = StoredTokens {
        refresh_token: RefreshToken::new("r".repeat(MAX_COOKIE_BYTES)),
        ..tokens.clone()
    };
    assert!(matches!(
        CookieConfig::nextjs2().write(&refused, now(), &request),
        Err(CookieError::TooLarge { .. })
    ));
}

#[test]
fn nhost_js4_needs_the_access_token_and_the_user() {
    let tokens = StoredTokens {
        refresh_token: RefreshToken::new("rt"),
        refresh_token_id: "id".into(),
        access_token_expires_at: None,
        access_token: None,
        user: Some(User {
            id: "u".into(),
            ..User::default()
        }),
    };
    let config = CookieConfig::nhost_js4();
    assert_eq!(
        config
            .write(&tokens, now(), &RequestCookies::empty())
            .unwrap_err(),
        CookieError::MissingSessionData {
            format: CookieFormat::NhostJs4,
            missing: "access token"
        }
    );
    let tokens = StoredTokens {
        access_token: Some(AccessToken::new("a.b.c")),
        user: None,
        ..tokens
    };
    assert_eq!(
        config
            .write(&tokens, now(), &RequestCookies::empty())
            .unwrap_err(),
        CookieError::MissingSessionData {
            format: CookieFormat::NhostJs4,
            missing: "user"
        }
    );
    let tokens = StoredTokens {
        user: Some(User {
            id: "u".into(),
            ..User::default()
        }),
        ..tokens
    };
    assert!(matches!(
        config
            .write(&tokens, now(), &RequestCookies::empty())
            .unwrap_err(),
        CookieError::InvalidAccessToken(_)
    ));
}

#[test]
fn blank_refresh_tokens_are_refused() {
    let tokens = StoredTokens {
        refresh_token: RefreshToken::new(" "),
        refresh_token_id: String::new(),
        access_token_expires_at: None,
        access_token: None,
        user: None,
    };
    for format in [
        CookieFormat::Own,
        CookieFormat::NextJs2,
        CookieFormat::NhostJs4,
    ] {
        let config = CookieConfig::builder(format).build().unwrap();
        assert_eq!(
            config
                .write(&tokens, now(), &RequestCookies::empty())
                .unwrap_err(),
            CookieError::EmptyRefreshToken
        );
    }
}
