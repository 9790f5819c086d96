//! Interop with the real JavaScript SDKs, run in Node with a `document.cookie` stand-in and a
//! fake auth service (`interop/`): cookies go both ways, and the sessions must be equal.
//!
//! Needs `node` and `npm ci --prefix crates/nhost-session-cookie/interop`. Without them the
//! tests are skipped (with a note on stderr), except in CI (`CI=true`), where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use nhost_session_cookie::{CookieConfig, CookieTokenStore, SetCookie, nextjs2};
use nhost_session_core::{AccessToken, RefreshToken, StoredTokens, TokenStore, User};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The interop folder, when Node and the SDKs are installed.
fn interop_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop");
    let installed = ["@nhost/nhost-js", "@nhost/hasura-auth-js", "js-cookie"]
        .iter()
        .all(|package| {
            dir.join("node_modules")
                .join(package)
                .join("package.json")
                .is_file()
        });
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if installed && node {
        return Some(dir);
    }
    let reason = if node {
        "the JavaScript SDKs are not installed: run `npm ci --prefix crates/nhost-session-cookie/interop`"
    } else {
        "`node` is not on the PATH (Node 20 or later is needed)"
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("JS interop tests cannot run in CI: {reason}");
    }
    eprintln!("skipping the JS interop test: {reason}");
    None
}

/// Runs one interop script with `input` on stdin; returns its JSON answer.
fn node(dir: &PathBuf, script: &str, input: &Value) -> Value {
    let mut child = Command::new("node")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed: {stderr}");
    if !stderr.trim().is_empty() {
        eprintln!("{script} said on stderr: {stderr}");
    }
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} answered no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A session as the auth service answers it, with a real-looking JWT valid for 15 minutes
/// from now (the SDKs look at its `exp`), and the tokens Rust should read from it.
struct Fixture {
    session: Value,
    user: User,
    access_token: String,
    exp: i64,
}

impl Fixture {
    fn new(refresh_token: &str, refresh_token_id: &str, tag: &str) -> Self {
        let iat = OffsetDateTime::now_utc().unix_timestamp();
        let exp = iat + 900;
        let payload = json!({
            "sub": "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24", "iat": iat, "exp": exp, "iss": "hasura-auth",
            "https://hasura.io/jwt/claims": {
                "x-hasura-user-id": "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24",
                "x-hasura-default-role": "user",
                "x-hasura-allowed-roles": ["user", "me"],
                "x-hasura-user-is-anonymous": "false",
                "x-hasura-org-ids": "{\"a b\",c}",
                "x-hasura-tag": tag,
            }
        });
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let access_token = format!(
            "{}.{}.{}",
            enc(&json!({"alg": "HS256", "typ": "JWT"})),
            enc(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        );
        let user = User {
            id: "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24".into(),
            created_at: OffsetDateTime::parse("2025-01-02T03:04:05.123456Z", &Rfc3339).ok(),
            display_name: "Zoë \"Z\"; O'Neil = 100% + 1/2 <tag> 😀".into(),
            avatar_url: "https://example.com/a b.png?x=1&y=2".into(),
            locale: "fr".into(),
            email: Some("zoe+test@example.com".into()),
            email_verified: true,
            phone_number: None,
            phone_number_verified: false,
            is_anonymous: false,
            default_role: "user".into(),
            roles: vec!["user".into(), "me".into()],
            metadata: Some(
                json!({"plan": "pro; tier=2", "tags": ["a,b", "c"], "n": 1.5})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
            active_mfa_type: None,
        };
        let session = json!({
            "accessToken": access_token,
            "accessTokenExpiresIn": 900,
            "refreshToken": refresh_token,
            "refreshTokenId": refresh_token_id,
            "user": serde_json::to_value(&user).unwrap(),
        });
        Self {
            session,
            user,
            access_token,
            exp,
        }
    }

    fn refresh_token(&self) -> &str {
        self.session["refreshToken"].as_str().unwrap()
    }

    fn refresh_token_id(&self) -> &str {
        self.session["refreshTokenId"].as_str().unwrap()
    }

    fn exp_time(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap()
    }

    /// The tokens Rust holds for this session, expiring at `expires_at`.
    fn tokens(&self, expires_at: OffsetDateTime) -> StoredTokens {
        StoredTokens {
            refresh_token: RefreshToken::new(self.refresh_token()),
            refresh_token_id: self.refresh_token_id().to_owned(),
            access_token_expires_at: Some(expires_at),
            access_token: Some(AccessToken::new(self.access_token.as_str())),
            user: Some(self.user.clone()),
        }
    }

    /// nhost-js 4's `decodedToken` for this JWT, written out by hand.
    fn decoded_token(&self) -> Value {
        let payload = self.access_token.split('.').nth(1).unwrap();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        payload["iat"] = json!(payload["iat"].as_i64().unwrap() * 1000);
        payload["exp"] = json!(payload["exp"].as_i64().unwrap() * 1000);
        payload["https://hasura.io/jwt/claims"]["x-hasura-org-ids"] = json!(["a b", "c"]);
        payload
    }
}

/// Token pairs to try: what the server issues (UUIDs), and values full of characters the
/// encodings must get right.
fn token_styles() -> [(&'static str, &'static str); 2] {
    [
        (
            "8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11",
            "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b",
        ),
        ("rt; \"q\" é=% +/?#&<>[]{}|^`@:,\\ 😀", "id=1; path=/ %41 ü"),
    ]
}

fn cookie_header(text: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(text).unwrap());
    headers
}

fn headers_text(set_cookies: &[SetCookie]) -> Vec<String> {
    set_cookies
        .iter()
        .map(|c| c.header_value().to_str().unwrap().to_owned())
        .collect()
}

/// The attributes of a `Set-Cookie` or `document.cookie` string that matter for interop,
/// normalised: lower case, without the times (`expires`, `max-age`), sorted.
fn attributes(text: &str) -> Vec<String> {
    let mut attributes: Vec<String> = text
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.starts_with("expires=") && !a.starts_with("max-age="))
        .collect();
    attributes.sort();
    attributes
}

/// The `Expires` time of a cookie string.
fn expires(text: &str) -> OffsetDateTime {
    let value = text
        .split(';')
        .find_map(|a| {
            a.trim()
                .strip_prefix("expires=")
                .or_else(|| a.trim().strip_prefix("Expires="))
        })
        .unwrap();
    let parsed = cookie::Cookie::parse(format!("x=y; Expires={value}")).unwrap();
    parsed.expires_datetime().unwrap()
}

fn value_of<'a>(text: &'a str, name: &str) -> &'a str {
    text.split(';')
        .next()
        .unwrap()
        .strip_prefix(&format!("{name}="))
        .unwrap()
}

fn decode_uri_component(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn nhost_js4_cookie_written_by_the_sdk_is_read_by_rust() {
    let Some(dir) = interop_dir() else { return };
    for (refresh_token, id) in token_styles() {
        let fixture = Fixture::new(refresh_token, id, "js-wrote");
        let out = node(
            &dir,
            "nhost-js4.mjs",
            &json!({"scenario": "write", "signInSession": fixture.session}),
        );
        let js_write = out["scriptWrites"][0].as_str().unwrap();

        // Rust reads the very session nhost-js stored: tokens, id, JWT, user; the expiry is
        // the JWT's `exp`, as nhost-js itself uses it.
        let config = CookieConfig::nhost_js4();
        let read = config
            .read(&cookie_header(out["cookieHeader"].as_str().unwrap()))
            .expect("a session");
        assert_eq!(read, fixture.tokens(fixture.exp_time()));

        // And Rust writes the same cookie: same JSON (decodedToken included), same attributes.
        let now = OffsetDateTime::now_utc();
        let ours = headers_text(
            &config
                .write(&read, now, &config.request_cookies(&HeaderMap::new()))
                .unwrap(),
        );
        let js_json: Value =
            serde_json::from_str(&decode_uri_component(value_of(js_write, "nhostSession")))
                .unwrap();
        let our_json: Value =
            serde_json::from_str(&decode_uri_component(value_of(&ours[0], "nhostSession")))
                .unwrap();
        assert_eq!(our_json, js_json);
        assert_eq!(our_json["decodedToken"], fixture.decoded_token());
        assert_eq!(attributes(&ours[0]), attributes(js_write));
        assert_eq!(attributes(js_write), ["path=/", "samesite=lax", "secure"]);
        assert!((expires(&ours[0]) - expires(js_write)).abs() < Duration::minutes(1));
        assert!((expires(js_write) - (now + Duration::days(30))).abs() < Duration::minutes(1));
    }
}

#[test]
fn nhost_js4_reads_the_cookie_rust_wrote_and_refreshes_with_it() {
    let Some(dir) = interop_dir() else { return };
    for (refresh_token, id) in token_styles() {
        let first = Fixture::new(refresh_token, id, "rust-wrote");
        let second = Fixture::new("f3b1a2c4-5d6e-4f70-8a9b-0c1d2e3f4a5b", id, "refreshed");

        // A Rust request handler saves the session through the TokenStore.
        let store = CookieTokenStore::new(CookieConfig::nhost_js4(), &HeaderMap::new());
        block_on(store.save(&first.tokens(first.exp_time()))).unwrap();
        let set_cookies = headers_text(&store.take_set_cookies());

        let out = node(
            &dir,
            "nhost-js4.mjs",
            &json!({
                "scenario": "read",
                "setCookies": set_cookies,
                "refreshSession": second.session,
                "expectedRefreshToken": first.refresh_token(),
            }),
        );
        // nhost-js reads exactly the session Rust stored.
        let mut expected = first.session.clone();
        expected["decodedToken"] = first.decoded_token();
        assert_eq!(out["readSession"], expected);
        // It refreshed with the refresh token Rust wrote (the fake accepts only that one)...
        let token_calls: Vec<&Value> = out["received"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"] == "/v1/token")
            .collect();
        assert_eq!(token_calls.len(), 1);
        assert_eq!(
            token_calls[0]["body"]["refreshToken"],
            first.refresh_token()
        );
        assert_eq!(out["refreshed"], second.session);
        let mut stored = second.session.clone();
        stored["decodedToken"] = second.decoded_token();
        assert_eq!(out["session"], stored);
        // ...and what it wrote after the refresh reads back in Rust as the new session.
        let read =
            CookieConfig::nhost_js4().read(&cookie_header(out["cookieHeader"].as_str().unwrap()));
        assert_eq!(read, Some(second.tokens(second.exp_time())));
    }
}

#[test]
fn hasura_auth_js2_cookies_written_by_the_sdk_are_read_by_rust() {
    let Some(dir) = interop_dir() else { return };
    for (refresh_token, id) in token_styles() {
        let fixture = Fixture::new(refresh_token, id, "js-wrote");
        let before = OffsetDateTime::now_utc();
        let out = node(
            &dir,
            "hasura-auth-js2.cjs",
            &json!({"scenario": "write", "signInSession": fixture.session}),
        );
        let after = OffsetDateTime::now_utc();
        let writes: Vec<&str> = out["scriptWrites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        let js_write = |name: &str| {
            *writes
                .iter()
                .find(|w| w.starts_with(&format!("{name}=")))
                .unwrap()
        };

        // hasura-auth-js stores the ACCESS token's expiry: sign-in time + accessTokenExpiresIn.
        let iso = js_write(nextjs2::EXPIRES_AT)
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1;
        let expires_at = OffsetDateTime::parse(&decode_uri_component(iso), &Rfc3339).unwrap();
        assert!(
            expires_at >= before + Duration::seconds(899)
                && expires_at <= after + Duration::seconds(901)
        );

        let config = CookieConfig::nextjs2();
        let read = config
            .read(&cookie_header(out["cookieHeader"].as_str().unwrap()))
            .expect("a session");
        // Tokens, id and expiry from hasura-auth-js's cookies; JWT and user from @nhost/nextjs's
        // nhostSession.
        assert_eq!(read, fixture.tokens(expires_at));

        // Rust writes the same cookies with the same attributes and the same values.
        let ours = headers_text(
            &config
                .write(
                    &read,
                    OffsetDateTime::now_utc(),
                    &config.request_cookies(&HeaderMap::new()),
                )
                .unwrap(),
        );
        for name in [
            nextjs2::REFRESH_TOKEN,
            nextjs2::REFRESH_TOKEN_ID,
            nextjs2::EXPIRES_AT,
            nextjs2::SESSION,
        ] {
            let mine = ours
                .iter()
                .find(|c| c.starts_with(&format!("{name}=")))
                .unwrap();
            let theirs = js_write(name);
            assert_eq!(attributes(mine), attributes(theirs), "{name}");
            if name != nextjs2::SESSION {
                assert_eq!(value_of(mine, name), value_of(theirs, name), "{name}");
            } else {
                let parse =
                    |v: &str| -> Value { serde_json::from_str(&decode_uri_component(v)).unwrap() };
                let (mut mine, mut theirs) =
                    (parse(value_of(mine, name)), parse(value_of(theirs, name)));
                // Seconds remaining: measured at different moments.
                let remaining = |v: &mut Value| {
                    v.as_object_mut()
                        .unwrap()
                        .remove("accessTokenExpiresIn")
                        .unwrap()
                        .as_f64()
                        .unwrap()
                };
                assert!((remaining(&mut mine) - remaining(&mut theirs)).abs() < 30.0);
                assert_eq!(mine, theirs);
            }
        }
        assert_eq!(
            attributes(js_write(nextjs2::REFRESH_TOKEN)),
            ["path=/", "samesite=lax"]
        );
        assert_eq!(
            attributes(js_write(nextjs2::SESSION)),
            ["path=/", "samesite=strict"]
        );
    }
}

#[test]
fn hasura_auth_js2_reads_the_cookies_rust_wrote_and_refreshes_with_them() {
    let Some(dir) = interop_dir() else { return };
    for (refresh_token, id) in token_styles() {
        let first = Fixture::new(refresh_token, id, "rust-wrote");
        let second = Fixture::new(
            "f3b1a2c4-5d6e-4f70-8a9b-0c1d2e3f4a5b",
            "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
            "refreshed",
        );
        let expires_at = OffsetDateTime::now_utc() + Duration::seconds(900);

        let store = CookieTokenStore::new(CookieConfig::nextjs2(), &HeaderMap::new());
        block_on(store.save(&first.tokens(expires_at))).unwrap();
        let set_cookies = headers_text(&store.take_set_cookies());

        let out = node(
            &dir,
            "hasura-auth-js2.cjs",
            &json!({
                "scenario": "read",
                "setCookies": set_cookies,
                "refreshSession": second.session,
                "expectedRefreshToken": first.refresh_token(),
            }),
        );
        // js-cookie (what @nhost/nextjs reads with) decodes exactly what Rust stored.
        let js_cookie = &out["jsCookie"];
        assert_eq!(js_cookie[nextjs2::REFRESH_TOKEN], first.refresh_token());
        assert_eq!(
            js_cookie[nextjs2::REFRESH_TOKEN_ID],
            first.refresh_token_id()
        );
        let iso = js_cookie[nextjs2::EXPIRES_AT].as_str().unwrap();
        assert_eq!(
            OffsetDateTime::parse(iso, &Rfc3339)
                .unwrap()
                .unix_timestamp_nanos()
                / 1_000_000,
            expires_at.unix_timestamp_nanos() / 1_000_000
        );
        assert!(
            iso.ends_with('Z') && iso.len() == "2025-01-01T00:00:00.000Z".len(),
            "{iso}"
        );
        let next_session: Value =
            serde_json::from_str(js_cookie[nextjs2::SESSION].as_str().unwrap()).unwrap();
        assert_eq!(next_session["accessToken"], first.access_token.as_str());
        assert_eq!(next_session["user"], first.session["user"]);
        assert!((next_session["accessTokenExpiresIn"].as_f64().unwrap() - 900.0).abs() < 30.0);
        assert!(next_session.get("refreshToken").is_none());

        // The client took the refresh token from the cookie and refreshed with it.
        assert_eq!(out["authenticated"], true);
        let token_calls: Vec<&Value> = out["received"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"] == "/v1/token")
            .collect();
        assert_eq!(token_calls.len(), 1);
        assert_eq!(
            token_calls[0]["body"]["refreshToken"],
            first.refresh_token()
        );
        assert_eq!(out["session"]["user"], second.session["user"]);

        // The cookies it wrote after the refresh (and @nhost/nextjs's new nhostSession) read
        // back in Rust as the new session.
        let read = CookieConfig::nextjs2()
            .read(&cookie_header(out["cookieHeader"].as_str().unwrap()))
            .expect("a session");
        let expiry = read.access_token_expires_at.unwrap();
        assert!(
            (expiry - (OffsetDateTime::now_utc() + Duration::seconds(900))).abs()
                < Duration::seconds(30)
        );
        assert_eq!(read, second.tokens(expiry));
    }
}
