//! `CookieTokenStore` and the request-dependent parts of writing: leftover chunks, stale
//! cookies, removal attributes, caching headers, redaction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Browser;
use http::HeaderMap;
use http::header::{CACHE_CONTROL, SET_COOKIE};
use nhost_session_cookie::{
    CookieConfig, CookieFormat, CookieTokenStore, RequestCookies, SameSite, nextjs2,
};
use nhost_session_core::{
    AccessToken, ManualClock, RefreshToken, StoreError, StoredTokens, TokenStore, User,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

const RT: &str = "8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11";
const JWT_SECRET_PART: &str = "c2VjcmV0LXNpZ25hdHVyZQ";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_735_689_600).unwrap()
}

fn jwt() -> String {
    let payload = json!({"sub": "u1", "iat": 1_735_689_600, "exp": 1_735_690_500,
        "https://hasura.io/jwt/claims": {"x-hasura-user-id": "u1"}});
    format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.{JWT_SECRET_PART}",
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

fn tokens(refresh_token: &str) -> StoredTokens {
    StoredTokens {
        refresh_token: RefreshToken::new(refresh_token),
        refresh_token_id: "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b".into(),
        access_token_expires_at: Some(now() + Duration::minutes(15)),
        access_token: Some(AccessToken::new(jwt())),
        user: Some(User {
            id: "u1".into(),
            email: Some("a@example.com".into()),
            ..User::default()
        }),
    }
}

fn store(config: CookieConfig, browser: &Browser) -> CookieTokenStore {
    CookieTokenStore::new(config, &browser.header()).with_clock(Arc::new(ManualClock::new(now())))
}

#[tokio::test]
async fn store_loads_saves_and_clears_through_the_browser() {
    for format in [
        CookieFormat::Own,
        CookieFormat::NextJs2,
        CookieFormat::NhostJs4,
    ] {
        let config = Arc::new(CookieConfig::builder(format).build().unwrap());
        let mut browser = Browser::default();

        // Request 1: nothing; sign-in saves.
        let first = store((*config).clone(), &browser);
        assert_eq!(first.load().await.unwrap(), None);
        assert!(!first.changed());
        first.save(&tokens(RT)).await.unwrap();
        assert!(first.changed());
        assert_eq!(first.load().await.unwrap(), Some(tokens(RT)));
        let mut response = HeaderMap::new();
        assert!(first.apply_to(&mut response));
        assert_eq!(response[CACHE_CONTROL], "private, no-store");
        assert!(first.take_set_cookies().is_empty(), "apply_to takes them");
        for header in response.get_all(SET_COOKIE) {
            browser.apply_header(header.to_str().unwrap());
        }

        // Request 2: the session comes back; a refresh saves a new token.
        let second = CookieTokenStore::new(config.clone(), &browser.header());
        let loaded = second.load().await.unwrap().unwrap();
        assert_eq!(loaded.refresh_token.expose_secret(), RT);
        second
            .save(&tokens("f3b1a2c4-5d6e-4f70-8a9b-0c1d2e3f4a5b"))
            .await
            .unwrap();
        assert_eq!(
            second.set_cookie_headers().len(),
            second.take_set_cookies().len()
        );
        let mut response = HeaderMap::new();
        second.save(&tokens("new-and-last")).await.unwrap();
        second.apply_to(&mut response);
        for header in response.get_all(SET_COOKIE) {
            browser.apply_header(header.to_str().unwrap());
        }
        let read = config.read(&browser.header()).unwrap();
        assert_eq!(
            read.refresh_token.expose_secret(),
            "new-and-last",
            "{format}: the last save wins"
        );

        // Request 3: sign-out clears every cookie of the format.
        let third = CookieTokenStore::new(config.clone(), &browser.header());
        third.clear().await.unwrap();
        assert_eq!(third.load().await.unwrap(), None);
        browser.apply(&third.take_set_cookies());
        assert!(
            browser.cookies.is_empty(),
            "{format}: {:?}",
            browser.names()
        );
        assert_eq!(config.read(&browser.header()), None);
    }
}

#[tokio::test]
async fn a_refused_save_changes_nothing() {
    let mut browser = Browser::default();
    let config = CookieConfig::nhost_js4();
    browser.apply(
        &config
            .write(&tokens(RT), now(), &RequestCookies::empty())
            .unwrap(),
    );
    let store = store(config, &browser);
    let without_jwt = StoredTokens {
        access_token: None,
        ..tokens("other")
    };
    let error = store.save(&without_jwt).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Rejected(ref m) if m.contains("access token")),
        "{error}"
    );
    assert!(!store.changed());
    assert!(store.take_set_cookies().is_empty());
    assert_eq!(
        store
            .load()
            .await
            .unwrap()
            .unwrap()
            .refresh_token
            .expose_secret(),
        RT
    );
}

#[test]
fn nothing_secret_in_debug_or_errors() {
    let mut browser = Browser::default();
    for format in [
        CookieFormat::Own,
        CookieFormat::NextJs2,
        CookieFormat::NhostJs4,
    ] {
        let config = CookieConfig::builder(format).build().unwrap();
        let set_cookies = config
            .write(&tokens(RT), now(), &RequestCookies::empty())
            .unwrap();
        browser.apply(&set_cookies);
        let store = store(config.clone(), &browser);
        let debug = format!(
            "{set_cookies:?} {store:?} {:?} {config:?}",
            store.request_cookies()
        );
        for secret in [RT, JWT_SECRET_PART] {
            assert!(!debug.contains(secret), "{format}: {debug}");
        }
        assert!(set_cookies.iter().all(|c| c.header_value().is_sensitive()));
    }
    let huge = StoredTokens {
        refresh_token: RefreshToken::new(format!("{RT}{}", "x".repeat(5000))),
        ..tokens(RT)
    };
    let error = CookieConfig::nhost_js4()
        .write(&huge, now(), &RequestCookies::empty())
        .unwrap_err();
    assert!(!error.to_string().contains(RT) && !format!("{error:?}").contains(RT));
}

#[test]
fn a_smaller_value_expires_the_chunks_of_a_larger_one() {
    let config = CookieConfig::own();
    let mut browser = Browser::default();
    let big = tokens(&"r".repeat(8000));
    browser.apply(&config.write(&big, now(), &RequestCookies::empty()).unwrap());
    assert_eq!(
        browser.names(),
        ["nhost-session.0", "nhost-session.1", "nhost-session.2"]
    );
    assert_eq!(
        config.read(&browser.header()).unwrap().refresh_token,
        big.refresh_token
    );

    let request = config.request_cookies(&browser.header());
    let set_cookies = config.write(&tokens(RT), now(), &request).unwrap();
    let removed: Vec<&str> = set_cookies
        .iter()
        .filter(|c| c.is_removal())
        .map(|c| c.name())
        .collect();
    assert_eq!(
        removed,
        ["nhost-session.0", "nhost-session.1", "nhost-session.2"]
    );
    browser.apply(&set_cookies);
    assert_eq!(browser.names(), ["nhost-session"]);

    // And back: chunks replace the single cookie, which is expired.
    let request = config.request_cookies(&browser.header());
    browser.apply(&config.write(&big, now(), &request).unwrap());
    assert_eq!(
        browser.names(),
        ["nhost-session.0", "nhost-session.1", "nhost-session.2"]
    );
}

#[test]
fn a_missing_chunk_is_no_session() {
    let config = CookieConfig::own();
    let mut browser = Browser::default();
    browser.apply(
        &config
            .write(&tokens(&"r".repeat(8000)), now(), &RequestCookies::empty())
            .unwrap(),
    );
    browser.cookies.retain(|c| c.name != "nhost-session.1");
    assert_eq!(config.read(&browser.header()), None);
}

#[test]
fn nextjs2_drops_what_it_cannot_rewrite() {
    let config = CookieConfig::nextjs2();
    let mut browser = Browser::default();
    browser.apply(
        &config
            .write(&tokens(RT), now(), &RequestCookies::empty())
            .unwrap(),
    );
    assert_eq!(
        browser.names(),
        [
            nextjs2::REFRESH_TOKEN,
            nextjs2::EXPIRES_AT,
            nextjs2::REFRESH_TOKEN_ID,
            nextjs2::SESSION
        ]
    );

    // A session without JWT, id or expiry (restored from another format): the old nhostSession
    // would pair an old JWT with the new refresh token, so it goes, like the id and expiry.
    let bare = StoredTokens {
        refresh_token: RefreshToken::new("new"),
        refresh_token_id: String::new(),
        access_token_expires_at: None,
        access_token: None,
        user: None,
    };
    let request = config.request_cookies(&browser.header());
    browser.apply(&config.write(&bare, now(), &request).unwrap());
    assert_eq!(browser.names(), [nextjs2::REFRESH_TOKEN]);
    assert_eq!(config.read(&browser.header()), Some(bare));

    // Turned off, nhostSession is never written.
    let off = CookieConfig::builder(CookieFormat::NextJs2)
        .nextjs_session_cookie(false)
        .build()
        .unwrap();
    let names: Vec<String> = off
        .write(&tokens(RT), now(), &RequestCookies::empty())
        .unwrap()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            nextjs2::REFRESH_TOKEN,
            nextjs2::REFRESH_TOKEN_ID,
            nextjs2::EXPIRES_AT
        ]
    );
}

#[test]
fn nextjs2_session_cookie_is_strict_and_expires_a_minute_before_the_jwt() {
    let config = CookieConfig::nextjs2();
    let cookies = config
        .write(&tokens(RT), now(), &RequestCookies::empty())
        .unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == nextjs2::SESSION)
        .unwrap();
    let text = session.header_value().to_str().unwrap();
    assert!(
        text.contains("SameSite=Strict") && text.contains("Max-Age=840"),
        "{text}"
    );
    let refresh = cookies[0].header_value().to_str().unwrap();
    assert!(
        refresh.contains("SameSite=Lax") && refresh.contains("Max-Age=2592000"),
        "{refresh}"
    );
    assert!(
        !refresh.contains("Secure") && !refresh.contains("HttpOnly"),
        "{refresh}"
    );

    // Within a minute of the JWT's expiry there is no point: not written.
    let soon = StoredTokens {
        access_token_expires_at: Some(now() + Duration::seconds(59)),
        ..tokens(RT)
    };
    let cookies = config
        .write(&soon, now(), &RequestCookies::empty())
        .unwrap();
    assert!(cookies.iter().all(|c| c.name() != nextjs2::SESSION));
}

#[test]
fn removal_cookies_repeat_every_attribute() {
    let config = CookieConfig::builder(CookieFormat::Own)
        .name("__Secure-s")
        .domain("example.com")
        .path("/app")
        .same_site(SameSite::Strict)
        .max_age(Duration::days(7))
        .build()
        .unwrap();
    let set = config
        .write(&tokens(RT), now(), &RequestCookies::empty())
        .unwrap();
    let text = set[0].header_value().to_str().unwrap();
    for part in [
        "Path=/app",
        "Domain=example.com",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=604800",
        "Expires=Wed, 08 Jan 2025",
    ] {
        assert!(text.contains(part), "{text}");
    }
    let removal = config.remove(&RequestCookies::empty());
    let text = removal[0].header_value().to_str().unwrap();
    for part in [
        "__Secure-s=;",
        "Path=/app",
        "Domain=example.com",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=0",
    ] {
        assert!(text.contains(part), "{text}");
    }
}

#[cfg(feature = "private")]
#[test]
fn private_cookies_hide_the_refresh_token_and_need_the_key() {
    let key = nhost_session_cookie::Key::generate();
    let config = CookieConfig::builder(CookieFormat::Own)
        .private(key)
        .build()
        .unwrap();
    let set = config
        .write(&tokens(RT), now(), &RequestCookies::empty())
        .unwrap();
    let mut browser = Browser::default();
    browser.apply(&set);
    let value = &browser.cookies[0].value;
    assert!(!value.contains("8b4e2c9a"));
    assert!(
        URL_SAFE_NO_PAD
            .decode(value)
            .map_or(true, |b| !String::from_utf8_lossy(&b).contains("8b4e2c9a"))
    );
    assert_eq!(
        config
            .read(&browser.header())
            .unwrap()
            .refresh_token
            .expose_secret(),
        RT
    );
    let other = CookieConfig::builder(CookieFormat::Own)
        .private(nhost_session_cookie::Key::generate())
        .build()
        .unwrap();
    assert_eq!(other.read(&browser.header()), None);
    assert_eq!(CookieConfig::own().read(&browser.header()), None);
}

#[cfg(feature = "signed")]
#[test]
fn signed_cookies_refuse_forgeries() {
    let key = nhost_session_cookie::Key::generate();
    let config = CookieConfig::builder(CookieFormat::Own)
        .signed(key)
        .build()
        .unwrap();
    let mut browser = Browser::default();
    browser.apply(
        &config
            .write(&tokens(RT), now(), &RequestCookies::empty())
            .unwrap(),
    );
    assert!(config.read(&browser.header()).is_some());
    // An unsigned cookie of the right shape, as an attacker could make one.
    let mut forged = Browser::default();
    forged.apply(
        &CookieConfig::own()
            .write(&tokens("attacker"), now(), &RequestCookies::empty())
            .unwrap(),
    );
    assert_eq!(config.read(&forged.header()), None);
}
