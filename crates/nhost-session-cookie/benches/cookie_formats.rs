//! Cookie parse (`CookieConfig::read`, and `read_refresh_token` alone) and write
//! (`CookieConfig::write`) per format.
//!
//! Run: `cargo bench -p nhost-session-cookie --bench cookie_formats`.
//!
//! The session is shaped like the auth server's: an RS256 JWT (a 2048-bit signature) with the
//! Hasura claims, a UUID refresh token and id, and a user object. Reading starts from a request
//! `HeaderMap` holding the format's cookies and one unrelated cookie; writing produces the
//! `Set-Cookie` values.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use http::header::COOKIE;
use nhost_session_cookie::{CookieConfig, CookieFormat, Key, RequestCookies};
use nhost_session_core::{AccessToken, RefreshToken, StoredTokens, User};
use serde_json::json;
use time::OffsetDateTime;

const USER_ID: &str = "6f1f9f5e-2a7b-4f0e-9d57-3c1b8f1f3a21";

/// A JWT as the auth server makes them (RS256: a 256-byte signature).
fn jwt(iat: i64, exp: i64) -> String {
    let claims = json!({
        "x-hasura-user-id": USER_ID,
        "x-hasura-default-role": "user",
        "x-hasura-allowed-roles": ["user", "me"],
        "x-hasura-user-is-anonymous": "false",
        "x-hasura-organisation-ids": "{}",
    });
    let payload = json!({
        "sub": USER_ID, "iat": iat, "exp": exp, "iss": "hasura-auth",
        "https://hasura.io/jwt/claims": claims,
    });
    let header =
        json!({"alg": "RS256", "kid": "1b0e2c5e-3f4a-4d2b-9c1e-7a8b9c0d1e2f", "typ": "JWT"});
    let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(&header),
        enc(&payload),
        URL_SAFE_NO_PAD.encode([0x5a_u8; 256])
    )
}

fn tokens(now: OffsetDateTime) -> StoredTokens {
    let user: User = serde_json::from_value(json!({
        "id": USER_ID,
        "createdAt": "2025-01-02T03:04:05.678Z",
        "displayName": "Bench User",
        "avatarUrl": "",
        "locale": "en",
        "email": "bench@example.com",
        "emailVerified": true,
        "phoneNumber": null,
        "phoneNumberVerified": false,
        "isAnonymous": false,
        "defaultRole": "user",
        "roles": ["user", "me"],
        "metadata": null,
        "activeMfaType": null
    }))
    .unwrap();
    let iat = now.unix_timestamp();
    StoredTokens {
        refresh_token: RefreshToken::new("8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11"),
        refresh_token_id: "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b".into(),
        access_token_expires_at: Some(now + time::Duration::seconds(900)),
        access_token: Some(AccessToken::new(jwt(iat, iat + 900))),
        user: Some(user),
    }
}

fn bench(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let tokens = tokens(now);
    let key = Key::from(&[7u8; 64]);
    let formats = [
        ("own", CookieConfig::own()),
        (
            "own, signed",
            CookieConfig::builder(CookieFormat::Own)
                .signed(key.clone())
                .build()
                .unwrap(),
        ),
        (
            "own, private",
            CookieConfig::builder(CookieFormat::Own)
                .private(key)
                .build()
                .unwrap(),
        ),
        ("nextjs2", CookieConfig::nextjs2()),
        ("nhost_js4", CookieConfig::nhost_js4()),
    ];
    let mut read = c.benchmark_group("cookie read");
    for (name, config) in &formats {
        let set = config
            .write(&tokens, now, &RequestCookies::empty())
            .unwrap();
        let mut header = String::from("theme=dark");
        for cookie in &set {
            header.push_str("; ");
            header.push_str(
                cookie
                    .header_value()
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap(),
            );
        }
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, header.parse().unwrap());
        assert!(config.read(&headers).is_some(), "{name} reads back");
        read.bench_function(format!("{name} ({} bytes)", header.len()), |b| {
            b.iter(|| std::hint::black_box(config.read(std::hint::black_box(&headers))))
        });
        // What the actix middleware does per request: the refresh token alone.
        read.bench_function(format!("{name}, refresh token only"), |b| {
            b.iter(|| {
                let cookies = config.request_cookies(std::hint::black_box(&headers));
                std::hint::black_box(config.read_refresh_token(&cookies))
            })
        });
    }
    read.finish();
    let mut write = c.benchmark_group("cookie write");
    let empty = RequestCookies::empty();
    for (name, config) in &formats {
        write.bench_function(*name, |b| {
            b.iter(|| {
                std::hint::black_box(config.write(std::hint::black_box(&tokens), now, &empty))
            })
        });
    }
    write.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
