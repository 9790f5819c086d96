//! `AuthClient` over stores that fail: on save, on load, on clear.
//!
//! What must hold (design.md invariant 4, and "a dead token never stays in storage"):
//! - a refreshed (or new) session whose save fails stays in memory and works, the failure is
//!   reported (`refresh()` and sign-ins return `Error::Store`, subscribers hear `StoreFailed`),
//!   and the next token request saves it again;
//! - a store that cannot be read leaves the client signed out, without a panic, and the load
//!   is tried again on the next call;
//! - a sign-out whose clear fails still ends the session locally, and says so;
//! - once the store works again, it never holds a dead refresh token while the client knows a
//!   newer one (checked over generated sequences at the end).
//!
//! The auth service is a closure-style fake with strict rotation (one live token per device
//! session, a replaced token is dead at once), so "dead" is the server's truth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use nhost_session_core::{
    AuthClient, AuthUrl, Error, HttpTransport, ManualClock, MemoryTokenStore, SessionEvent,
    SessionStatus, SignOutReason, StoreError, StoredTokens, Subscription, TokenStore,
    TransportError,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// A small auth service: device sessions with one live, rotating refresh token each,
/// revocation, and an off switch.
#[derive(Clone, Default)]
struct Auth {
    /// Live refresh token → its device session.
    live: Arc<Mutex<HashMap<String, usize>>>,
    /// Every refresh token ever issued → its device session.
    issued: Arc<Mutex<HashMap<String, usize>>>,
    counter: Arc<AtomicUsize>,
    devices: Arc<AtomicUsize>,
    token_calls: Arc<AtomicUsize>,
    rejected: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl Auth {
    fn session(&self, device: usize) -> Value {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let refresh = format!("rt-{n}");
        self.live.lock().unwrap().insert(refresh.clone(), device);
        self.issued.lock().unwrap().insert(refresh.clone(), device);
        json!({
            "accessToken": format!("jwt-{n}"),
            "accessTokenExpiresIn": 900,
            "refreshToken": refresh,
            "refreshTokenId": format!("device-{device}"),
            "user": {"id": "u1", "email": "a@example.com", "roles": ["user"], "defaultRole": "user"}
        })
    }

    fn is_live(&self, token: &str) -> bool {
        self.live.lock().unwrap().contains_key(token)
    }

    /// The live token of a device session, if it is still alive.
    fn live_token_of(&self, device: usize) -> Option<String> {
        self.live
            .lock()
            .unwrap()
            .iter()
            .find(|(_, d)| **d == device)
            .map(|(t, _)| t.clone())
    }

    fn device_of(&self, token: &str) -> Option<usize> {
        self.issued.lock().unwrap().get(token).copied()
    }

    fn token_calls(&self) -> usize {
        self.token_calls.load(Ordering::SeqCst)
    }

    fn answer(&self, path: &str, body: &Value) -> (u16, String) {
        if self.down.load(Ordering::SeqCst) {
            return (503, String::new());
        }
        let token = body["refreshToken"].as_str().unwrap_or_default();
        match path {
            "/v1/token" => {
                self.token_calls.fetch_add(1, Ordering::SeqCst);
                let device = self.live.lock().unwrap().remove(token);
                if let Some(device) = device {
                    (200, self.session(device).to_string())
                } else {
                    self.rejected.fetch_add(1, Ordering::SeqCst);
                    (
                        401,
                        json!({"status":401,"error":"invalid-refresh-token","message":"Invalid or expired refresh token"})
                            .to_string(),
                    )
                }
            }
            "/v1/signout" => {
                self.live.lock().unwrap().remove(token);
                (200, "\"OK\"".into())
            }
            "/v1/signin/email-password" => {
                let device = self.devices.fetch_add(1, Ordering::SeqCst);
                (200, json!({ "session": self.session(device) }).to_string())
            }
            _ => (404, String::new()),
        }
    }
}

#[async_trait]
impl HttpTransport for Auth {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let body: Value = serde_json::from_slice(request.body()).unwrap_or(Value::Null);
        let (status, text) = self.answer(request.uri().path(), &body);
        Ok(http::Response::builder()
            .status(status)
            .body(text.into_bytes())
            .unwrap())
    }
}

/// A store whose save, load and clear fail while their switch is on; counts every call.
#[derive(Clone, Default)]
struct FailingStore {
    inner: MemoryTokenStore,
    fail_save: Arc<AtomicBool>,
    fail_load: Arc<AtomicBool>,
    fail_clear: Arc<AtomicBool>,
    saves: Arc<AtomicUsize>,
    loads: Arc<AtomicUsize>,
    clears: Arc<AtomicUsize>,
}

impl FailingStore {
    fn held(&self) -> Option<String> {
        self.inner
            .get()
            .map(|t| t.refresh_token.expose_secret().to_owned())
    }

    fn set(&self, save: bool, load: bool, clear: bool) {
        self.fail_save.store(save, Ordering::SeqCst);
        self.fail_load.store(load, Ordering::SeqCst);
        self.fail_clear.store(clear, Ordering::SeqCst);
    }
}

#[async_trait]
impl TokenStore for FailingStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.fail_load.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("keychain locked".into()));
        }
        self.inner.load().await
    }

    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("disk full".into()));
        }
        self.inner.save(tokens).await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.clears.fetch_add(1, Ordering::SeqCst);
        if self.fail_clear.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("read-only file system".into()));
        }
        self.inner.clear().await
    }
}

type Client = AuthClient<Auth, FailingStore, Arc<ManualClock>>;

fn start() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

fn client(auth: &Auth, store: &FailingStore, clock: &Arc<ManualClock>) -> Client {
    AuthClient::builder(AuthUrl::parse("http://auth.test/v1").unwrap(), auth.clone())
        .store(store.clone())
        .clock(clock.clone())
        .jitter_seed(3)
        .build()
}

fn events(subscription: &mut Subscription) -> Vec<SessionEvent> {
    std::iter::from_fn(|| subscription.try_recv()).collect()
}

#[tokio::test]
async fn a_failed_save_after_a_refresh_keeps_the_new_session_reports_it_and_retries() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    let client = client(&auth, &store, &clock);
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    let mut subscription = client.subscribe();

    store.set(true, false, false);
    let saves = store.saves.load(Ordering::SeqCst);
    match client.refresh().await {
        Err(Error::Store(StoreError::Unavailable(message))) => assert_eq!(message, "disk full"),
        other => panic!("expected Error::Store, got {other:?}"),
    }
    // Saved before the new token was handed out (and tried once more before returning).
    assert!(store.saves.load(Ordering::SeqCst) > saves);
    let seen = events(&mut subscription);
    assert!(seen.contains(&SessionEvent::StoreFailed), "{seen:?}");
    assert!(
        seen.iter()
            .any(|e| matches!(e, SessionEvent::TokenRefreshed { .. })),
        "{seen:?}"
    );

    // The new session lives in memory and works; the store still holds the replaced token,
    // which the server has killed.
    let jwt = client.access_token().await.unwrap();
    assert_ne!(jwt, first.access_token);
    assert_eq!(client.status(), SessionStatus::Authenticated);
    assert_eq!(store.held().as_deref(), Some("rt-0"));
    assert!(!auth.is_live("rt-0"));
    // Each token request tries the save again (and reports the failure to subscribers).
    let saves = store.saves.load(Ordering::SeqCst);
    assert_eq!(client.access_token().await.unwrap(), jwt);
    assert_eq!(store.saves.load(Ordering::SeqCst), saves + 1);
    assert!(events(&mut subscription).contains(&SessionEvent::StoreFailed));

    // The store recovers: the next token request saves the live session, without a refresh.
    store.set(false, false, false);
    assert_eq!(client.access_token().await.unwrap(), jwt);
    assert_eq!(store.held().as_deref(), Some("rt-1"));
    assert!(auth.is_live("rt-1"));
    assert_eq!(
        store.inner.get().unwrap().access_token.as_ref(),
        Some(&jwt),
        "the saved session is the one in memory"
    );
    // Clean again: the hot path needs no save.
    let saves = store.saves.load(Ordering::SeqCst);
    client.access_token().await.unwrap();
    assert_eq!(store.saves.load(Ordering::SeqCst), saves);
    assert_eq!(auth.token_calls(), 1);
}

#[tokio::test]
async fn a_refresh_due_to_expiry_with_a_failing_store_still_hands_out_the_new_token() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    let client = client(&auth, &store, &clock);
    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    store.set(true, false, false);
    clock.advance(Duration::minutes(16));
    // `access_token()` gets a valid token; the store failure is for `refresh()` and the
    // subscribers to report.
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "jwt-1"
    );
    assert_eq!(client.status(), SessionStatus::Authenticated);
    // The next refresh (forced) sends the token it knows, the live one, and fails to save
    // again: reported again, still in memory.
    assert!(matches!(client.refresh().await, Err(Error::Store(_))));
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "jwt-2"
    );
    assert_eq!(
        auth.rejected.load(Ordering::SeqCst),
        0,
        "no dead token sent"
    );
    store.set(false, false, false);
    client.access_token().await.unwrap();
    assert_eq!(store.held().as_deref(), Some("rt-2"));
}

#[tokio::test]
async fn a_failed_save_at_sign_in_keeps_the_session_and_reports_it() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    let client = client(&auth, &store, &clock);
    let mut subscription = client.subscribe();
    store.set(true, false, false);
    assert!(matches!(
        client.sign_in_email_password("a@example.com", "pw").await,
        Err(Error::Store(_))
    ));
    assert_eq!(client.status(), SessionStatus::Authenticated);
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "jwt-0"
    );
    let seen = events(&mut subscription);
    assert!(seen.contains(&SessionEvent::StoreFailed), "{seen:?}");
    assert!(store.held().is_none());
    store.set(false, false, false);
    client.access_token().await.unwrap();
    assert_eq!(store.held().as_deref(), Some("rt-0"));
}

#[tokio::test]
async fn an_unreadable_store_leaves_the_client_signed_out_and_is_read_again_later() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    // Another run of the program saved a session.
    client(&auth, &store, &clock)
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();

    store.set(false, true, false);
    let client = client(&auth, &store, &clock);
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    assert_eq!(client.status(), SessionStatus::Anonymous);
    assert!(client.current_user().is_none());
    assert!(matches!(client.user().await, Err(Error::NotSignedIn)));
    assert!(matches!(client.refresh().await, Err(Error::NotSignedIn)));
    let loads = store.loads.load(Ordering::SeqCst);
    assert!(loads >= 3, "every call tries to load again: {loads}");
    assert_eq!(auth.token_calls(), 0);
    // Nothing was written over the stored session meanwhile.
    assert_eq!(store.held().as_deref(), Some("rt-0"));

    store.set(false, false, false);
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "jwt-0"
    );
    assert_eq!(client.status(), SessionStatus::Authenticated);
    let loads = store.loads.load(Ordering::SeqCst);
    client.access_token().await.unwrap();
    client.user().await.ok();
    assert_eq!(store.loads.load(Ordering::SeqCst), loads, "loaded once");
}

#[tokio::test]
async fn a_sign_out_while_the_store_cannot_be_read_does_not_let_the_session_come_back() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    client(&auth, &store, &clock)
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    store.set(false, true, false);
    let client = client(&auth, &store, &clock);
    // The stored session cannot be read, so it cannot be revoked: that is reported, and the
    // stored session is removed so that it does not come back once the store can be read.
    let result = client.sign_out().await;
    assert!(
        matches!(result, Err(Error::Store(StoreError::Unavailable(_)))),
        "{result:?}"
    );
    assert!(store.held().is_none());
    store.set(false, false, false);
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    assert_eq!(client.status(), SessionStatus::Anonymous);
    assert_eq!(auth.token_calls(), 0);
}

#[tokio::test]
async fn a_sign_out_whose_clear_fails_still_ends_the_session_and_says_so() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    let client = client(&auth, &store, &clock);
    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    let mut subscription = client.subscribe();
    store.set(false, false, true);
    match client.sign_out().await {
        Err(Error::Store(StoreError::Unavailable(_))) => {}
        other => panic!("expected Error::Store, got {other:?}"),
    }
    assert_eq!(client.status(), SessionStatus::Anonymous);
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    assert!(
        events(&mut subscription).contains(&SessionEvent::SignedOut {
            reason: SignOutReason::Requested
        })
    );
    // The server revoked the token; the store could not forget it. A later run loads it, is
    // refused once, and clears it: one rejected call, no loop.
    assert!(!auth.is_live("rt-0"));
    assert_eq!(store.held().as_deref(), Some("rt-0"));
    store.set(false, false, false);
    let later = self::client(&auth, &store, &clock);
    clock.advance(Duration::minutes(16));
    assert!(later.access_token().await.unwrap_err().ends_session());
    assert!(store.held().is_none());
    assert!(matches!(
        later.access_token().await,
        Err(Error::NotSignedIn)
    ));
    assert_eq!(auth.rejected.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rejection_whose_clear_fails_ends_the_session_and_never_resends_the_token() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    let client = client(&auth, &store, &clock);
    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    auth.live.lock().unwrap().clear(); // revoked elsewhere
    store.set(false, false, true);
    clock.advance(Duration::minutes(16));
    let error = client.access_token().await.unwrap_err();
    assert!(error.ends_session(), "{error}");
    assert_eq!(client.status(), SessionStatus::Anonymous);
    for _ in 0..3 {
        assert!(matches!(
            client.access_token().await,
            Err(Error::NotSignedIn)
        ));
    }
    assert_eq!(auth.token_calls(), 1, "the dead token is sent once");
}

#[tokio::test]
async fn a_session_whose_save_failed_is_saved_once_the_store_works_even_while_refreshing_fails() {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    let client = client(&auth, &store, &clock);
    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    store.set(true, false, false);
    assert!(matches!(client.refresh().await, Err(Error::Store(_))));
    assert_eq!(store.held().as_deref(), Some("rt-0"), "dead, at the server");
    // The store works again, but the auth service is down and the JWT is within the margin:
    // the refresh fails, the still-valid JWT is served, and the live session must be saved.
    store.set(false, false, false);
    auth.down.store(true, Ordering::SeqCst);
    clock.advance(Duration::seconds(870));
    assert_eq!(
        client.access_token().await.unwrap().expose_secret(),
        "jwt-1"
    );
    assert_eq!(store.held().as_deref(), Some("rt-1"));
    // The same once the JWT has expired, during back-off.
    let (auth, store) = (Auth::default(), FailingStore::default());
    let client = self::client(&auth, &store, &clock);
    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    store.set(true, false, false);
    assert!(matches!(client.refresh().await, Err(Error::Store(_))));
    auth.down.store(true, Ordering::SeqCst);
    clock.advance(Duration::minutes(16));
    assert!(client.access_token().await.unwrap_err().is_transient());
    store.set(false, false, false);
    assert!(matches!(
        client.access_token().await,
        Err(Error::TemporarilyUnavailable { .. })
    ));
    assert_eq!(store.held().as_deref(), Some("rt-1"));
}

/// One step of a generated sequence.
#[derive(Clone, Debug)]
enum Step {
    /// Which store operations fail from now on.
    Store {
        save: bool,
        load: bool,
        clear: bool,
    },
    /// The auth service is down (503) or up.
    Down(bool),
    Advance(i64),
    AccessToken,
    Refresh,
    SignIn,
    SignOut,
    /// The program restarts: a new client over the same store.
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (any::<bool>(), prop::bool::weighted(0.2), prop::bool::weighted(0.3))
            .prop_map(|(save, load, clear)| Step::Store { save, load, clear }),
        1 => any::<bool>().prop_map(Step::Down),
        3 => (0i64..1200).prop_map(Step::Advance),
        4 => Just(Step::AccessToken),
        2 => Just(Step::Refresh),
        1 => Just(Step::SignIn),
        1 => Just(Step::SignOut),
        1 => Just(Step::Restart),
    ]
}

/// Runs the steps, failing the store and the auth service on and off. After every token
/// request made while the store can save, the store must hold the live token of the client's
/// device session whenever the client has a session and that device session is alive at the
/// server (when it is not, the client knows no newer token than whatever the store holds).
/// Nothing may panic.
async fn run_sequence(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let (auth, store) = (Auth::default(), FailingStore::default());
    let clock = Arc::new(ManualClock::new(start()));
    let mut client = client(&auth, &store, &clock);
    // The device session the client is on, as far as the test can tell.
    let mut device: Option<usize> = None;
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Store { save, load, clear } => store.set(*save, *load, *clear),
            Step::Down(down) => auth.down.store(*down, Ordering::SeqCst),
            Step::Advance(secs) => clock.advance(Duration::seconds(*secs)),
            Step::AccessToken => drop(client.access_token().await),
            Step::Refresh => drop(client.refresh().await),
            Step::SignIn => {
                let before = auth.devices.load(Ordering::SeqCst);
                drop(client.sign_in_email_password("a@example.com", "pw").await);
                if auth.devices.load(Ordering::SeqCst) > before {
                    device = Some(before);
                }
            }
            Step::SignOut => drop(client.sign_out().await),
            Step::Restart => {
                client = self::client(&auth, &store, &clock);
                // A token the store kept from before a failed save is dead: the new client
                // knows nothing newer.
                device = store
                    .held()
                    .filter(|t| auth.is_live(t))
                    .and_then(|t| auth.device_of(&t));
            }
        }
        if client.status() == SessionStatus::Anonymous {
            device = None;
        }
        let asked = matches!(step, Step::AccessToken);
        let healthy =
            !store.fail_save.load(Ordering::SeqCst) && !store.fail_load.load(Ordering::SeqCst);
        if asked && healthy {
            if let Some(live) = device.and_then(|d| auth.live_token_of(d)) {
                let held = store.held();
                prop_assert!(
                    held.as_deref() == Some(live.as_str()),
                    "step {i} ({step:?}): the client is on a live session ({live}), the \
                     store holds {held:?}"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn once_the_store_recovers_it_never_holds_a_dead_token_while_the_client_knows_a_newer_one(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(run_sequence(steps))?;
    }
}
