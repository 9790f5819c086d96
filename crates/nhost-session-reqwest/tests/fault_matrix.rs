//! The fault matrix of the client: every session operation of an `AuthClient` over
//! `ReqwestTransport` (1 s request timeout) against every fault the testkit can inject,
//! each cell's expected outcome written down as data and checked.
//!
//! For each (operation, fault) the test checks: the error and its predicates
//! (`is_transient()`, `ends_session()`), the session status afterwards, what the store holds,
//! how many requests left the client and reached the server (the client never retries on its
//! own), whether the server committed anything, that nothing panicked, and that the session
//! recovers once the fault is gone (or, for a refresh whose answer was lost after the server
//! rotated, that the next refresh is rejected and ends the session: the residual case no
//! client can fix). `docs/fault-matrix.md` is this table in prose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use nhost_session_core::{
    AccessToken, AuthApi, AuthClient, AuthUrl, Error, HttpTransport, ManualClock, MemoryTokenStore,
    Session, SessionStatus, SignInResponse, TransportError,
};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::{FakeAuthServer, Fault, SeedUser};
use time::{Duration, OffsetDateTime};

const EMAIL: &str = "matrix@example.com";
const PASSWORD: &str = "matrix-password-1";
/// The client's whole-request timeout; the `Timeout` fault delays the answer well beyond it.
/// The timeout of the request under test. Setup and recovery requests get a generous one,
/// so that a loaded machine cannot turn them into timeouts.
const CLIENT_TIMEOUT: StdDuration = StdDuration::from_millis(1000);
const SETUP_TIMEOUT: StdDuration = StdDuration::from_secs(20);
const FAULT_DELAY: StdDuration = StdDuration::from_millis(2500);

/// The operations of the matrix (rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// `sign_in_email_password`, while an earlier session is active.
    SignIn,
    /// `refresh()`, forced, while the JWT is still valid.
    Refresh,
    /// `access_token()` after the JWT expired: the refresh it needs.
    RefreshExpired,
    /// `user()`: `GET /user` with the bearer.
    User,
    /// `sign_out()`.
    SignOut,
}

impl Op {
    const ALL: [Op; 5] = [
        Op::SignIn,
        Op::Refresh,
        Op::RefreshExpired,
        Op::User,
        Op::SignOut,
    ];

    fn path(self) -> &'static str {
        match self {
            Op::SignIn => "/signin/email-password",
            Op::Refresh | Op::RefreshExpired => "/token",
            Op::User => "/user",
            Op::SignOut => "/signout",
        }
    }
}

/// The faults of the matrix (columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FaultKind {
    /// Nothing listens on the port.
    Refused,
    /// The server resets the connection (RST) after reading the request.
    Reset,
    /// The server closes the connection (FIN) after reading the request, without a byte.
    Closed,
    /// The answer comes after the client's timeout.
    Timeout,
    S500,
    S502,
    S503,
    S504,
    /// 429 with an empty body, like the real rate limiter.
    RateLimited,
    /// 200 with an HTML page (a captive portal, a misrouted proxy).
    Html200,
    /// 502 with an HTML page (a proxy's error page).
    Html502,
    /// 200 with JSON cut in the middle.
    TruncatedJson,
    /// 200 with the right JSON under `Content-Type: text/plain`.
    WrongContentType,
    /// The server performs the operation, then closes the connection without answering.
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

    /// Whether the server performs `op` although the client gets no answer. (A timed-out
    /// request does not: the testkit drops the delayed handler when the client hangs up. A
    /// real server may well commit after a timeout: that is the commit-then-drop case.)
    fn commits(self, op: Op) -> bool {
        self == FaultKind::CommitThenDrop && op != Op::User
    }

    /// How many calls the testkit records: answered or dropped ones. A request that timed out
    /// was never answered, and nothing listens for a refused one.
    fn recorded_calls(self) -> u64 {
        u64::from(!matches!(self, FaultKind::Refused | FaultKind::Timeout))
    }

    fn is_transport(self) -> bool {
        matches!(
            self,
            FaultKind::Refused
                | FaultKind::Reset
                | FaultKind::Closed
                | FaultKind::Timeout
                | FaultKind::CommitThenDrop
        )
    }

    fn status(self) -> Option<u16> {
        match self {
            FaultKind::S500 => Some(500),
            FaultKind::S502 | FaultKind::Html502 => Some(502),
            FaultKind::S503 => Some(503),
            FaultKind::S504 => Some(504),
            FaultKind::RateLimited => Some(429),
            _ => None,
        }
    }

    fn fault(self, path: &str, wrong_type_body: &str) -> Option<Fault> {
        let on = Fault::on(path);
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
            FaultKind::TruncatedJson => on.respond(
                200,
                r#"{"session":{"accessToken":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIi"#,
            ),
            FaultKind::WrongContentType => on
                .respond(200, wrong_type_body)
                .content_type("text/plain; charset=utf-8"),
            FaultKind::CommitThenDrop => on.commit_then_drop(),
        })
    }
}

const HTML: &str = "<!doctype html><html><head><title>Sign in to the Wi-Fi</title></head>\
                    <body><h1>Welcome</h1></body></html>";

/// What a cell must show. "Kept" means: the session that was active before the operation is
/// still the session (same status, same refresh token in the store, the same still-valid JWT
/// handed out without a request), and it works again once the fault is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A transient error (`Transport` or `Server`, `is_transient()`); the session is kept.
    TransientKept,
    /// A `Decode` error (neither transient nor ending the session); the session is kept.
    DecodeKept,
    /// The content type is not checked: the JSON is decoded and the operation succeeds.
    Accepted,
    /// Sign-out ends the session locally first; the revocation's transient error is reported.
    TransientSignedOut,
    /// Sign-out reads only the status: a 200 of any body counts as revoked.
    SignedOut,
    /// The server rotated but the answer was lost: transient and kept now (the JWT is still
    /// served while valid), and the next refresh is rejected and ends the session.
    KeptThenRejected,
}

/// The matrix: the expected outcome of each cell.
fn expected(op: Op, fault: FaultKind) -> Expect {
    use Expect::*;
    use FaultKind::*;
    match (op, fault) {
        (Op::SignOut, Html200 | TruncatedJson | WrongContentType) => SignedOut,
        (Op::SignOut, _) => TransientSignedOut,
        (_, WrongContentType) => Accepted,
        (_, Html200 | TruncatedJson) => DecodeKept,
        (Op::Refresh | Op::RefreshExpired, CommitThenDrop) => KeptThenRejected,
        (_, _) => TransientKept,
    }
}

/// The transport under test: `ReqwestTransport`s that record each request's path, send to a
/// port where nothing listens while `refuse` is set, and time out after [`CLIENT_TIMEOUT`]
/// while `under_test` is set ([`SETUP_TIMEOUT`] otherwise).
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
        Self {
            short: transport(CLIENT_TIMEOUT),
            setup: transport(SETUP_TIMEOUT),
            sent: Arc::default(),
            refuse: Arc::default(),
            under_test: Arc::default(),
            dead: dead_addr(),
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

    fn total(&self) -> usize {
        self.sent.lock().unwrap().len()
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

/// An address where nothing listens: a port bound, then released.
fn dead_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

type Client = AuthClient<Wire, MemoryTokenStore, Arc<ManualClock>>;

struct Cell {
    server: FakeAuthServer,
    wire: Wire,
    clock: Arc<ManualClock>,
    store: MemoryTokenStore,
    client: Client,
    user_id: String,
    /// The session before the operation.
    before: Session,
}

impl Cell {
    async fn new() -> Self {
        let server = FakeAuthServer::builder()
            .seed_user(SeedUser::new(EMAIL, PASSWORD))
            .start()
            .unwrap();
        let wire = Wire::new();
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let store = MemoryTokenStore::new();
        let client = AuthClient::builder(AuthUrl::parse(&server.base_url()).unwrap(), wire.clone())
            .store(store.clone())
            .clock(clock.clone())
            .jitter_seed(7)
            .build();
        let before = client
            .sign_in_email_password(EMAIL, PASSWORD)
            .await
            .unwrap();
        let user_id = before.user.as_ref().unwrap().id.clone();
        Self {
            server,
            wire,
            clock,
            store,
            client,
            user_id,
            before,
        }
    }

    /// A second device session of the same user, signed in straight at the server: the
    /// body a wrong-content-type answer carries, so that accepting it leads somewhere real.
    async fn other_session(&self) -> Session {
        let api = AuthApi::new(
            AuthUrl::parse(&self.server.base_url()).unwrap(),
            ReqwestTransport::new().unwrap(),
        );
        match api.sign_in_email_password(EMAIL, PASSWORD).await.unwrap() {
            SignInResponse::Session(session) => session,
            other => panic!("{other:?}"),
        }
    }

    fn stored_refresh_token(&self) -> Option<String> {
        self.store
            .get()
            .map(|s| s.refresh_token.expose_secret().to_owned())
    }

    fn server_calls(&self, op: Op) -> u64 {
        self.server.stats().calls_to(&format!("/v1{}", op.path()))
    }

    /// What the server did that outlives a lost answer: tokens minted, sign-outs.
    fn server_commits(&self) -> u64 {
        let stats = self.server.stats();
        stats.refresh_tokens_issued + stats.sign_outs
    }
}

/// What an operation returned, reduced to what the matrix compares.
enum Answer {
    Session(Box<Session>),
    Token(AccessToken),
    User(String),
    Done,
}

async fn run(op: Op, client: &Client) -> Result<Answer, Error> {
    match op {
        Op::SignIn => client
            .sign_in_email_password(EMAIL, PASSWORD)
            .await
            .map(|s| Answer::Session(Box::new(s))),
        Op::Refresh => client.refresh().await.map(Answer::Token),
        Op::RefreshExpired => client.access_token().await.map(Answer::Token),
        Op::User => client.user().await.map(|u| Answer::User(u.id)),
        Op::SignOut => client.sign_out().await.map(|()| Answer::Done),
    }
}

fn describe(result: &Result<Answer, Error>) -> String {
    match result {
        Ok(Answer::Session(_)) => "Ok(session)".into(),
        Ok(Answer::Token(_)) => "Ok(token)".into(),
        Ok(Answer::User(_)) => "Ok(user)".into(),
        Ok(Answer::Done) => "Ok(())".into(),
        Err(e) => format!(
            "Err({}: {e}; transient={}, ends_session={})",
            variant(e),
            e.is_transient(),
            e.ends_session()
        ),
    }
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::Transport(_) => "Transport",
        Error::Server(_) => "Server",
        Error::RefreshTokenRejected(_) => "RefreshTokenRejected",
        Error::Decode(_) => "Decode",
        Error::Store(_) => "Store",
        Error::Config(_) => "Config",
        Error::NotSignedIn => "NotSignedIn",
        Error::MfaRequired(_) => "MfaRequired",
        Error::Redirect(_) => "Redirect",
        Error::TemporarilyUnavailable { .. } => "TemporarilyUnavailable",
        _ => "other",
    }
}

macro_rules! check {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// Runs one cell; `Err` says what did not match.
async fn cell(op: Op, fault: FaultKind) -> Result<String, String> {
    let expect = expected(op, fault);
    let c = Cell::new().await;
    let before_jwt = c.before.access_token.clone();
    let before_rt = c.before.refresh_token.expose_secret().to_owned();
    let sessions_before = c.server.active_sessions(&c.user_id);

    if op == Op::RefreshExpired {
        c.clock.advance(Duration::minutes(16));
        check!(
            c.client.status() == SessionStatus::Expired,
            "the JWT should have expired"
        );
    }

    // The body a wrong-content-type answer carries: what the endpoint would really answer.
    let canned = if fault == FaultKind::WrongContentType {
        Some(c.other_session().await)
    } else {
        None
    };
    let canned_body = match (&canned, op) {
        (Some(s), Op::SignIn) => serde_json::json!({ "session": s, "mfa": null }).to_string(),
        (Some(s), Op::Refresh | Op::RefreshExpired) => serde_json::to_string(s).unwrap(),
        (Some(s), Op::User) => serde_json::to_string(s.user.as_ref().unwrap()).unwrap(),
        (Some(_), Op::SignOut) => "\"OK\"".into(),
        (None, _) => String::new(),
    };
    if let Some(f) = fault.fault(op.path(), &canned_body) {
        c.server.inject(f);
    }
    c.wire
        .refuse
        .store(fault == FaultKind::Refused, Ordering::SeqCst);

    let sent_before = c.wire.sent_to(&format!("/v1{}", op.path()));
    let calls_before = c.server_calls(op);
    let commits_before = c.server_commits();

    c.wire.under_test.store(true, Ordering::SeqCst);
    let result = run(op, &c.client).await;
    c.wire.under_test.store(false, Ordering::SeqCst);
    let seen = describe(&result);

    // Bounded: exactly one request left the client, and it reached the server unless
    // nothing listened.
    let sent = c.wire.sent_to(&format!("/v1{}", op.path())) - sent_before;
    check!(
        sent == 1,
        "{seen}: {sent} requests sent, expected exactly 1"
    );
    if fault == FaultKind::Timeout {
        // Let the delayed request finish at the server before looking at it.
        tokio::time::sleep(FAULT_DELAY + StdDuration::from_millis(200)).await;
    }
    let calls = c.server_calls(op) - calls_before;
    let expected_calls = fault.recorded_calls();
    check!(
        calls == expected_calls,
        "{seen}: the server recorded {calls} calls, expected {expected_calls}"
    );
    let commits = c.server_commits() - commits_before;
    let expected_commits = u64::from(fault.commits(op));
    check!(
        commits == expected_commits,
        "{seen}: the server committed {commits} changes, expected {expected_commits}"
    );

    // The error, typed.
    match expect {
        Expect::TransientKept | Expect::TransientSignedOut | Expect::KeptThenRejected => {
            let Err(e) = &result else {
                return Err(format!("{seen}: expected a transient error"));
            };
            check!(
                e.is_transient() && !e.ends_session(),
                "{seen}: expected transient"
            );
            if fault.is_transport() {
                check!(
                    matches!(e, Error::Transport(_)),
                    "{seen}: expected Transport"
                );
            } else {
                check!(
                    matches!(e, Error::Server(s) if Some(s.status) == fault.status()),
                    "{seen}: expected Server({:?})",
                    fault.status()
                );
                check!(e.status() == fault.status(), "{seen}: status()");
            }
        }
        Expect::DecodeKept => {
            check!(
                matches!(&result, Err(e @ Error::Decode(_)) if !e.is_transient() && !e.ends_session() && e.status() == Some(200)),
                "{seen}: expected Decode (not transient, not ending the session)"
            );
        }
        Expect::Accepted | Expect::SignedOut => {
            check!(result.is_ok(), "{seen}: expected Ok");
        }
    }

    // The session afterwards.
    match expect {
        Expect::TransientKept | Expect::DecodeKept | Expect::KeptThenRejected => {
            let status = c.client.status();
            let wanted = if op == Op::RefreshExpired {
                SessionStatus::Expired
            } else {
                SessionStatus::Authenticated
            };
            check!(
                status == wanted,
                "{seen}: status {status:?}, expected {wanted:?}"
            );
            check!(
                c.stored_refresh_token().as_deref() == Some(before_rt.as_str()),
                "{seen}: the store must still hold the session's refresh token"
            );
            let total = c.wire.total();
            let again = c.client.access_token().await;
            if op == Op::RefreshExpired {
                // In back-off: a typed "try later", and no request.
                check!(
                    matches!(again, Err(Error::TemporarilyUnavailable { .. })),
                    "{seen}: during back-off, expected TemporarilyUnavailable, got {again:?}"
                );
            } else {
                check!(
                    again.as_ref().ok() == Some(&before_jwt),
                    "{seen}: the still-valid JWT must be served, got {again:?}"
                );
            }
            check!(
                c.wire.total() == total,
                "{seen}: asking again must not send a request"
            );
        }
        Expect::Accepted => {
            let canned = canned.as_ref().unwrap();
            match (&result, op) {
                (Ok(Answer::Session(s)), Op::SignIn) => {
                    check!(**s == *canned, "{seen}: the answer's session");
                }
                (Ok(Answer::Token(t)), Op::Refresh | Op::RefreshExpired) => {
                    check!(*t == canned.access_token, "{seen}: the answer's JWT");
                }
                (Ok(Answer::User(id)), Op::User) => {
                    check!(*id == c.user_id, "{seen}: the answer's user");
                }
                _ => return Err(format!("{seen}: unexpected answer")),
            }
            let wanted_rt = if op == Op::User {
                before_rt.clone()
            } else {
                canned.refresh_token.expose_secret().to_owned()
            };
            check!(
                c.stored_refresh_token() == Some(wanted_rt),
                "{seen}: the store must hold the answer's session"
            );
            check!(
                c.client.status() == SessionStatus::Authenticated,
                "{seen}: status"
            );
        }
        Expect::TransientSignedOut | Expect::SignedOut => {
            check!(
                c.client.status() == SessionStatus::Anonymous,
                "{seen}: signed out locally"
            );
            check!(c.store.get().is_none(), "{seen}: store cleared");
            // The server revoked the session only if the request got through to it.
            let revoked = fault.commits(op);
            let sessions = c.server.active_sessions(&c.user_id);
            let wanted = sessions_before + usize::from(canned.is_some()) - usize::from(revoked);
            check!(
                sessions == wanted,
                "{seen}: {sessions} live sessions at the server, expected {wanted}"
            );
        }
    }

    // Once the fault is gone.
    c.server.clear_faults();
    c.wire.refuse.store(false, Ordering::SeqCst);
    c.clock.advance(Duration::minutes(2)); // past any back-off
    let tokens_before = c.wire.sent_to("/v1/token");
    let recovery = c.client.refresh().await;
    let token_sent = c.wire.sent_to("/v1/token") - tokens_before;
    match expect {
        Expect::TransientKept | Expect::DecodeKept | Expect::Accepted => {
            check!(
                recovery.is_ok(),
                "{seen}: afterwards the session must refresh, got {recovery:?}"
            );
            check!(token_sent == 1, "{seen}: one refresh");
            check!(
                c.stored_refresh_token().as_deref() != Some(before_rt.as_str()),
                "{seen}: the rotated token is stored"
            );
        }
        Expect::KeptThenRejected => {
            // The residual case: the rotation was committed, its answer lost.
            check!(
                matches!(&recovery, Err(e) if e.ends_session()),
                "{seen}: the next refresh must be rejected, got {recovery:?}"
            );
            check!(
                c.client.status() == SessionStatus::Anonymous,
                "{seen}: ended"
            );
            check!(c.store.get().is_none(), "{seen}: store cleared");
            check!(
                matches!(c.client.access_token().await, Err(Error::NotSignedIn)),
                "{seen}: no session"
            );
            check!(
                c.wire.sent_to("/v1/token") - tokens_before == 1,
                "{seen}: the dead token is sent once, never again"
            );
        }
        Expect::TransientSignedOut | Expect::SignedOut => {
            check!(
                matches!(recovery, Err(Error::NotSignedIn)) && token_sent == 0,
                "{seen}: signed out stays signed out, got {recovery:?}"
            );
        }
    }
    check!(
        c.server.stats().reuse_rejections == u64::from(expect == Expect::KeptThenRejected),
        "{seen}: a replaced token was sent"
    );
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_under_every_fault_has_its_written_outcome() {
    let mut failures = Vec::new();
    let mut observed: BTreeMap<(Op, FaultKind), String> = BTreeMap::new();
    for op in Op::ALL {
        for fault in FaultKind::ALL {
            // Each cell on a task of its own: a panic anywhere is a failed cell, not a crash.
            let outcome = tokio::spawn(cell(op, fault)).await;
            match outcome {
                Ok(Ok(seen)) => {
                    observed.insert((op, fault), seen);
                }
                Ok(Err(why)) => failures.push(format!(
                    "{op:?} × {fault:?} (expected {:?}): {why}",
                    expected(op, fault)
                )),
                Err(e) => failures.push(format!("{op:?} × {fault:?}: panicked: {e}")),
            }
        }
    }
    for ((op, fault), seen) in &observed {
        println!("{op:?} × {fault:?}: {:?} — {seen}", expected(*op, *fault));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cells failed:\n{}",
        failures.len(),
        Op::ALL.len() * FaultKind::ALL.len(),
        failures.join("\n")
    );
}
