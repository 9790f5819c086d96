//! Arbitrary sessions written in every format, with arbitrary cookie attributes and whatever
//! cookies the request already carried, then read back.
//!
//! Checks: a client restores the session from a store without panicking;
//! `CookieConfigBuilder::build` and `write` never panic; a write either fails with a
//! reason a caller can act on (too large, missing session data, blank refresh token, an access
//! token that is not a JWT) or gives `Set-Cookie` values within the size limit that read back as
//! the same session, as far as the format keeps it.

#![no_main]

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use nhost_session_cookie::{CookieConfig, CookieError, CookieFormat, Key, SameSite};
use nhost_session_core::{AccessToken, MemoryTokenStore, RefreshToken, StoredTokens, User};
use nhost_session_fuzz::cookies::{CONFIGS, check_read_back, check_set_cookies, request_from};
use nhost_session_fuzz::{check_tokens_debug, restore_client, sign_hs256};
use time::{Duration, OffsetDateTime};

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    refresh_token: String,
    refresh_token_id: String,
    /// Seconds and nanoseconds, folded into the range `OffsetDateTime` holds.
    expires_at: Option<(i64, u32)>,
    access_token: Option<Token>,
    /// A user as JSON, or failing that, a user with this id.
    user: Option<String>,
    now: i64,
    /// The `Cookie` header of the request the session is written in answer to.
    request: String,
}

#[derive(Arbitrary, Debug)]
enum Config {
    /// One of the fixed configurations.
    Fixed(u8),
    /// A configuration built from arbitrary attributes (most are refused).
    Built(Attributes),
}

#[derive(Arbitrary, Debug)]
struct Attributes {
    format: u8,
    name: Option<String>,
    path: Option<String>,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: u8,
    max_age: i64,
    nextjs_session_cookie: bool,
    protection: u8,
}

#[derive(Arbitrary, Debug)]
enum Token {
    /// Any text.
    Raw(String),
    /// A signed JWT with this payload (nhost-js 4 decodes it).
    Payload(String),
}

fn time_in_range(seconds: i64, nanos: u32) -> OffsetDateTime {
    const MIN: i64 = -377_705_116_800; // -9999-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let seconds = MIN + seconds.rem_euclid(MAX - MIN + 1);
    let time = OffsetDateTime::from_unix_timestamp(seconds).expect("in range");
    time.replace_nanosecond(nanos % 1_000_000_000)
        .expect("valid nanoseconds")
}

fn build(attributes: &Attributes) -> Option<CookieConfig> {
    let format = match attributes.format % 3 {
        0 => CookieFormat::Own,
        1 => CookieFormat::NextJs2,
        _ => CookieFormat::NhostJs4,
    };
    let mut builder = CookieConfig::builder(format)
        .secure(attributes.secure)
        .http_only(attributes.http_only)
        .same_site(match attributes.same_site % 4 {
            0 => None,
            1 => Some(SameSite::Lax),
            2 => Some(SameSite::Strict),
            _ => Some(SameSite::None),
        })
        .max_age(Duration::seconds(attributes.max_age))
        .nextjs_session_cookie(attributes.nextjs_session_cookie);
    if let Some(name) = &attributes.name {
        builder = builder.name(name.clone());
    }
    if let Some(path) = &attributes.path {
        builder = builder.path(path.clone());
    }
    if let Some(domain) = &attributes.domain {
        builder = builder.domain(domain.clone());
    }
    let key = Key::try_from(&[0xa5_u8; 64][..]).expect("64 bytes make a key");
    builder = match attributes.protection % 3 {
        0 => builder,
        1 => builder.signed(key),
        _ => builder.private(key),
    };
    let config = builder.build().ok()?;
    assert_eq!(config.format(), format);
    Some(config)
}

fuzz_target!(|input: Input| {
    let config = match &input.config {
        Config::Fixed(index) => CONFIGS[usize::from(*index) % CONFIGS.len()].1.clone(),
        Config::Built(attributes) => match build(attributes) {
            Some(config) => config,
            None => return,
        },
    };
    let user = input.user.as_ref().map(|text| {
        serde_json::from_str::<User>(text).unwrap_or_else(|_| User {
            id: text.clone(),
            ..User::default()
        })
    });
    let tokens = StoredTokens {
        refresh_token: RefreshToken::new(input.refresh_token.as_str()),
        refresh_token_id: input.refresh_token_id.clone(),
        access_token_expires_at: input.expires_at.map(|(s, n)| time_in_range(s, n)),
        access_token: input.access_token.as_ref().map(|token| match token {
            Token::Raw(text) => AccessToken::new(text.as_str()),
            Token::Payload(json) => AccessToken::new(sign_hs256(json.as_bytes())),
        }),
        user,
    };
    check_tokens_debug(&tokens);
    // Whatever a store holds, a client restores it without panicking.
    restore_client(MemoryTokenStore::with_tokens(tokens.clone()));
    let now = time_in_range(input.now, 0);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&input.request) {
        headers.insert(COOKIE, value);
    }
    let request = config.request_cookies(&headers);

    let set = match config.write(&tokens, now, &request) {
        Ok(set) => set,
        Err(CookieError::InvalidHeader { name }) => {
            panic!("a validated configuration wrote an invalid header for {name}")
        }
        Err(CookieError::EmptyRefreshToken) => {
            assert!(tokens.refresh_token.expose_secret().trim().is_empty());
            return;
        }
        Err(CookieError::Serialize(message)) => {
            // The other errors hold names, sizes and fixed reasons only, by their types.
            if input.refresh_token.len() >= 16 {
                assert!(
                    !message.contains(&input.refresh_token),
                    "an error quotes the token"
                );
            }
            return;
        }
        Err(_) => return,
    };
    check_set_cookies(&config, &set);
    let back = config
        .read(&request_from(&set))
        .expect("a session just written reads back");
    check_read_back("written", &config, &tokens, &back);
});
