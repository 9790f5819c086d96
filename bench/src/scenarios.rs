//! Sessions and cookies for the runs, the refresh storm and the economy run.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::HeaderMap;
use http::header::COOKIE;
use nhost_session_cookie::{CookieConfig, RequestCookies};
use nhost_session_core::{AuthApi, AuthUrl, ManualClock, Session, SignInResponse, StoredTokens};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::FakeAuthServer;
use serde::Serialize;
use time::OffsetDateTime;

use crate::loadgen::{self, Answer};

/// The seeded user every session belongs to.
pub const EMAIL: &str = "bench@example.com";
/// Its password.
pub const PASSWORD: &str = "bench-password-1234";
/// The session cookie's name (nhost-js 4's default, used by both sides).
pub const COOKIE_NAME: &str = "nhostSession";

/// The auth API of a fake server, called directly (to mint sessions and to check tokens).
///
/// # Errors
/// When the URL or the transport cannot be built.
pub fn api(auth: &FakeAuthServer) -> io::Result<AuthApi<ReqwestTransport>> {
    let url = AuthUrl::parse(&auth.base_url()).map_err(io::Error::other)?;
    let transport = ReqwestTransport::new().map_err(io::Error::other)?;
    Ok(AuthApi::new(url, transport))
}

/// Signs the bench user in once: a new device session with its own refresh token.
///
/// # Errors
/// When the sign-in fails.
pub async fn sign_in(api: &AuthApi<ReqwestTransport>) -> io::Result<Session> {
    match api.sign_in_email_password(EMAIL, PASSWORD).await {
        Ok(SignInResponse::Session(session)) => Ok(session),
        Ok(_) => Err(io::Error::other("sign-in answered without a session")),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// `count` new sessions, signed in by `parallel` tasks.
///
/// # Errors
/// When a sign-in fails.
pub async fn mint_sessions(
    api: &Arc<AuthApi<ReqwestTransport>>,
    count: usize,
    parallel: usize,
) -> io::Result<Vec<Session>> {
    let parallel = parallel.clamp(1, count.max(1));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel {
        let api = Arc::clone(api);
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            let mut mine = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                mine.push(sign_in(&api).await?);
            }
            Ok::<_, io::Error>(mine)
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.map_err(io::Error::other)??);
    }
    Ok(all)
}

/// The `Cookie` header (`nhostSession=…`) that nhost-js 4 would hold for `session`: written
/// with nhost-session-cookie's NhostJs4 format, which is byte-compatible with nhost-js's
/// `CookieStorage` (and tested against it).
///
/// # Errors
/// When the cookie cannot be written (too large, no user).
pub fn js4_cookie(session: &Session) -> io::Result<String> {
    let now = OffsetDateTime::now_utc();
    let tokens = StoredTokens::from_session(session, now);
    let set = CookieConfig::nhost_js4()
        .write(&tokens, now, &RequestCookies::empty())
        .map_err(io::Error::other)?;
    let first = set
        .first()
        .ok_or_else(|| io::Error::other("no cookie written"))?;
    let value = first.header_value().to_str().map_err(io::Error::other)?;
    Ok(value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// The `Cookie` header for `session` in the project's own format (`nhost-session=…`: the
/// refresh token, its id and the expiry; no JWT).
///
/// # Errors
/// When the cookie cannot be written.
pub fn own_cookie(session: &Session) -> io::Result<String> {
    let now = OffsetDateTime::now_utc();
    let tokens = StoredTokens::from_session(session, now);
    let set = CookieConfig::own()
        .write(&tokens, now, &RequestCookies::empty())
        .map_err(io::Error::other)?;
    let first = set
        .first()
        .ok_or_else(|| io::Error::other("no cookie written"))?;
    let value = first.header_value().to_str().map_err(io::Error::other)?;
    Ok(value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// A browser's cookie jar, reduced to one session cookie.
#[derive(Clone, Debug)]
pub struct Jar {
    name: String,
    cookie: Option<String>,
}

impl Jar {
    /// A jar holding `cookie` (`nhostSession=value`).
    pub fn new(cookie: &str) -> Self {
        Self::with_name(COOKIE_NAME, cookie)
    }

    /// A jar holding `cookie` (`name=value`) for the cookie called `name`.
    pub fn with_name(name: &str, cookie: &str) -> Self {
        Self {
            name: name.to_owned(),
            cookie: Some(cookie.to_owned()),
        }
    }

    /// The `Cookie` header the browser sends.
    pub fn header(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Applies the `Set-Cookie` headers of an answer, as a browser does.
    pub fn apply(&mut self, answer: &Answer) {
        for set in &answer.set_cookies {
            let pair = set.split(';').next().unwrap_or_default().trim();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if name != self.name {
                continue;
            }
            let lower = set.to_ascii_lowercase();
            let removal = value.is_empty()
                || lower.contains("max-age=0")
                || lower.contains("expires=thu, 01 jan 1970");
            self.cookie = if removal { None } else { Some(pair.to_owned()) };
        }
    }

    /// Whether the refresh token in the jar is alive at the auth server, checked by spending
    /// it with `POST /token` (so: only at the end of a scenario).
    pub async fn is_alive(&self, api: &AuthApi<ReqwestTransport>) -> bool {
        let Some(cookie) = &self.cookie else {
            return false;
        };
        let mut headers = HeaderMap::new();
        let Ok(value) = cookie.parse() else {
            return false;
        };
        headers.insert(COOKIE, value);
        let Some(tokens) = CookieConfig::nhost_js4().read(&headers) else {
            return false;
        };
        api.refresh(&tokens.refresh_token).await.is_ok()
    }
}

/// The outcome of a refresh storm.
#[derive(Clone, Debug, Serialize)]
pub struct StormOutcome {
    /// Parallel requests.
    pub n: usize,
    /// `POST /token` calls the auth server received during the storm.
    pub token_calls: u64,
    /// Of which it refused (401).
    pub token_rejections: u64,
    /// Requests not answered 200 with the user.
    pub failed: u64,
    /// Whether the browser ended without a live refresh token (its final cookie, after
    /// applying every answer's `Set-Cookie` in the order the answers arrived, was removed or
    /// held a dead token).
    pub session_lost: bool,
    /// From the release of the requests to the last answer (ms).
    pub elapsed_ms: f64,
}

/// N parallel requests carrying one cookie: all connections are opened first, then the
/// requests leave together.
///
/// # Errors
/// When the connections cannot be opened.
pub async fn storm(
    addr: SocketAddr,
    cookie: &str,
    n: usize,
    auth: &FakeAuthServer,
    api: &AuthApi<ReqwestTransport>,
) -> io::Result<StormOutcome> {
    let mut senders = Vec::with_capacity(n);
    for _ in 0..n {
        senders.push(loadgen::connect(addr).await?);
    }
    let before = auth.stats();
    let barrier = Arc::new(tokio::sync::Barrier::new(n + 1));
    let order = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for mut sender in senders {
        let barrier = Arc::clone(&barrier);
        let order = Arc::clone(&order);
        let cookie = cookie.to_owned();
        tasks.spawn(async move {
            barrier.wait().await;
            let answer = loadgen::get(&mut sender, crate::apps::PAGE, Some(&cookie)).await;
            (order.fetch_add(1, Ordering::SeqCst), answer)
        });
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut answers = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        answers.push(joined.map_err(io::Error::other)?);
    }
    let elapsed = start.elapsed();
    // Let the server finish what it started (a refresh the answer did not wait for).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = auth.stats();
    answers.sort_by_key(|(seq, _)| *seq);
    let mut jar = Jar::new(cookie);
    let mut failed = 0;
    for (_, answer) in &answers {
        match answer {
            Ok(answer) => {
                if answer.status != http::StatusCode::OK {
                    failed += 1;
                }
                jar.apply(answer);
            }
            Err(_) => failed += 1,
        }
    }
    let token_path = token_path(auth);
    let session_lost = !jar.is_alive(api).await;
    Ok(StormOutcome {
        n,
        token_calls: after.token_calls - before.token_calls,
        token_rejections: after.calls_with(&token_path, "401")
            - before.calls_with(&token_path, "401"),
        failed,
        session_lost,
        elapsed_ms: elapsed.as_secs_f64() * 1000.0,
    })
}

/// The full path of `POST /token` on a fake server (e.g. `/v1/token`).
pub fn token_path(auth: &FakeAuthServer) -> String {
    let base = auth.base_url();
    let path = base
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .unwrap_or_default();
    format!("{path}/token")
}

/// The outcome of the economy run.
#[derive(Clone, Debug, Serialize)]
pub struct EconomyOutcome {
    /// Pages loaded.
    pub pages: usize,
    /// `POST /token` calls the auth server received.
    pub token_calls: u64,
    /// Pages not answered 200.
    pub failed: u64,
    /// How much time the pages spanned on the server's clock (s): simulated with a manual
    /// clock for the Rust middleware, real time for the Node anchor.
    pub span_s: f64,
}

/// One browser loads `pages` pages in a row, on one keep-alive connection, keeping the cookies
/// it is sent. With `clock`, the server's manual clock moves `step` forward after each page
/// (pages spread over a JWT lifetime without waiting).
///
/// # Errors
/// When the connection cannot be opened.
pub async fn economy(
    addr: SocketAddr,
    cookie: &str,
    pages: usize,
    clock: Option<(&ManualClock, Duration)>,
    auth: &FakeAuthServer,
) -> io::Result<EconomyOutcome> {
    let mut sender = loadgen::connect(addr).await?;
    let mut jar = Jar::new(cookie);
    let before = auth.stats().token_calls;
    let start = Instant::now();
    let mut failed = 0;
    let mut simulated = Duration::ZERO;
    for _ in 0..pages {
        match loadgen::get(&mut sender, crate::apps::PAGE, jar.header()).await {
            Ok(answer) => {
                if answer.status != http::StatusCode::OK {
                    failed += 1;
                }
                jar.apply(&answer);
            }
            Err(_) => {
                failed += 1;
                sender = loadgen::connect(addr).await?;
            }
        }
        if let Some((clock, step)) = clock {
            clock.advance(time::Duration::try_from(step).unwrap_or(time::Duration::ZERO));
            simulated += step;
        }
    }
    let span = if clock.is_some() {
        simulated
    } else {
        start.elapsed()
    };
    Ok(EconomyOutcome {
        pages,
        token_calls: auth.stats().token_calls - before,
        failed,
        span_s: span.as_secs_f64(),
    })
}
