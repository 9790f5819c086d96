//! Redis for the tests (the machine's, with a key prefix per test; or a private server), app
//! instances on real ports, and browser-like helpers.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use nhost_session_actix::{SessionMiddleware, SessionState};
use nhost_session_cookie::{CookieConfig, RequestCookies};
use nhost_session_core::{AuthApi, AuthUrl, RefreshToken, Session, SignInResponse, StoredTokens};
use nhost_session_redis::{EncryptionKey, RedisCoordinator, RedisCoordinatorBuilder};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::{FakeAuthServer, FakeAuthServerBuilder, SeedUser};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const EMAIL: &str = "alice@example.com";
pub const PASSWORD: &str = "password123";
pub const TOKEN_PATH: &str = "/v1/token";
const SHARED_REDIS: &str = "127.0.0.1:6379";

/// Whether the machine's Redis answers. Under CI (`CI=true`) a missing Redis fails the test;
/// elsewhere the test is skipped with a reason.
pub fn shared_redis(test: &str) -> bool {
    let addr: SocketAddr = SHARED_REDIS.parse().unwrap();
    match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        Ok(_) => true,
        Err(error) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{test}: Redis is not reachable at {SHARED_REDIS} ({error}); CI must start it \
                     (scripts/setup.sh does)"
                );
            }
            eprintln!(
                "skipping {test}: Redis is not reachable at {SHARED_REDIS} ({error}); start it \
                 with scripts/setup.sh"
            );
            false
        }
    }
}

/// A key prefix of its own on a Redis, with everything under it deleted at the end.
pub struct Scratch {
    pub prefix: String,
    pub url: String,
}

impl Scratch {
    pub fn new(test: &str) -> Self {
        Self::on(&format!("redis://{SHARED_REDIS}"), test)
    }

    pub fn on(url: &str, test: &str) -> Self {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).unwrap();
        let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            prefix: format!("nhost-session-test:{test}:{}:{random}", std::process::id()),
            url: url.to_owned(),
        }
    }

    pub fn builder(&self, key: &EncryptionKey) -> RedisCoordinatorBuilder {
        RedisCoordinator::builder(key.clone())
            .url(&self.url)
            .key_prefix(&self.prefix)
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap()
    }

    /// Every key under the prefix.
    pub fn keys(&self) -> Vec<String> {
        let mut connection = self.connection();
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut connection)
            .unwrap();
        keys.sort();
        keys
    }

    /// Every key under the prefix, with its value and its TTL in ms.
    pub fn dump(&self) -> Vec<(String, Vec<u8>, i64)> {
        let mut connection = self.connection();
        self.keys()
            .into_iter()
            .map(|key| {
                let value: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut connection).unwrap();
                let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut connection).unwrap();
                (key, value, ttl)
            })
            .collect()
    }

    /// Runs a command (for tests that play a dead instance or an attacker).
    pub fn run(&self, cmd: &redis::Cmd) -> redis::Value {
        cmd.query(&mut self.connection()).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut connection)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut connection);
        }
    }
}

/// A `redis-server` of the test's own, on a free port, never persisted; killed when dropped.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = free_port();
        let mut redis = Self { port, child: None };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port) and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("/usr/bin/redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (this test's own server, by its process id).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn auth_server() -> FakeAuthServer {
    auth_server_with(FakeAuthServer::builder())
}

pub fn auth_server_with(builder: FakeAuthServerBuilder) -> FakeAuthServer {
    builder
        .seed_user(SeedUser::new(EMAIL, PASSWORD).display_name("Alice"))
        .start()
        .unwrap()
}

pub fn token_calls(auth: &FakeAuthServer) -> u64 {
    auth.stats().calls_to(TOKEN_PATH)
}

/// A session signed in at the auth server directly (a browser's cookie from elsewhere).
pub async fn direct_session(auth: &FakeAuthServer) -> Session {
    let api = AuthApi::new(
        AuthUrl::parse(&auth.base_url()).unwrap(),
        ReqwestTransport::new().unwrap(),
    );
    match api.sign_in_email_password(EMAIL, PASSWORD).await.unwrap() {
        SignInResponse::Session(session) => session,
        _ => panic!("no session"),
    }
}

/// An app instance: an actix server on its own port, with its own middleware and coordinator.
pub struct Instance {
    pub addr: SocketAddr,
    url: String,
    pub coordinator: RedisCoordinator,
    handle: ServerHandle,
}

impl Instance {
    pub fn start(auth: &FakeAuthServer, coordinator: RedisCoordinator) -> Self {
        let middleware = SessionMiddleware::builder(AuthUrl::parse(&auth.base_url()).unwrap())
            .coordinator(Arc::new(coordinator.clone()))
            .build()
            .unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(middleware.clone())
                .route("/state", web::get().to(state))
        })
        .workers(2)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            addr,
            url: format!("http://{addr}/state"),
            coordinator,
            handle,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn state(state: SessionState) -> HttpResponse {
    let body = match &state {
        SessionState::Anonymous => json!({ "state": "anonymous" }),
        SessionState::Active(session) => json!({
            "state": "active",
            "email": session.user().and_then(|u| u.email.clone()),
            // For the tests that look for it in Redis; never do this in an app.
            "jwt": session.access_token().expose_secret(),
        }),
        SessionState::Unavailable(_) => json!({ "state": "unavailable" }),
    };
    HttpResponse::Ok().json(body)
}

/// The `Cookie` header a browser holding `token` sends (the project's own cookie format).
pub fn cookie_for(token: &RefreshToken) -> String {
    let tokens = StoredTokens {
        refresh_token: token.clone(),
        refresh_token_id: "00000000-0000-4000-8000-000000000000".into(),
        access_token_expires_at: Some(OffsetDateTime::now_utc()),
        access_token: None,
        user: None,
    };
    CookieConfig::own()
        .write(&tokens, OffsetDateTime::now_utc(), &RequestCookies::empty())
        .unwrap()
        .iter()
        .map(|c| {
            c.header_value()
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What came back: the status, the body's `state`, and the cookie change.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub state: String,
    pub cookie: CookieChange,
    pub jwt: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CookieChange {
    Keep,
    Set(String),
    Remove,
}

/// `GET url` with `cookie`.
pub async fn get(client: &reqwest::Client, url: &str, cookie: &str) -> Answer {
    let response = client
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let set: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let cookie = if set.is_empty() {
        CookieChange::Keep
    } else if set.iter().any(|s| s.contains("Max-Age=0")) {
        CookieChange::Remove
    } else {
        let pairs: Vec<&str> = set.iter().map(|s| s.split(';').next().unwrap()).collect();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_str(&pairs.join("; ")).unwrap(),
        );
        let token = CookieConfig::own()
            .read(&headers)
            .expect("a session cookie");
        CookieChange::Set(token.refresh_token.expose_secret().to_owned())
    };
    Answer {
        status,
        state: body["state"].as_str().unwrap_or_default().to_owned(),
        cookie,
        jwt: body["jwt"].as_str().map(str::to_owned),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(400)
        .build()
        .unwrap()
}
