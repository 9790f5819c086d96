//! The fault matrix of the middleware's refresh: a request whose cookie needs a refresh, with
//! the auth service failing in every way the testkit can inject, each cell's expected outcome
//! written down as data and checked.
//!
//! Two rows: the JWT is still valid but within the refresh margin (the stale session may be
//! served), and the JWT has expired (nothing valid to serve). For each fault the test checks
//! the session state the handler sees, that the cookie is left untouched (no `Set-Cookie`, the
//! handler sees the browser's cookie) on every transient failure, that exactly one
//! `POST /token` left the middleware per request, that nothing panicked, and what the next
//! request does once the fault is gone. `docs/fault-matrix.md` is this table in prose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use nhost_session_actix::{ActionError, SessionActions, SessionMiddleware, SessionState};
use nhost_session_cookie::CookieConfig;
use nhost_session_core::{
    AuthApi, AuthUrl, HttpTransport, ManualClock, Session, SignInResponse, TransportError,
};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::{FakeAuthServer, Fault, SeedUser};
use serde_json::{Value, json};
use time::Duration;

const EMAIL: &str = "matrix@example.com";
const PASSWORD: &str = "matrix-password-1";
const TOKEN_PATH: &str = "/v1/token";
/// The timeout of the request under test. Setup and recovery requests get a generous one,
/// so that a loaded machine cannot turn them into timeouts.
const CLIENT_TIMEOUT: StdDuration = StdDuration::from_millis(1000);
const SETUP_TIMEOUT: StdDuration = StdDuration::from_secs(20);
const FAULT_DELAY: StdDuration = StdDuration::from_millis(2500);
const HTML: &str = "<!doctype html><html><head><title>Sign in to the Wi-Fi</title></head>\
                    <body><h1>Welcome</h1></body></html>";

/// Rows: how old the session's JWT is when the request arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Row {
    /// 870 s into a 900 s JWT: within the 60 s margin, still valid.
    WithinMargin,
    /// 16 minutes: expired.
    Expired,
}

/// Columns: the faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultKind {
    Refused,
    Reset,
    Closed,
    Timeout,
    S500,
    S502,
    S503,
    S504,
    RateLimited,
    Html200,
    Html502,
    TruncatedJson,
    WrongContentType,
    CommitThenDrop,
}

impl FaultKind {
    const ALL: [FaultKind; 14] = [
        FaultKind::Refused,
        FaultKind::Reset,
        FaultKind::Closed,
        FaultKind::Timeout,
        FaultKind::S500,
        FaultKind::S502,
        FaultKind::S503,
        FaultKind::S504,
        FaultKind::RateLimited,
        FaultKind::Html200,
        FaultKind::Html502,
        FaultKind::TruncatedJson,
        FaultKind::WrongContentType,
        FaultKind::CommitThenDrop,
    ];

    fn fault(self, body: &str) -> Option<Fault> {
        let on = Fault::on("/token");
        Some(match self {
            FaultKind::Refused => return None,
            FaultKind::Reset => on.reset_connection(),
            FaultKind::Closed => on.drop_connection(),
            FaultKind::Timeout => on.delay(FAULT_DELAY),
            FaultKind::S500 => on.status(500),
            FaultKind::S502 => on.status(502),
            FaultKind::S503 => on.status(503),
            FaultKind::S504 => on.status(504),
            FaultKind::RateLimited => on.rate_limited(),
            FaultKind::Html200 => on.respond(200, HTML).content_type("text/html"),
            FaultKind::Html502 => on.respond(502, HTML).content_type("text/html"),
            FaultKind::TruncatedJson => on.respond(200, r#"{"accessToken":"eyJhbGciOiJSUzI1NiIs"#),
            FaultKind::WrongContentType => on.respond(200, body).content_type("text/plain"),
            FaultKind::CommitThenDrop => on.commit_then_drop(),
        })
    }
}

/// What a cell must show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// The refresh failed for now: the still-valid session is served (`Active`), the cookie
    /// untouched; the next request refreshes.
    StaleServed,
    /// The refresh failed for now: the handler is told `Unavailable`, the cookie untouched;
    /// the next request refreshes.
    Unavailable,
    /// The content type is not checked: the session in the answer is adopted and its cookie
    /// sent.
    Accepted,
    /// The server rotated but the answer was lost: handled as transient now (cookie untouched;
    /// stale session while valid, else unavailable), and the next request's refresh is
    /// rejected, which removes the cookie (the residual case).
    TransientThenRejected,
}

fn expected(row: Row, fault: FaultKind) -> Expect {
    match (row, fault) {
        (_, FaultKind::WrongContentType) => Expect::Accepted,
        (_, FaultKind::CommitThenDrop) => Expect::TransientThenRejected,
        (Row::WithinMargin, _) => Expect::StaleServed,
        (Row::Expired, _) => Expect::Unavailable,
    }
}

/// `ReqwestTransport`s that count requests by path, send them to a port where nothing
/// listens while `refuse` is set, and time out after [`CLIENT_TIMEOUT`] while `under_test`
/// is set ([`SETUP_TIMEOUT`] otherwise).
#[derive(Clone)]
struct Wire {
    short: ReqwestTransport,
    setup: ReqwestTransport,
    sent: Arc<Mutex<Vec<String>>>,
    refuse: Arc<AtomicBool>,
    under_test: Arc<AtomicBool>,
    dead: SocketAddr,
}

fn transport(timeout: StdDuration) -> ReqwestTransport {
    ReqwestTransport::builder()
        .timeout(Some(timeout))
        .connect_timeout(Some(timeout))
        .build()
        .unwrap()
}

impl Wire {
    fn new() -> Self {
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        Self {
            short: transport(CLIENT_TIMEOUT),
            setup: transport(SETUP_TIMEOUT),
            sent: Arc::default(),
            refuse: Arc::default(),
            under_test: Arc::default(),
            dead,
        }
    }

    fn sent_to(&self, path: &str) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.as_str() == path)
            .count()
    }
}

#[async_trait]
impl HttpTransport for Wire {
    async fn send(
        &self,
        mut request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        self.sent
            .lock()
            .unwrap()
            .push(request.uri().path().to_owned());
        if self.refuse.load(Ordering::SeqCst) {
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            *request.uri_mut() = format!("http://{}{path}", self.dead).parse().unwrap();
        }
        if self.under_test.load(Ordering::SeqCst) {
            self.short.send(request).await
        } else {
            self.setup.send(request).await
        }
    }
}

async fn sign_in(actions: SessionActions) -> Result<HttpResponse, ActionError> {
    actions.sign_in_email_password(EMAIL, PASSWORD).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn state(state: SessionState, req: HttpRequest) -> HttpResponse {
    let cookie = req
        .headers()
        .get(header::COOKIE)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let (name, jwt) = match &state {
        SessionState::Anonymous => ("anonymous", None),
        SessionState::Active(s) => ("active", Some(s.access_token().expose_secret().to_owned())),
        SessionState::Unavailable(_) => ("unavailable", None),
    };
    HttpResponse::Ok().json(json!({ "state": name, "cookie": cookie, "jwt": jwt }))
}

fn set_cookies<B>(response: &actix_web::dev::ServiceResponse<B>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The refresh token a `Cookie` header (or `Set-Cookie` pair) carries, in the own format.
fn token_in(cookie: &str) -> Option<String> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        http::HeaderValue::from_str(cookie).unwrap(),
    );
    CookieConfig::own()
        .read(&headers)
        .map(|t| t.refresh_token.expose_secret().to_owned())
}

macro_rules! check {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

async fn cell(row: Row, fault: FaultKind) -> Result<String, String> {
    let expect = expected(row, fault);
    let auth = FakeAuthServer::builder()
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    let clock = Arc::new(ManualClock::default());
    let wire = Wire::new();
    let middleware = SessionMiddleware::builder(AuthUrl::parse(&auth.base_url()).unwrap())
        .transport(wire.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let service = test::init_service(
        App::new()
            .wrap(middleware)
            .route("/signin", web::post().to(sign_in))
            .route("/state", web::get().to(state)),
    )
    .await;

    // Sign in through the app: the browser's cookie.
    let response =
        test::call_service(&service, TestRequest::post().uri("/signin").to_request()).await;
    check!(response.status() == 204, "sign-in: {}", response.status());
    let cookie = set_cookies(&response)
        .first()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .ok_or("no cookie after sign-in")?;
    let old_token = token_in(&cookie).ok_or("unreadable cookie")?;
    let get = |cookie: &str| {
        TestRequest::get()
            .uri("/state")
            .insert_header((header::COOKIE, cookie.to_owned()))
            .to_request()
    };
    // The session is served from memory without a call while fresh.
    let response = test::call_service(&service, get(&cookie)).await;
    let body: Value = test::read_body_json(response).await;
    check!(body["state"] == "active", "fresh: {body}");
    let old_jwt = body["jwt"].as_str().unwrap().to_owned();
    check!(wire.sent_to(TOKEN_PATH) == 0, "no refresh while fresh");

    clock.advance(match row {
        Row::WithinMargin => Duration::seconds(870),
        Row::Expired => Duration::minutes(16),
    });
    let canned = if fault == FaultKind::WrongContentType {
        let api = AuthApi::new(
            AuthUrl::parse(&auth.base_url()).unwrap(),
            ReqwestTransport::new().unwrap(),
        );
        match api.sign_in_email_password(EMAIL, PASSWORD).await.unwrap() {
            SignInResponse::Session(session) => Some(session),
            other => panic!("{other:?}"),
        }
    } else {
        None
    };
    let body = canned
        .as_ref()
        .map(|s: &Session| serde_json::to_string(s).unwrap())
        .unwrap_or_default();
    if let Some(f) = fault.fault(&body) {
        auth.inject(f);
    }
    wire.refuse
        .store(fault == FaultKind::Refused, Ordering::SeqCst);

    // The request under the fault.
    wire.under_test.store(true, Ordering::SeqCst);
    let response = test::call_service(&service, get(&cookie)).await;
    wire.under_test.store(false, Ordering::SeqCst);
    check!(
        response.status() == 200,
        "status {} under the fault",
        response.status()
    );
    let set = set_cookies(&response);
    let cache = response.headers().get(header::CACHE_CONTROL).cloned();
    let body: Value = test::read_body_json(response).await;
    let seen = format!("{} (Set-Cookie: {})", body["state"], set.len());
    check!(
        wire.sent_to(TOKEN_PATH) == 1,
        "{seen}: {} POST /token, expected exactly 1",
        wire.sent_to(TOKEN_PATH)
    );
    match expect {
        Expect::StaleServed | Expect::Unavailable | Expect::TransientThenRejected => {
            let wanted = if row == Row::WithinMargin {
                "active"
            } else {
                "unavailable"
            };
            check!(body["state"] == wanted, "{seen}: expected {wanted}: {body}");
            if wanted == "active" {
                check!(body["jwt"] == old_jwt.as_str(), "{seen}: the stale JWT");
            }
            check!(
                set.is_empty() && cache.is_none(),
                "{seen}: the cookie must be left untouched: {set:?}"
            );
            check!(
                body["cookie"].as_str().and_then(token_in).as_deref() == Some(old_token.as_str()),
                "{seen}: the handler sees the browser's cookie"
            );
        }
        Expect::Accepted => {
            let canned = canned.as_ref().unwrap();
            check!(body["state"] == "active", "{seen}: {body}");
            check!(
                body["jwt"] == canned.access_token.expose_secret(),
                "{seen}: the answer's JWT"
            );
            let new = set
                .first()
                .and_then(|c| token_in(c.split(';').next().unwrap()));
            check!(
                new.as_deref() == Some(canned.refresh_token.expose_secret()),
                "{seen}: the answer's token goes to the browser"
            );
        }
    }
    if fault == FaultKind::Timeout {
        tokio::time::sleep(FAULT_DELAY + StdDuration::from_millis(200)).await;
    }

    // Once the fault is gone: the same cookie again.
    auth.clear_faults();
    wire.refuse.store(false, Ordering::SeqCst);
    if expect == Expect::Accepted {
        return Ok(seen);
    }
    let response = test::call_service(&service, get(&cookie)).await;
    let set = set_cookies(&response);
    let body: Value = test::read_body_json(response).await;
    check!(
        wire.sent_to(TOKEN_PATH) == 2,
        "{seen}: the next request refreshes once"
    );
    match expect {
        Expect::TransientThenRejected => {
            check!(
                body["state"] == "anonymous",
                "{seen}: then rejected: {body}"
            );
            check!(
                set.iter()
                    .any(|c| c.starts_with("nhost-session=;") && c.contains("Max-Age=0")),
                "{seen}: the dead cookie is removed: {set:?}"
            );
            // Remembered: the dead token is not sent again.
            let response = test::call_service(&service, get(&cookie)).await;
            let body: Value = test::read_body_json(response).await;
            check!(body["state"] == "anonymous", "{seen}: still anonymous");
            check!(
                wire.sent_to(TOKEN_PATH) == 2,
                "{seen}: the dead token is sent once, never again"
            );
            check!(
                auth.stats().reuse_rejections == 1,
                "{seen}: one reuse of the rotated token"
            );
        }
        _ => {
            check!(body["state"] == "active", "{seen}: recovered: {body}");
            let new = set
                .first()
                .and_then(|c| token_in(c.split(';').next().unwrap()));
            check!(
                new.is_some() && new.as_deref() != Some(old_token.as_str()),
                "{seen}: the rotated cookie goes out: {set:?}"
            );
            check!(
                auth.stats().reuse_rejections == 0,
                "{seen}: no replaced token was sent"
            );
        }
    }
    Ok(seen)
}

#[actix_web::test]
async fn the_middlewares_refresh_under_every_fault_has_its_written_outcome() {
    let mut failures = Vec::new();
    for row in [Row::WithinMargin, Row::Expired] {
        for fault in FaultKind::ALL {
            // A panic inside the middleware or the handler fails the cell, not the run.
            let outcome = actix_web::rt::spawn(cell(row, fault)).await;
            match outcome {
                Ok(Ok(seen)) => {
                    println!("{row:?} × {fault:?}: {:?} — {seen}", expected(row, fault))
                }
                Ok(Err(why)) => failures.push(format!(
                    "{row:?} × {fault:?} (expected {:?}): {why}",
                    expected(row, fault)
                )),
                Err(e) => failures.push(format!("{row:?} × {fault:?}: panicked: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 28 cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
