//! The whole crate against the fake Nhost auth server: sign-in, rotation, auto-refresh over
//! several short JWT lifetimes, the retry on an expired JWT, transient faults, a rejected
//! token, and 200 concurrent callers on an expiring session.
//!
//! Time control: the client's clock reads the server's fake clock, so `server.advance(..)`
//! moves both at once; the auto-refresh task looks at the clock every few milliseconds
//! (`recheck_interval`), so no test sleeps for the lifetime of a token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use nhost_session_core::{
    AuthClient, Clock, Error, MemoryTokenStore, SessionEvent, SignOutReason, Subscription,
};
use nhost_session_reqwest::{
    AuthClientExt, AuthenticatedClient, AuthenticatedError, AutoRefresh, AutoRefreshExit,
    AutoRefreshOptions, ReqwestTransport,
};
use nhost_session_testkit::{FakeAuthServer, FakeClock, Fault, SeedUser};
use time::OffsetDateTime;

const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "password-alice-1";
const QUERY: &str = r#"{"query":"query { me { id } }"}"#;

/// The client's clock: the server's fake clock.
#[derive(Clone)]
struct ServerClock(FakeClock);

impl Clock for ServerClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.0.now())
    }
}

type Client = AuthClient<ReqwestTransport, MemoryTokenStore, ServerClock>;

fn server(ttl_secs: u64) -> FakeAuthServer {
    FakeAuthServer::builder()
        .access_token_ttl(Duration::from_secs(ttl_secs))
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap()
}

fn client(server: &FakeAuthServer, store: &MemoryTokenStore) -> Client {
    nhost_session_reqwest::builder(server.base_url())
        .unwrap()
        .store(store.clone())
        .clock(ServerClock(server.clock()))
        .build()
}

fn fast() -> AutoRefreshOptions {
    AutoRefreshOptions::default().recheck_interval(Duration::from_millis(5))
}

/// The next event, waiting at most 5 s of real time.
async fn next_event(events: &mut Subscription) -> SessionEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("no session event within 5 s")
        .expect("the client is gone")
}

async fn graphql(api: &AuthenticatedClient, server: &FakeAuthServer) -> serde_json::Value {
    let answer = api
        .send(
            api.post(server.graphql_url())
                .header("content-type", "application/json")
                .body(QUERY),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

fn refresh_token(store: &MemoryTokenStore) -> nhost_session_core::RefreshToken {
    store.get().expect("a stored session").refresh_token
}

#[tokio::test]
async fn signs_in_and_rotates_the_refresh_token_on_refresh() {
    let server = server(900);
    let store = MemoryTokenStore::new();
    let client = client(&server, &store);
    let session = client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    let user = client.current_user().unwrap();
    assert_eq!(user.email.as_deref(), Some(EMAIL));
    assert_eq!(session.user.as_ref().unwrap().id, user.id);

    let first = refresh_token(&store);
    let first_id = store.get().unwrap().refresh_token_id;
    let jwt = client.access_token().await.unwrap();
    // JWTs issued in the same second with the same claims are identical: let a second pass.
    server.advance(Duration::from_secs(2));
    let refreshed = client.refresh().await.unwrap();
    assert_ne!(refreshed, jwt);
    let second = refresh_token(&store);
    assert_ne!(second, first, "the refresh token rotated");
    assert_eq!(
        store.get().unwrap().refresh_token_id,
        first_id,
        "same device session"
    );

    // The replaced token is dead at the server.
    let replay = client.api().refresh(&first).await.unwrap_err();
    assert!(
        matches!(replay, Error::RefreshTokenRejected(_)),
        "{replay:?}"
    );
    // GET /user works with the new JWT.
    assert_eq!(client.user().await.unwrap().id, user.id);

    let stats = server.stats();
    assert_eq!(stats.token_calls, 2);
    assert_eq!(stats.calls_with("/v1/token", "200"), 1);
    assert_eq!(stats.reuse_rejections, 1);
}

#[tokio::test]
async fn auto_refresh_keeps_the_session_fresh_across_short_lifetimes() {
    // 20 s tokens: the margin is capped at half the lifetime, so each is refreshed at 10 s.
    let server = server(20);
    let store = MemoryTokenStore::new();
    let client = client(&server, &store);
    client.sign_in_anonymous(None).await.unwrap();
    let api = client.authenticated().unwrap();
    let mut events = client.subscribe();
    let refresher = AutoRefresh::spawn_with(&client, fast());

    let mut seen = vec![refresh_token(&store)];
    for _ in 0..6 {
        server.advance(Duration::from_secs(11));
        match next_event(&mut events).await {
            SessionEvent::TokenRefreshed { expires_at } => {
                let left = expires_at - client.clock().now();
                assert!(left > time::Duration::seconds(19), "{left}");
            }
            other => panic!("unexpected event {other:?}"),
        }
        let token = refresh_token(&store);
        assert!(!seen.contains(&token), "every refresh rotates the token");
        seen.push(token);
        // The JWT the client holds is accepted by the GraphQL stand-in, without any retry.
        let answer = graphql(&api, &server).await;
        assert!(answer["data"]["me"]["id"].is_string(), "{answer}");
    }
    // Six lifetimes of 20 s went by on the fake clock, and nothing else did.
    let stats = server.stats();
    assert_eq!(stats.token_calls, 6);
    assert_eq!(stats.calls_with("/v1/token", "200"), 6);
    assert_eq!(stats.reuse_rejections, 0);
    assert_eq!(stats.calls_to("/v1/graphql"), 6);
    assert!(!refresher.is_finished());
}

#[tokio::test]
async fn an_expired_jwt_is_refreshed_once_and_the_call_retried_once() {
    let server = server(900);
    // This client reads the real clock: it believes its JWT is fresh.
    let client = nhost_session_reqwest::client(server.base_url()).unwrap();
    client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    let api = client.authenticated().unwrap();
    assert!(graphql(&api, &server).await["data"]["me"]["id"].is_string());

    // The server's clock runs past the JWT's expiry; Hasura answers 200 `invalid-jwt`.
    server.advance(Duration::from_secs(901));
    let answer = graphql(&api, &server).await;
    assert_eq!(answer["data"]["me"]["email"], EMAIL, "{answer}");

    let stats = server.stats();
    assert_eq!(stats.token_calls, 1);
    assert_eq!(
        stats.calls_to("/v1/graphql"),
        3,
        "one call, then one call and its retry"
    );
}

#[tokio::test]
async fn transient_faults_are_survived_with_back_off() {
    let server = server(60);
    let store = MemoryTokenStore::new();
    let client = client(&server, &store);
    client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    let before = refresh_token(&store);
    let jwt = client.access_token().await.unwrap();
    let mut events = client.subscribe();
    let _refresher = AutoRefresh::spawn_with(&client, fast());

    server.inject(Fault::on("/token").status(503));
    server.inject(Fault::on("/token").rate_limited());
    server.inject(Fault::on("/token").drop_connection());
    server.inject(Fault::on("/token").reset_connection());
    // Due at 30 s.
    server.advance(Duration::from_secs(31));
    for failures in 1..=4u32 {
        match next_event(&mut events).await {
            SessionEvent::RefreshDeferred {
                failures: n,
                retry_at,
            } => {
                assert_eq!(n, failures);
                // Meanwhile the session and its still-valid JWT are kept.
                assert_eq!(client.access_token().await.unwrap(), jwt);
                assert_eq!(refresh_token(&store), before);
                let wait = retry_at - client.clock().now();
                server.advance(
                    Duration::try_from(wait).unwrap_or_default() + Duration::from_millis(1),
                );
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::TokenRefreshed { .. }
    ));
    assert_ne!(refresh_token(&store), before);
    assert_ne!(client.access_token().await.unwrap(), jwt);
    let stats = server.stats();
    assert_eq!(stats.calls_with("/v1/token", "200"), 1);
    assert_eq!(stats.reuse_rejections, 0);
    assert!(server.faults().is_empty());
}

#[tokio::test]
async fn a_rejected_refresh_token_ends_the_session_and_clears_the_store() {
    let server = server(60);
    let store = MemoryTokenStore::new();
    let client = client(&server, &store);
    client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    let api = client.authenticated().unwrap();
    let refresher = AutoRefresh::spawn_with(&client, fast());

    // Revoked elsewhere (another device signed out everywhere).
    let other = nhost_session_reqwest::client(server.base_url()).unwrap();
    other.sign_in_email_password(EMAIL, PASSWORD).await.unwrap();
    other.sign_out_all().await.unwrap();

    server.advance(Duration::from_secs(31));
    let exit = tokio::time::timeout(Duration::from_secs(5), refresher.join())
        .await
        .unwrap();
    assert_eq!(
        exit,
        AutoRefreshExit::SessionEnded(SignOutReason::RefreshTokenRejected)
    );
    assert!(store.get().is_none(), "the store was cleared");
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    let error = api
        .send(api.post(server.graphql_url()).body(QUERY))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthenticatedError::Auth(Error::NotSignedIn)),
        "{error:?}"
    );
    assert_eq!(server.stats().calls_with("/v1/token", "401"), 1);
}

#[tokio::test]
async fn an_authenticated_call_that_meets_a_rejected_token_says_the_session_ended() {
    let server = server(60);
    let store = MemoryTokenStore::new();
    let client = client(&server, &store);
    client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    let api = client.authenticated().unwrap();
    client
        .api()
        .sign_out(&refresh_token(&store), None)
        .await
        .unwrap();

    server.advance(Duration::from_secs(31));
    let error = api
        .send(api.post(server.graphql_url()).body(QUERY))
        .await
        .unwrap_err();
    assert!(error.ends_session(), "{error:?}");
    assert!(store.get().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_callers_on_an_expiring_session_make_one_refresh() {
    let server = server(60);
    let store = MemoryTokenStore::new();
    let client = client(&server, &store);
    client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    let api = client.authenticated().unwrap();
    let before = refresh_token(&store);

    // Within the refresh margin: the first caller refreshes, the 199 others share it.
    server.advance(Duration::from_secs(31));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let api = api.clone();
        let url = server.graphql_url();
        tasks.spawn(async move {
            let answer = api
                .send(
                    api.post(url)
                        .header("content-type", "application/json")
                        .body(QUERY),
                )
                .await
                .unwrap();
            answer.json::<serde_json::Value>().await.unwrap()
        });
    }
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer["data"]["me"]["email"], EMAIL, "{answer}");
    }
    let stats = server.stats();
    assert_eq!(stats.token_calls, 1, "{stats:?}");
    assert_eq!(stats.reuse_rejections, 0);
    assert_eq!(stats.calls_to("/v1/graphql"), 200);
    assert_ne!(refresh_token(&store), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_callers_refused_as_expired_together_make_one_refresh() {
    let server = server(900);
    // The real clock: the client cannot know that its JWT expired at the server.
    let client = nhost_session_reqwest::client(server.base_url()).unwrap();
    client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    let api = client.authenticated().unwrap();

    server.advance(Duration::from_secs(901));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let api = api.clone();
        let url = server.graphql_url();
        tasks.spawn(async move {
            let answer = api.send(api.post(url).body(QUERY)).await.unwrap();
            answer.json::<serde_json::Value>().await.unwrap()
        });
    }
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer["data"]["me"]["email"], EMAIL, "{answer}");
    }
    let stats = server.stats();
    assert_eq!(stats.token_calls, 1, "{stats:?}");
    assert_eq!(stats.reuse_rejections, 0);
    // Each call that went out with the expired JWT was refused once and retried once; calls
    // that started after the refresh went out with the new JWT at once.
    let calls = stats.calls_to("/v1/graphql");
    assert!((201..=400).contains(&calls), "{calls}");
}
