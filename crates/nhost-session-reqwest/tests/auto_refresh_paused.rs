//! The auto-refresh task's schedule under tokio's paused clock, with an in-memory auth service:
//! exact refresh times over many lifetimes, back-off, the end of the session, the handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nhost_session_core::{
    AuthClient, AuthUrl, Clock, HttpTransport, MemoryTokenStore, SignOutReason, TransportError,
    TransportErrorKind,
};
use nhost_session_reqwest::{AutoRefresh, AutoRefreshExit, TokioClock};
use time::OffsetDateTime;

const LIFETIME: u64 = 60;

/// What the in-memory service does with the next `POST /token`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reply {
    Rotate,
    Unavailable,
    ConnectionLost,
    Reject,
}

#[derive(Default)]
struct Service {
    /// Times (on the test's clock) of every `POST /token`.
    refreshes: Mutex<Vec<OffsetDateTime>>,
    /// Answers to give, in order; `Rotate` once empty.
    script: Mutex<Vec<Reply>>,
    generation: AtomicUsize,
}

fn session(generation: usize) -> String {
    format!(
        r#"{{"accessToken":"jwt-{generation}","accessTokenExpiresIn":{LIFETIME},
        "refreshToken":"00000000-0000-4000-8000-{generation:012}","refreshTokenId":"id-1",
        "user":{{"id":"u1","isAnonymous":true,"defaultRole":"anonymous","roles":["anonymous"]}}}}"#
    )
}

struct FakeTransport {
    service: Arc<Service>,
    clock: TokioClock,
}

#[async_trait::async_trait]
impl HttpTransport for FakeTransport {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let service = &self.service;
        let path = request.uri().path().to_owned();
        let (status, body) = if path.ends_with("/signin/anonymous") {
            let generation = service.generation.fetch_add(1, Ordering::SeqCst) + 1;
            (200, format!(r#"{{"session":{}}}"#, session(generation)))
        } else if path.ends_with("/token") {
            service.refreshes.lock().unwrap().push(self.clock.now());
            let reply = {
                let mut script = service.script.lock().unwrap();
                if script.is_empty() {
                    Reply::Rotate
                } else {
                    script.remove(0)
                }
            };
            match reply {
                Reply::Rotate => {
                    let generation = service.generation.fetch_add(1, Ordering::SeqCst) + 1;
                    (200, session(generation))
                }
                Reply::Unavailable => {
                    (503, r#"{"status":503,"error":"service-unavailable"}"#.to_owned())
                }
                Reply::ConnectionLost => {
                    return Err(TransportError::new(TransportErrorKind::Io, "connection closed"));
                }
                Reply::Reject => (
                    401,
                    r#"{"status":401,"error":"invalid-refresh-token","message":"Invalid or expired refresh token"}"#
                        .to_owned(),
                ),
            }
        } else if path.ends_with("/signout") {
            (200, r#""OK""#.to_owned())
        } else {
            (404, String::new())
        };
        let mut response = http::Response::new(body.into_bytes());
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        Ok(response)
    }
}

type Client = AuthClient<FakeTransport, MemoryTokenStore, TokioClock>;

fn client(service: &Arc<Service>, clock: TokioClock, store: MemoryTokenStore) -> Client {
    let transport = FakeTransport {
        service: Arc::clone(service),
        clock,
    };
    AuthClient::builder(AuthUrl::parse("http://auth.test/v1").unwrap(), transport)
        .store(store)
        .clock(clock)
        .jitter_seed(7)
        .build()
}

fn start() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)
}

#[tokio::test(start_paused = true)]
async fn refreshes_once_per_lifetime_ahead_of_expiry_for_many_lifetimes() {
    let service = Arc::new(Service::default());
    let clock = TokioClock::starting_at(start());
    let client = client(&service, clock, MemoryTokenStore::new());
    client.sign_in_anonymous(None).await.unwrap();
    let refresher = AutoRefresh::spawn(&client);

    // Ten lifetimes of 60 s. The margin (60 s + jitter) is capped at half the lifetime, so
    // each token is refreshed 30 s after it was issued.
    for lifetime in 1..=10u64 {
        tokio::time::sleep(Duration::from_secs(LIFETIME)).await;
        // At every moment the client holds a token that has not expired.
        let token = client.access_token().await.unwrap();
        assert_eq!(token.expose_secret(), format!("jwt-{}", 1 + 2 * lifetime));
    }
    let refreshes = service.refreshes.lock().unwrap().clone();
    assert_eq!(refreshes.len(), 20);
    for (i, at) in refreshes.iter().enumerate() {
        assert_eq!(
            *at - start(),
            time::Duration::seconds(30 * (i as i64 + 1)),
            "refresh {i}"
        );
    }
    assert!(!refresher.is_finished());
}

#[tokio::test(start_paused = true)]
async fn backs_off_on_transient_failures_and_keeps_the_session() {
    let service = Arc::new(Service::default());
    *service.script.lock().unwrap() = vec![
        Reply::Unavailable,
        Reply::ConnectionLost,
        Reply::Unavailable,
    ];
    let clock = TokioClock::starting_at(start());
    let store = MemoryTokenStore::new();
    let client = client(&service, clock, store.clone());
    client.sign_in_anonymous(None).await.unwrap();
    let _refresher = AutoRefresh::spawn(&client);

    tokio::time::sleep(Duration::from_secs(45)).await;
    let refreshes = service.refreshes.lock().unwrap().clone();
    // Due at 30 s; three failures with back-off of 1, 2 and 4 s (each cut by up to half),
    // then success: four calls, spaced out, none after the success.
    assert_eq!(refreshes.len(), 4, "{refreshes:?}");
    let offsets: Vec<f64> = refreshes
        .iter()
        .map(|at| (*at - start()).as_seconds_f64())
        .collect();
    assert_eq!(offsets[0], 30.0);
    for (i, pair) in offsets.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let full = f64::from(1u32 << i);
        assert!(
            gap >= full / 2.0 && gap <= full + 0.01,
            "gap {i}: {gap} ({offsets:?})"
        );
    }
    // The session survived and holds the new tokens.
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "jwt-2"
    );
    assert_eq!(
        store.get().unwrap().refresh_token.expose_secret(),
        "00000000-0000-4000-8000-000000000002"
    );
}

#[tokio::test(start_paused = true)]
async fn ends_with_the_session_when_the_token_is_rejected() {
    let service = Arc::new(Service::default());
    *service.script.lock().unwrap() = vec![Reply::Reject];
    let clock = TokioClock::starting_at(start());
    let store = MemoryTokenStore::new();
    let client = client(&service, clock, store.clone());
    client.sign_in_anonymous(None).await.unwrap();
    let refresher = AutoRefresh::spawn(&client);
    let exit = tokio::time::timeout(Duration::from_secs(3600), refresher.join())
        .await
        .unwrap();
    assert_eq!(
        exit,
        AutoRefreshExit::SessionEnded(SignOutReason::RefreshTokenRejected)
    );
    assert_eq!(service.refreshes.lock().unwrap().len(), 1);
    assert!(store.get().is_none());
}

#[tokio::test(start_paused = true)]
async fn ends_on_sign_out_and_stops_when_the_handle_drops() {
    let service = Arc::new(Service::default());
    let clock = TokioClock::starting_at(start());
    let client = client(&service, clock, MemoryTokenStore::new());
    client.sign_in_anonymous(None).await.unwrap();

    let refresher = AutoRefresh::spawn(&client);
    tokio::time::sleep(Duration::from_secs(1)).await;
    client.sign_out().await.unwrap();
    assert_eq!(
        refresher.join().await,
        AutoRefreshExit::SessionEnded(SignOutReason::Requested)
    );

    client.sign_in_anonymous(None).await.unwrap();
    let refresher = AutoRefresh::spawn(&client);
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(refresher);
    tokio::time::sleep(Duration::from_secs(10 * LIFETIME)).await;
    assert!(service.refreshes.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn started_before_sign_in_it_waits_for_a_session() {
    let service = Arc::new(Service::default());
    let clock = TokioClock::starting_at(start());
    let client = client(&service, clock, MemoryTokenStore::new());
    let refresher = AutoRefresh::spawn(&client);
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(!refresher.is_finished());
    client.sign_in_anonymous(None).await.unwrap();
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(service.refreshes.lock().unwrap().len(), 1);
}
