//! The running server: its background thread and runtime, the accept loop, and the handle
//! tests hold.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;
use uuid::Uuid;

use crate::clock::FakeClock;
use crate::config::{Config, FakeAuthServerBuilder, JwtAlgorithm, SeedUser};
use crate::connection::{ConnControl, ConnStream};
use crate::faults::Fault;
use crate::idtoken;
use crate::lock::lock;
use crate::outbox::OutboxMessage;
use crate::routes;
use crate::state::App;
use crate::stats::Stats;
use crate::totp;
use crate::users::{FakeUser, UserRecord};

/// A running fake Nhost auth server, bound to 127.0.0.1.
///
/// Dropping it (or calling [`FakeAuthServer::shutdown`]) stops the server and joins its thread.
/// See the [crate documentation](crate) for an example.
pub struct FakeAuthServer {
    app: App,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for FakeAuthServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeAuthServer")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

/// `create_user` was given an e-mail that another user already has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailInUse(pub String);

impl fmt::Display for EmailInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e-mail already in use: {}", self.0)
    }
}

impl std::error::Error for EmailInUse {}

impl FakeAuthServer {
    /// Settings for a server; see [`FakeAuthServerBuilder`].
    pub fn builder() -> FakeAuthServerBuilder {
        FakeAuthServerBuilder::new()
    }

    /// Starts a server with the default settings (see [`FakeAuthServerBuilder::new`]).
    ///
    /// # Errors
    /// When no port can be bound or the runtime cannot be built.
    pub fn start() -> io::Result<Self> {
        Self::start_with(Config::default())
    }

    pub(crate) fn start_with(config: Config) -> io::Result<Self> {
        let workers = config.worker_threads.clamp(1, 2);
        let port = config.port;
        let app = App::new(config).map_err(io::Error::other)?;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        // Set once, before anything can read it.
        let _ = app.origin.set(format!("http://{addr}"));
        let router = routes::router(app.clone());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("nhost-auth-fake".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .thread_name("nhost-auth-fake-worker")
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            accept_loop(listener, router, shutdown_rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        let mut server = Self {
            app,
            addr,
            shutdown,
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(server),
            Ok(Err(e)) => {
                server.stop();
                Err(e)
            }
            Err(_) => {
                server.stop();
                Err(io::Error::other(
                    "the server thread ended before it was ready",
                ))
            }
        }
    }

    /// The socket address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, with no path.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The auth API's base URL, e.g. `http://127.0.0.1:PORT/v1` (what clients are given).
    pub fn base_url(&self) -> String {
        self.app.api_url("")
    }

    /// The URL of the GraphQL stand-in: `http://127.0.0.1:PORT/v1/graphql`.
    pub fn graphql_url(&self) -> String {
        self.app.root_url(routes::GRAPHQL_PATH)
    }

    /// The admin API's base URL: `http://127.0.0.1:PORT/__admin`.
    pub fn admin_url(&self) -> String {
        self.app.root_url("/__admin")
    }

    /// The JWKS URL: `{base_url}/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        self.app.api_url("/.well-known/jwks.json")
    }

    /// A snapshot of the call counters.
    pub fn stats(&self) -> Stats {
        self.app.stats().clone()
    }

    /// Arms a fault for the next matching calls.
    pub fn inject(&self, fault: Fault) {
        lock(&self.app.faults).arm(fault);
    }

    /// The faults still armed, with their remaining counts.
    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.app.faults).list()
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        lock(&self.app.faults).clear();
    }

    /// The server's clock (clones share its offset).
    pub fn clock(&self) -> FakeClock {
        self.app.clock.clone()
    }

    /// Moves the server's clock forward: tokens and tickets expire without sleeping.
    pub fn advance(&self, by: Duration) {
        self.app.clock.advance(by);
    }

    /// The server's "now".
    pub fn now(&self) -> SystemTime {
        self.app.clock.now()
    }

    /// Every message "sent" since start or the last reset, oldest first.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        lock(&self.app.outbox).clone()
    }

    /// The newest message sent to this e-mail address or phone number.
    pub fn last_message_to(&self, to: &str) -> Option<OutboxMessage> {
        lock(&self.app.outbox)
            .iter()
            .rev()
            .find(|m| m.to.eq_ignore_ascii_case(to))
            .cloned()
    }

    /// Empties the outbox.
    pub fn clear_outbox(&self) {
        lock(&self.app.outbox).clear();
    }

    /// Back to the state right after start: only the seeded users, no sessions, tickets,
    /// stats, faults or messages; the clock back on real time; the first signing key.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Adds a user (as if seeded, but gone after [`FakeAuthServer::reset`]).
    ///
    /// # Errors
    /// When another user has this e-mail.
    pub fn create_user(&self, user: SeedUser) -> Result<FakeUser, EmailInUse> {
        self.app
            .create_user(&user)
            .map_err(|_| EmailInUse(user.email.clone()))
    }

    /// The user with this e-mail, if any.
    pub fn user_by_email(&self, email: &str) -> Option<FakeUser> {
        self.app
            .db()
            .users
            .by_email(email)
            .map(UserRecord::to_public)
    }

    /// The user with this id, if any.
    pub fn user(&self, id: &str) -> Option<FakeUser> {
        let id = Uuid::parse_str(id).ok()?;
        self.app.db().users.get(id).map(UserRecord::to_public)
    }

    /// Every user.
    pub fn users(&self) -> Vec<FakeUser> {
        self.app
            .db()
            .users
            .all()
            .map(UserRecord::to_public)
            .collect()
    }

    /// Disables or re-enables a user: a disabled user gets 401 `disabled-user` on sign-in,
    /// refresh and bearer calls. Returns whether the user exists.
    pub fn set_user_disabled(&self, user_id: &str, disabled: bool) -> bool {
        let Ok(id) = Uuid::parse_str(user_id) else {
            return false;
        };
        match self.app.db().users.get_mut(id) {
            Some(user) => {
                user.disabled = disabled;
                true
            }
            None => false,
        }
    }

    /// How many live device sessions (refresh tokens) a user has.
    pub fn active_sessions(&self, user_id: &str) -> usize {
        let Ok(id) = Uuid::parse_str(user_id) else {
            return 0;
        };
        let now = self.app.now_ms();
        self.app.db().sessions.active_for(id, now)
    }

    /// The TOTP code that `secret` gives at the fake clock's time (`None` if not base32).
    pub fn totp_code(&self, secret: &str) -> Option<String> {
        totp::code_at_time(secret, self.app.clock.now())
    }

    /// An ID token that `POST /signin/idtoken` accepts for `provider` (`google` or `apple`):
    /// signed by the fake identity provider, for this e-mail, valid 10 minutes on the fake
    /// clock, carrying `nonce` when given (the sign-in must then send the same nonce).
    pub fn id_token(&self, provider: &str, email: &str, nonce: Option<&str>) -> String {
        idtoken::make(provider, email, nonce, self.app.clock.now_secs())
    }

    /// Signs with the second RSA test key from now on (new `kid`) and publishes both keys in
    /// the JWKS; tokens signed before stay valid. Calling it again switches back. Returns the
    /// new `kid`, or `None` with HS256.
    pub fn rotate_signing_key(&self) -> Option<String> {
        self.app.keys.rotate().map(str::to_owned)
    }

    /// The algorithm that signs access tokens.
    pub fn jwt_algorithm(&self) -> JwtAlgorithm {
        self.app.config.algorithm
    }

    /// A `HASURA_GRAPHQL_JWT_SECRET` value that verifies this server's tokens:
    /// `{"type":"HS256","key":"..."}` or `{"type":"RS256","jwk_url":"{base}/.well-known/jwks.json"}`.
    pub fn hasura_jwt_secret(&self) -> String {
        self.app.hasura_jwt_secret()
    }

    /// A `HASURA_GRAPHQL_JWT_SECRET` value with the key inline: the HS256 secret, or the PEM
    /// of the current RS256 signing key (`{"type":"RS256","key":"-----BEGIN PUBLIC KEY-----..."}`).
    pub fn hasura_jwt_secret_with_key(&self) -> String {
        self.app.hasura_jwt_secret_with_key()
    }

    /// The public key PEM of the current RS256 signing key (`None` with HS256).
    pub fn public_key_pem(&self) -> Option<&'static str> {
        self.app.keys.current_public_pem()
    }

    /// Stops the server and joins its thread (also done on drop).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FakeAuthServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Accepts connections until shutdown, one task per connection.
async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone(), shutdown.clone()));
                }
                // Out of file descriptors and the like: back off a little, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

/// Serves one connection until it ends, a handler aborts it, or the server shuts down.
async fn serve_connection(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let control = ConnControl::default();
    let io = TokioIo::new(ConnStream::new(stream, &control));
    let service = ConnService {
        router,
        control: control.clone(),
    };
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::select! {
        _ = connection => {}
        () = control.aborted() => {}
        _ = shutdown.changed() => {}
    }
    // Leaving the select drops the connection and its stream: FIN, or RST when asked.
}

/// Hands each request of a connection to the router, with the connection's control attached.
#[derive(Clone)]
struct ConnService {
    router: Router,
    control: ConnControl,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = tower::util::Oneshot<Router, Request<Body>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(self.control.clone());
        self.router.clone().oneshot(request)
    }
}
