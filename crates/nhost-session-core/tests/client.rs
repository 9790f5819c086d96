//! AuthClient against a scripted transport: every operation's request, and the session rules
//! (single flight, rotation, persistence, rejection, transient failures, restore, adoption).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use nhost_session_core::{
    AuthClient, AuthUrl, Error, HttpTransport, ManualClock, MemoryTokenStore, Pkce, RefreshToken,
    SecretString, SessionEvent, SessionStatus, SignOutReason, StoreError, StoredTokens, TokenStore,
    TransportError, TransportErrorKind,
};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// A request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    body: Value,
    bearer: Option<String>,
    content_type: Option<String>,
}

/// What the fake answers to `POST /token`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TokenMode {
    /// Rotate, reject reuse (the real server today).
    Rotate,
    /// Answer 503.
    Unavailable,
    /// No answer at all.
    Unreachable,
}

/// A small auth server in a closure: rotating refresh tokens, reuse rejected, every request
/// recorded.
#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    live: Arc<Mutex<HashSet<String>>>,
    counter: Arc<AtomicUsize>,
    token_mode: Arc<Mutex<TokenMode>>,
    delay: Option<StdDuration>,
    lifetime: u64,
    canned: Arc<Mutex<HashMap<String, (u16, String)>>>,
}

impl Fake {
    fn new() -> Self {
        Self {
            seen: Arc::default(),
            live: Arc::default(),
            counter: Arc::default(),
            token_mode: Arc::new(Mutex::new(TokenMode::Rotate)),
            delay: None,
            lifetime: 900,
            canned: Arc::default(),
        }
    }

    fn with_delay(mut self, delay: StdDuration) -> Self {
        self.delay = Some(delay);
        self
    }

    fn set_mode(&self, mode: TokenMode) {
        *self.token_mode.lock().unwrap() = mode;
    }

    /// Answers `path` with this status and body instead of the default.
    fn can(&self, path: &str, status: u16, body: &str) {
        self.canned
            .lock()
            .unwrap()
            .insert(path.into(), (status, body.into()));
    }

    fn calls(&self, path: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .count()
    }

    fn last(&self, path: &str) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.path == path)
            .cloned()
            .unwrap()
    }

    /// A live refresh token, as if another process had signed in.
    fn mint(&self) -> String {
        let token = format!("rt-{}", self.counter.fetch_add(1, Ordering::SeqCst));
        self.live.lock().unwrap().insert(token.clone());
        token
    }

    fn session(&self) -> Value {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let refresh = format!("rt-{n}");
        self.live.lock().unwrap().insert(refresh.clone());
        json!({
            "accessToken": format!("jwt-{n}"),
            "accessTokenExpiresIn": self.lifetime,
            "refreshToken": refresh,
            "refreshTokenId": "device-1",
            "user": {"id": "u1", "email": "a@example.com", "roles": ["user"], "defaultRole": "user",
                     "metadata": null, "isAnonymous": false}
        })
    }

    fn answer(&self, seen: &Seen) -> Result<(u16, String), TransportError> {
        if let Some(canned) = self.canned.lock().unwrap().get(&seen.path) {
            return Ok(canned.clone());
        }
        let path = seen.path.trim_start_matches("/v1/");
        Ok(match path {
            "token" => match *self.token_mode.lock().unwrap() {
                TokenMode::Unreachable => {
                    return Err(TransportError::new(TransportErrorKind::Connect, "refused"));
                }
                TokenMode::Unavailable => (503, String::new()),
                TokenMode::Rotate => {
                    let sent = seen.body["refreshToken"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    if self.live.lock().unwrap().remove(&sent) {
                        (200, self.session().to_string())
                    } else {
                        (401, json!({"status":401,"error":"invalid-refresh-token","message":"Invalid or expired refresh token"}).to_string())
                    }
                }
            },
            "signout" => (200, "\"OK\"".into()),
            "user" => (
                200,
                json!({"id":"u1","activeMfaType":"totp","metadata":null}).to_string(),
            ),
            "signin/passwordless/email" | "signin/otp/email" | "signin/passwordless/sms" => {
                (200, "\"OK\"".into())
            }
            "pat" => (
                200,
                json!({"id":"p1","personalAccessToken":"pat-secret"}).to_string(),
            ),
            _ => (
                200,
                json!({"session": self.session(), "mfa": null}).to_string(),
            ),
        })
    }
}

#[async_trait]
impl HttpTransport for Fake {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let seen = Seen {
            method: request.method().to_string(),
            path: request.uri().path().to_owned(),
            body: serde_json::from_slice(request.body()).unwrap_or(Value::Null),
            bearer: request
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned()),
            content_type: request
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned()),
        };
        self.seen.lock().unwrap().push(seen.clone());
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let (status, body) = self.answer(&seen)?;
        Ok(http::Response::builder()
            .status(status)
            .body(body.into_bytes())
            .unwrap())
    }
}

fn start() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

fn url() -> AuthUrl {
    AuthUrl::parse("http://auth.test/v1").unwrap()
}

type Client<S = MemoryTokenStore> = AuthClient<Fake, S, Arc<ManualClock>>;

fn client(fake: &Fake) -> (Client, Arc<ManualClock>, MemoryTokenStore) {
    let clock = Arc::new(ManualClock::new(start()));
    let store = MemoryTokenStore::new();
    let client = AuthClient::builder(url(), fake.clone())
        .store(store.clone())
        .clock(clock.clone())
        .jitter_seed(1)
        .build();
    (client, clock, store)
}

#[tokio::test]
async fn every_operation_sends_the_request_the_server_expects() {
    let fake = Fake::new();
    let (client, _, _) = client(&fake);

    client
        .sign_up_email_password("a@example.com", "pw-123456", None)
        .await
        .unwrap();
    let s = fake.last("/v1/signup/email-password");
    assert_eq!(
        (s.method.as_str(), s.content_type.as_deref()),
        ("POST", Some("application/json"))
    );
    assert_eq!(
        s.body,
        json!({"email":"a@example.com","password":"pw-123456"})
    );

    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    assert_eq!(
        fake.last("/v1/signin/email-password").body,
        json!({"email":"a@example.com","password":"pw"})
    );

    client.sign_in_anonymous(None).await.unwrap();
    assert_eq!(fake.last("/v1/signin/anonymous").body, json!({}));

    client
        .sign_in_pat(&SecretString::new("pat-1"))
        .await
        .unwrap();
    assert_eq!(
        fake.last("/v1/signin/pat").body,
        json!({"personalAccessToken":"pat-1"})
    );

    client.send_magic_link("a@example.com", None).await.unwrap();
    assert_eq!(
        fake.last("/v1/signin/passwordless/email").body,
        json!({"email":"a@example.com"})
    );
    client.send_email_otp("a@example.com", None).await.unwrap();
    assert_eq!(
        fake.last("/v1/signin/otp/email").body,
        json!({"email":"a@example.com"})
    );
    client
        .verify_email_otp("a@example.com", "123456")
        .await
        .unwrap();
    assert_eq!(
        fake.last("/v1/signin/otp/email/verify").body,
        json!({"email":"a@example.com","otp":"123456"})
    );
    client.send_sms_otp("+15550001", None).await.unwrap();
    assert_eq!(
        fake.last("/v1/signin/passwordless/sms").body,
        json!({"phoneNumber":"+15550001"})
    );
    client.verify_sms_otp("+15550001", "654321").await.unwrap();
    assert_eq!(
        fake.last("/v1/signin/passwordless/sms/otp").body,
        json!({"phoneNumber":"+15550001","otp":"654321"})
    );

    client
        .sign_in_id_token("google", &SecretString::new("idt"), Some("n1"))
        .await
        .unwrap();
    assert_eq!(
        fake.last("/v1/signin/idtoken").body,
        json!({"provider":"google","idToken":"idt","nonce":"n1"})
    );

    let user = client.user().await.unwrap();
    let s = fake.last("/v1/user");
    assert_eq!(s.method, "GET");
    assert!(s.bearer.unwrap().starts_with("Bearer jwt-"));
    assert_eq!(user.active_mfa_type.as_deref(), Some("totp"));

    let pat = client
        .create_pat(start() + Duration::days(30), None)
        .await
        .unwrap();
    assert_eq!(pat.personal_access_token.expose_secret(), "pat-secret");
    assert!(
        fake.last("/v1/pat").body["expiresAt"]
            .as_str()
            .unwrap()
            .starts_with("2024-")
    );

    client.sign_out_all().await.unwrap();
    let s = fake.last("/v1/signout");
    assert_eq!(s.body, json!({"all": true}));
    assert!(s.bearer.unwrap().starts_with("Bearer jwt-"));
    assert_eq!(client.status(), SessionStatus::Anonymous);
}

#[tokio::test]
async fn provider_url_and_redirects() {
    let fake = Fake::new();
    let (client, _, store) = client(&fake);
    let pkce = Pkce::generate().unwrap();
    let url = client.provider_sign_in_url(
        "github",
        &nhost_session_core::ProviderSignInOptions {
            redirect_to: Some("https://app.example/cb".into()),
            code_challenge: Some(pkce.challenge().into()),
            ..Default::default()
        },
    );
    assert_eq!(url.path(), "/v1/signin/provider/github");
    let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["redirectTo"], "https://app.example/cb");
    assert_eq!(query["codeChallenge"], pkce.challenge());
    assert_eq!(query["codeChallengeMethod"], "S256");

    // A refresh token in the redirect is exchanged at once and only the new one is kept.
    let from_url = fake.mint();
    let redirect = url::Url::parse(&format!(
        "https://app.example/cb?refreshToken={from_url}&type=signinPasswordless"
    ))
    .unwrap();
    client.complete_redirect(&redirect, None).await.unwrap();
    assert_eq!(
        fake.last("/v1/token").body,
        json!({"refreshToken": from_url})
    );
    assert_ne!(store.get().unwrap().refresh_token.expose_secret(), from_url);

    let redirect = url::Url::parse("https://app.example/cb?code=c-1").unwrap();
    assert!(matches!(
        client.complete_redirect(&redirect, None).await,
        Err(Error::Config(_))
    ));
    client
        .complete_redirect(&redirect, Some(pkce.verifier()))
        .await
        .unwrap();
    assert_eq!(
        fake.last("/v1/token/exchange").body,
        json!({"code": "c-1", "codeVerifier": pkce.verifier().expose_secret()})
    );

    let redirect =
        url::Url::parse("https://app.example/cb?error=invalid-state&errorDescription=bad").unwrap();
    match client.complete_redirect(&redirect, None).await {
        Err(Error::Redirect(e)) => assert_eq!(
            (e.code.as_str(), e.description.as_deref()),
            ("invalid-state", Some("bad"))
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mfa_sign_in_returns_the_ticket_then_completes() {
    let fake = Fake::new();
    fake.can(
        "/v1/signin/email-password",
        200,
        r#"{"session":null,"mfa":{"ticket":"mfaTotp:t-1"}}"#,
    );
    let (client, _, _) = client(&fake);
    let ticket = match client.sign_in_email_password("a@example.com", "pw").await {
        Err(Error::MfaRequired(ticket)) => ticket,
        other => panic!("{other:?}"),
    };
    assert_eq!(client.status(), SessionStatus::Anonymous);
    client.complete_mfa_totp(&ticket, "123456").await.unwrap();
    assert_eq!(
        fake.last("/v1/signin/mfa/totp").body,
        json!({"ticket":"mfaTotp:t-1","otp":"123456"})
    );
    assert_eq!(client.status(), SessionStatus::Authenticated);
}

#[tokio::test]
async fn server_errors_are_typed_and_keep_the_servers_words() {
    let fake = Fake::new();
    fake.can(
        "/v1/signin/email-password",
        401,
        r#"{"status":401,"error":"invalid-email-password","message":"Incorrect email or password"}"#,
    );
    fake.can(
        "/v1/signup/email-password",
        409,
        r#"{"status":409,"error":"email-already-in-use","message":"x"}"#,
    );
    fake.can("/v1/signin/anonymous", 200, "<html>proxy</html>");
    let (client, _, _) = client(&fake);
    let e = client
        .sign_in_email_password("a@example.com", "nope")
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(401), Some("invalid-email-password"))
    );
    assert!(!e.is_transient() && !e.ends_session());
    let e = client
        .sign_up_email_password("a@example.com", "pw", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("email-already-in-use"));
    assert!(matches!(
        client.sign_in_anonymous(None).await,
        Err(Error::Decode(_))
    ));
}

#[tokio::test]
async fn a_session_is_refreshed_within_the_margin_and_the_new_token_saved_first() {
    let fake = Fake::new();
    let (client, clock, store) = client(&fake);
    let mut events = client.subscribe();
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    assert_eq!(store.get().unwrap().refresh_token, first.refresh_token);

    // Fresh: no refresh.
    assert_eq!(client.access_token().await.unwrap(), first.access_token);
    clock.advance(Duration::minutes(10));
    assert_eq!(client.access_token().await.unwrap(), first.access_token);
    assert_eq!(fake.calls("/v1/token"), 0);

    // Within the margin: one refresh, the rotated token is stored.
    clock.advance(Duration::minutes(4) + Duration::seconds(1));
    let second = client.access_token().await.unwrap();
    assert_ne!(second, first.access_token);
    assert_eq!(fake.calls("/v1/token"), 1);
    let stored = store.get().unwrap();
    assert_ne!(stored.refresh_token, first.refresh_token);
    assert_eq!(stored.refresh_token_id, "device-1");
    assert_eq!(stored.access_token.as_ref(), Some(&second));

    assert!(matches!(
        events.try_recv(),
        Some(SessionEvent::SignedIn { user: Some(_) })
    ));
    assert!(matches!(
        events.try_recv(),
        Some(SessionEvent::TokenRefreshed { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_callers_share_one_refresh() {
    let fake = Fake::new().with_delay(StdDuration::from_millis(50));
    let (client, clock, _) = client(&fake);
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    clock.advance(Duration::minutes(16)); // the JWT has expired

    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.access_token().await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap().unwrap());
    }
    assert_eq!(fake.calls("/v1/token"), 1, "exactly one POST /token");
    assert_eq!(tokens.len(), 1, "all 1,000 callers got the same JWT");
    assert!(!tokens.contains(&first.access_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_goes_on_when_the_caller_that_started_it_is_dropped() {
    let fake = Fake::new().with_delay(StdDuration::from_millis(100));
    let (client, clock, store) = client(&fake);
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    clock.advance(Duration::minutes(16));

    let leader = {
        let client = client.clone();
        tokio::spawn(async move { client.access_token().await })
    };
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    let follower = {
        let client = client.clone();
        tokio::spawn(async move { client.access_token().await })
    };
    tokio::time::sleep(StdDuration::from_millis(10)).await;
    leader.abort();
    let token = follower.await.unwrap().unwrap();
    assert_ne!(token, first.access_token);
    assert_eq!(fake.calls("/v1/token"), 1);
    assert_eq!(store.get().unwrap().access_token, Some(token));
}

#[tokio::test]
async fn transient_failures_keep_the_session_and_back_off() {
    let fake = Fake::new();
    let (client, clock, store) = client(&fake);
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();

    // Within the margin, the server is down: the still-valid JWT is served.
    fake.set_mode(TokenMode::Unavailable);
    clock.advance(Duration::minutes(14) + Duration::seconds(30));
    assert_eq!(client.access_token().await.unwrap(), first.access_token);
    assert_eq!(fake.calls("/v1/token"), 1);
    // During back-off, no new attempt.
    assert_eq!(client.access_token().await.unwrap(), first.access_token);
    assert_eq!(fake.calls("/v1/token"), 1);

    // The JWT expires while the network is gone: a transient error, the session stays.
    fake.set_mode(TokenMode::Unreachable);
    clock.advance(Duration::seconds(40));
    let e = client.access_token().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(matches!(e, Error::Transport(_)));
    assert_eq!(client.status(), SessionStatus::Expired);
    assert_eq!(store.get().unwrap().refresh_token, first.refresh_token);
    // In back-off: no request, a typed "temporarily unavailable".
    let calls = fake.calls("/v1/token");
    assert!(matches!(
        client.access_token().await,
        Err(Error::TemporarilyUnavailable { .. })
    ));
    assert_eq!(fake.calls("/v1/token"), calls);

    // The server comes back: after the back-off, the same refresh token still works.
    fake.set_mode(TokenMode::Rotate);
    clock.advance(Duration::minutes(2));
    let token = client.access_token().await.unwrap();
    assert_ne!(token, first.access_token);
    assert_eq!(client.status(), SessionStatus::Authenticated);
}

#[tokio::test]
async fn a_rejected_token_ends_the_session_clears_the_store_and_never_loops() {
    let fake = Fake::new();
    let (client, clock, store) = client(&fake);
    let mut events = client.subscribe();
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    fake.live
        .lock()
        .unwrap()
        .remove(first.refresh_token.expose_secret()); // revoked elsewhere
    clock.advance(Duration::minutes(16));
    let e = client.access_token().await.unwrap_err();
    assert!(e.ends_session(), "{e}");
    assert_eq!(client.status(), SessionStatus::Anonymous);
    assert!(store.get().is_none());
    assert!(matches!(
        client.access_token().await,
        Err(Error::NotSignedIn)
    ));
    assert_eq!(
        fake.calls("/v1/token"),
        1,
        "a dead token is never sent twice"
    );
    let mut seen = Vec::new();
    while let Some(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(seen.contains(&SessionEvent::SignedOut {
        reason: SignOutReason::RefreshTokenRejected
    }));
}

#[tokio::test]
async fn concealed_and_validation_errors_from_token_also_end_the_session() {
    for body in [
        r#"{"error":"invalid-request"}"#,
        r#"{"error":"error in openapi3filter.RequestError: bad uuid"}"#,
    ] {
        let fake = Fake::new();
        let (client, clock, store) = client(&fake);
        client.sign_in_anonymous(None).await.unwrap();
        fake.can("/v1/token", 400, body);
        clock.advance(Duration::minutes(16));
        assert!(client.access_token().await.unwrap_err().ends_session());
        assert!(store.get().is_none());
    }
}

#[tokio::test]
async fn a_newer_session_saved_by_another_process_is_adopted_after_a_rejection() {
    let fake = Fake::new();
    let (client, clock, store) = client(&fake);
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    // Another process sharing the store refreshes first: our token dies, the store has a new one.
    fake.live
        .lock()
        .unwrap()
        .remove(first.refresh_token.expose_secret());
    let newer = fake.mint();
    store
        .save(&StoredTokens {
            refresh_token: RefreshToken::new(newer.clone()),
            refresh_token_id: "device-1".into(),
            access_token_expires_at: None,
            access_token: None,
            user: None,
        })
        .await
        .unwrap();
    clock.advance(Duration::minutes(16));
    let token = client.access_token().await.unwrap();
    assert_eq!(fake.calls("/v1/token"), 2);
    assert_eq!(fake.last("/v1/token").body["refreshToken"], newer);
    assert_eq!(client.status(), SessionStatus::Authenticated);
    assert_eq!(store.get().unwrap().access_token, Some(token));
}

#[tokio::test]
async fn a_stored_session_is_restored_and_refreshed_on_first_use() {
    let fake = Fake::new();
    let token = fake.mint();
    let store = MemoryTokenStore::with_tokens(StoredTokens {
        refresh_token: RefreshToken::new(token.clone()),
        refresh_token_id: "device-1".into(),
        access_token_expires_at: None,
        access_token: None,
        user: None,
    });
    let client = AuthClient::builder(url(), fake.clone())
        .store(store.clone())
        .build();
    let jwt = client.access_token().await.unwrap();
    assert_eq!(fake.last("/v1/token").body, json!({"refreshToken": token}));
    assert_eq!(store.get().unwrap().access_token, Some(jwt));
    // A stored, still-valid JWT is used without a refresh.
    let fake2 = Fake::new();
    let client2 = AuthClient::builder(url(), fake2.clone())
        .store(store.clone())
        .build();
    client2.access_token().await.unwrap();
    assert_eq!(fake2.calls("/v1/token"), 0);
}

/// A store whose saves fail while `failing` is set.
#[derive(Clone, Default)]
struct FlakyStore {
    inner: MemoryTokenStore,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl TokenStore for FlakyStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        self.inner.load().await
    }
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("disk full".into()));
        }
        self.inner.save(tokens).await
    }
    async fn clear(&self) -> Result<(), StoreError> {
        self.inner.clear().await
    }
}

#[tokio::test]
async fn a_failed_save_keeps_the_new_session_reports_it_and_is_retried() {
    let fake = Fake::new();
    let clock = Arc::new(ManualClock::new(start()));
    let store = FlakyStore::default();
    let client = AuthClient::builder(url(), fake.clone())
        .store(store.clone())
        .clock(clock.clone())
        .build();
    let mut events = client.subscribe();
    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();

    store.failing.store(true, Ordering::SeqCst);
    clock.advance(Duration::minutes(16));
    match client.refresh().await {
        Err(Error::Store(StoreError::Unavailable(_))) => {}
        other => panic!("{other:?}"),
    }
    // The new session is in memory and works; the store still holds the old (now dead) token.
    let token = client.access_token().await.unwrap();
    assert_eq!(client.status(), SessionStatus::Authenticated);
    assert_ne!(store.inner.get().unwrap().access_token, Some(token.clone()));
    let mut seen = Vec::new();
    while let Some(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(seen.contains(&SessionEvent::StoreFailed));

    // The store recovers: the next token request saves the current session.
    store.failing.store(false, Ordering::SeqCst);
    assert_eq!(client.access_token().await.unwrap(), token);
    assert_eq!(store.inner.get().unwrap().access_token, Some(token));
    assert_eq!(fake.calls("/v1/token"), 1);
}

#[tokio::test]
async fn sign_out_revokes_the_newest_token_and_clears_locally_even_if_the_server_fails() {
    let fake = Fake::new();
    let (client, _, store) = client(&fake);
    let session = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    client.sign_out().await.unwrap();
    let s = fake.last("/v1/signout");
    assert_eq!(
        s.body,
        json!({"refreshToken": session.refresh_token.expose_secret()})
    );
    assert_eq!(
        s.bearer,
        Some(format!("Bearer {}", session.access_token.expose_secret()))
    );
    assert!(store.get().is_none());
    assert_eq!(client.status(), SessionStatus::Anonymous);

    client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    fake.can("/v1/signout", 503, "");
    assert!(client.sign_out().await.unwrap_err().is_transient());
    assert_eq!(client.status(), SessionStatus::Anonymous);
    assert!(store.get().is_none());
    // Signing out without a session is a no-op.
    client.sign_out().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_refused_together_refresh_once() {
    let fake = Fake::new().with_delay(StdDuration::from_millis(20));
    let (client, _, _) = client(&fake);
    let first = client
        .sign_in_email_password("a@example.com", "pw")
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let rejected = first.access_token.clone();
            tokio::spawn(async move { client.refresh_if_current(&rejected).await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap().unwrap());
    }
    assert_eq!(fake.calls("/v1/token"), 1);
    assert_eq!(tokens.len(), 1);
    assert!(!tokens.contains(&first.access_token));
    // A token that is no longer current causes no refresh.
    let current = tokens.into_iter().next().unwrap();
    assert_eq!(
        client
            .refresh_if_current(&first.access_token)
            .await
            .unwrap(),
        current
    );
    assert_eq!(fake.calls("/v1/token"), 1);
}
