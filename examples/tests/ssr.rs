//! The `ssr` example, started in process on the embedded test server with a short JWT
//! lifetime: its routes over HTTP, then a real browser (headless Chromium through
//! chromedriver) signing in, reloading after expiry, firing parallel requests, signing out
//! and signing in through the provider callback.
//!
//! The browser test needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages
//! `chromium` and `chromium-driver`; `.ci/run` installs them). Without them it fails when
//! `CI=true` and is skipped (with a message on stderr) otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../ssr/app.rs"]
mod app;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use fantoccini::{ClientBuilder, Locator};
use futures_util::FutureExt as _;
use nhost_session_actix::cookie::CookieConfig;
use nhost_session_actix::core::{AuthApi, RefreshToken};
use nhost_session_examples::{Backend, DEMO_EMAIL, DEMO_PASSWORD};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::FakeAuthServer;
use serde_json::Value;

const TOKEN_PATH: &str = "/v1/token";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The example's site, running on a thread of its own with an embedded auth server.
struct Site {
    addr: SocketAddr,
    backend: Arc<Backend>,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Site {
    fn start(access_token_ttl: Duration) -> Self {
        let backend = Arc::new(
            Backend::embedded_with(FakeAuthServer::builder().access_token_ttl(access_token_ttl))
                .unwrap(),
        );
        let middleware = app::middleware(backend.auth_url.clone()).unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread_backend = Arc::clone(&backend);
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let bound = app::bind(&thread_backend, middleware, "127.0.0.1:0").unwrap();
                sender.send((bound.addr, bound.server.handle())).unwrap();
                let _ = bound.server.await;
            });
        });
        let (addr, handle) = receiver.recv().unwrap();
        Self {
            addr,
            backend,
            handle,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn auth(&self) -> &FakeAuthServer {
        self.backend.server().unwrap()
    }

    fn token_calls(&self) -> u64 {
        self.auth().stats().calls_to(TOKEN_PATH)
    }

    fn api(&self) -> AuthApi<ReqwestTransport> {
        AuthApi::new(
            self.backend.auth_url.clone(),
            ReqwestTransport::new().unwrap(),
        )
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The refresh token in a `nhost-session` cookie value.
fn token_in(value: &str) -> String {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        http::HeaderValue::from_str(&format!("nhost-session={value}")).unwrap(),
    );
    CookieConfig::own()
        .read(&headers)
        .unwrap()
        .refresh_token
        .expose_secret()
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// Over plain HTTP

/// A client that shows redirects and keeps one cookie by hand.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            if pair.starts_with("nhost-session=") {
                self.cookie = (!set.contains("Max-Age=0")).then(|| pair.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap())
    }
}

#[test]
fn command_line() {
    let options =
        app::parse_args(["--listen", "127.0.0.1:0", "--access-token-ttl", "5"].map(String::from))
            .unwrap();
    assert_eq!(options.listen, "127.0.0.1:0");
    assert_eq!(options.access_token_ttl, Some(Duration::from_secs(5)));
    assert_eq!(
        app::parse_args(Vec::new()).unwrap(),
        app::Options::default()
    );
    assert_eq!(app::Options::default().listen, "127.0.0.1:8080");
    assert!(app::parse_args(["--nope".to_owned()]).is_err());
    assert!(app::parse_args(["--access-token-ttl".to_owned(), "x".to_owned()]).is_err());
    let redis = app::parse_args(["--redis", "redis://127.0.0.1:6379"].map(String::from)).unwrap();
    assert_eq!(redis.redis.as_deref(), Some("redis://127.0.0.1:6379"));
    assert!(app::parse_args(["--redis".to_owned()]).is_err());
    assert_eq!(
        app::parse_args(["--help".to_owned()]).unwrap_err(),
        app::USAGE
    );
}

#[tokio::test]
async fn every_route_over_http() {
    let site = Site::start(Duration::from_secs(4));
    let mut browser = Browser::new();

    let (status, _, body) = browser.send(browser.http.get(site.url("/"))).await;
    assert_eq!(status, 200);
    assert!(body.contains("Sign in"));
    let (status, location, _) = browser.send(browser.http.get(site.url("/profile"))).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/signin?next=%2Fprofile"))
    );
    let (status, _, _) = browser.send(browser.http.get(site.url("/api/me"))).await;
    assert_eq!(status, 401);
    let (status, _, body) = browser.send(browser.http.get(site.url("/signin"))).await;
    assert_eq!(status, 200);
    assert!(body.contains(DEMO_EMAIL) && body.contains(DEMO_PASSWORD));

    let wrong = [("email", DEMO_EMAIL), ("password", "wrong")];
    let (status, _, body) = browser
        .send(browser.http.post(site.url("/signin")).form(&wrong))
        .await;
    assert_eq!(status, 401);
    assert!(body.contains("Sign-in failed"), "{body}");
    assert!(browser.cookie.is_none());

    let good = [("email", DEMO_EMAIL), ("password", DEMO_PASSWORD)];
    let (status, location, _) = browser
        .send(browser.http.post(site.url("/signin")).form(&good))
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/profile")));
    assert!(browser.cookie.is_some());

    let (status, _, body) = browser.send(browser.http.get(site.url("/profile"))).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!(r#"<dd id="user-email">{DEMO_EMAIL}</dd>"#)),
        "{body}"
    );
    assert!(
        body.contains("&quot;me&quot;"),
        "the GraphQL answer: {body}"
    );
    assert!(body.contains(r#"<script type="application/json" id="nhost-session">"#));
    let (status, _, body) = browser.send(browser.http.get(site.url("/api/me"))).await;
    assert_eq!(status, 200);
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["email"], DEMO_EMAIL);
    assert_eq!(site.token_calls(), 0);

    // After expiry: one refresh, a new cookie, still signed in.
    let before = browser.cookie.clone();
    tokio::time::sleep(Duration::from_millis(4300)).await;
    let (status, _, _) = browser.send(browser.http.get(site.url("/api/me"))).await;
    assert_eq!(status, 200);
    assert_ne!(browser.cookie, before);
    assert_eq!(site.token_calls(), 1);

    let (status, location, _) = browser.send(browser.http.post(site.url("/signout"))).await;
    assert_eq!((status, location.as_deref()), (303, Some("/")));
    assert!(browser.cookie.is_none());
    assert_eq!(site.auth().stats().sign_outs, 1);

    let (status, location, _) = browser
        .send(browser.http.post(site.url("/signin/anonymous")))
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/profile")));
    let (_, _, body) = browser.send(browser.http.get(site.url("/api/me"))).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["isAnonymous"],
        true
    );

    let (status, location, _) = browser
        .send(
            browser
                .http
                .get(site.url("/auth/callback?next=%2F%2Fevil.example")),
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/signin?error=no-credentials"))
    );
}

// ---------------------------------------------------------------------------------------
// In a real browser

/// chromedriver, started for the test and killed at the end.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // A process group of its own, so that the browsers it starts go with it.
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!(
            "nhost-session-ssr-chromium-{}-{port}",
            std::process::id()
        ));
        Self {
            child,
            port,
            profile,
        }
    }

    async fn browser(&self) -> fantoccini::Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--disable-breakpad", "--disable-crash-reporter",
                    format!("--user-data-dir={}", self.profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group started with chromedriver: chromedriver and the browser it started.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Whether the browser can run here; fails in CI when it cannot.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "the browser test needs {} (Debian packages `chromium` and `chromium-driver`; \
         `.ci/run` installs them)",
        missing.join(" and ")
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipped: {message}");
    false
}

/// The browser's session cookie (seen through WebDriver, which sees HttpOnly cookies).
async fn session_cookie(
    client: &fantoccini::Client,
) -> Option<fantoccini::cookies::Cookie<'static>> {
    client
        .get_all_cookies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name() == "nhost-session")
}

/// Waits until the page at `path` is shown (bounded).
async fn wait_for_path(client: &fantoccini::Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, expected {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sleeps until the access token the browser holds has expired (by the `/api/me` answer),
/// plus a little.
async fn wait_for_expiry(client: &fantoccini::Client) {
    let me = fetch_me(client).await;
    let expires_at = me["accessTokenExpiresAt"].as_i64().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let wait_ms = (i128::from(expires_at) * 1000 - now + 400).clamp(0, 10_000);
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait_ms).unwrap())).await;
}

async fn fetch_me(client: &fantoccini::Client) -> Value {
    let script = r#"
        const done = arguments[arguments.length - 1];
        fetch("/api/me").then(r => r.json()).then(done, e => done({ error: String(e) }));
    "#;
    client.execute_async(script, Vec::new()).await.unwrap()
}

#[tokio::test]
async fn a_real_browser_signs_in_stays_signed_in_across_refreshes_and_signs_out() {
    if !browser_available() {
        return;
    }
    let site = Site::start(Duration::from_secs(6));
    let driver = Driver::start();
    let client = driver.browser().await;
    let outcome = AssertUnwindSafe(browser_scenario(&site, &client))
        .catch_unwind()
        .await;
    // Close the browser whatever happened, then stop chromedriver (and what it started).
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn browser_scenario(site: &Site, client: &fantoccini::Client) {
    let client = client.clone();

    // Sign in through the form.
    client.goto(&site.url("/signin")).await.unwrap();
    client
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys(DEMO_EMAIL)
        .await
        .unwrap();
    client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(DEMO_PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("#signin-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/profile").await;
    let email = client
        .find(Locator::Css("#user-email"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(email, DEMO_EMAIL);
    let graphql = client
        .find(Locator::Css("#graphql"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(graphql.contains(DEMO_EMAIL), "{graphql}");
    let hydrated = client
        .find(Locator::Css("#hydrated"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        hydrated.starts_with(&format!("JWT for {DEMO_EMAIL}")),
        "{hydrated}"
    );

    // The cookie has the configured attributes.
    let cookie = session_cookie(&client).await.expect("a session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(
        cookie.same_site(),
        Some(nhost_session_actix::cookie::SameSite::Lax)
    );
    assert_eq!(cookie.path(), Some("/"));
    let expires = cookie.expires_datetime().expect("a persistent cookie");
    let days = (expires - time::OffsetDateTime::now_utc()).whole_days();
    assert!((29..=30).contains(&days), "expires in {days} days");
    let first_token = token_in(cookie.value());
    assert_eq!(site.token_calls(), 0);

    // After expiry, a reload stays signed in: one POST /token, and the cookie rotated.
    wait_for_expiry(&client).await;
    let calls = site.token_calls();
    client.refresh().await.unwrap();
    wait_for_path(&client, "/profile").await;
    let email = client
        .find(Locator::Css("#user-email"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(email, DEMO_EMAIL);
    assert_eq!(site.token_calls(), calls + 1, "one POST /token");
    let second_token = token_in(session_cookie(&client).await.unwrap().value());
    assert_ne!(second_token, first_token, "the cookie's token rotated");

    // 20 parallel fetches right after expiry: 20 successes, one POST /token.
    wait_for_expiry(&client).await;
    let calls = site.token_calls();
    let script = r#"
        const done = arguments[arguments.length - 1];
        Promise.all(Array.from({ length: 20 }, () => fetch("/api/me").then(r => r.status)))
            .then(done, e => done(String(e)));
    "#;
    let statuses = client.execute_async(script, Vec::new()).await.unwrap();
    let statuses: Vec<u64> = statuses
        .as_array()
        .unwrap_or_else(|| panic!("{statuses}"))
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200; 20]);
    assert_eq!(
        site.token_calls(),
        calls + 1,
        "one POST /token for 20 requests"
    );
    let third_token = token_in(session_cookie(&client).await.unwrap().value());
    assert_ne!(third_token, second_token);
    // The browser kept a live token: the next expiry refreshes it successfully.
    wait_for_expiry(&client).await;
    let me = fetch_me(&client).await;
    assert_eq!(me["email"], DEMO_EMAIL, "{me}");
    let stats = site.auth().stats();
    assert_eq!(
        stats.calls_with(TOKEN_PATH, "200"),
        stats.calls_to(TOKEN_PATH)
    );
    assert_eq!(stats.reuse_rejections, 0, "no dead token was ever sent");

    // Sign-out removes the cookie, and the old token is dead.
    let live_token = token_in(session_cookie(&client).await.unwrap().value());
    client.goto(&site.url("/profile")).await.unwrap();
    client
        .find(Locator::Css("#signout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/").await;
    assert!(
        session_cookie(&client).await.is_none(),
        "the cookie is gone"
    );
    let refreshed = site.api().refresh(&RefreshToken::new(live_token)).await;
    assert!(refreshed.unwrap_err().ends_session(), "the token is dead");
    client.goto(&site.url("/profile")).await.unwrap();
    wait_for_path(&client, "/signin").await;

    // The provider callback signs in and leaves no token in the address bar.
    client
        .find(Locator::Css("#signin-github"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/profile").await;
    let url = client.current_url().await.unwrap();
    assert_eq!(url.query(), None, "{url}");
    assert!(!url.as_str().contains("refreshToken") && !url.as_str().contains("code="));
    let email = client
        .find(Locator::Css("#user-email"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(email, "github-user@example.com");
    assert!(session_cookie(&client).await.is_some());
}
