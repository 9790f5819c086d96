//! Secret hygiene (design.md invariant 6): the main flows of every crate run with `tracing` at
//! TRACE for all targets (and `log` records bridged in), every public type and error that the
//! flows produce is formatted with `Debug` (plain and pretty) and `Display`, and no access
//! token, refresh token, personal access token, one-time code, MFA ticket, PKCE verifier,
//! cookie value or password may appear anywhere in that output.
//!
//! The flows: sign-up, sign-in, MFA with TOTP, anonymous, PAT creation and PAT sign-in, e-mail
//! and SMS one-time codes, a magic link, refresh, `user()`, sign-out and sign-out-all on
//! `AuthClient` over reqwest; an authenticated GraphQL call and auto-refresh; the actix
//! middleware (sign-in and sign-out helpers, a request with a cookie, a refresh, the callback
//! with and without PKCE, MFA, failures); cookie writes in all three formats. Every secret
//! value met on the way is collected, including the refresh tokens of callback URLs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::{Debug, Display};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration as StdDuration;

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};
use nhost_session_actix::cookie::{
    CookieConfig, CookieFormat, CookieTokenStore, RequestCookies, SetCookie,
};
use nhost_session_actix::{
    ActionError, LocalCoordinator, RequiredSession, SessionActions, SessionMiddleware, SessionState,
};
use nhost_session_core::machine::{Event, SessionMachine};
use nhost_session_core::{
    AccessToken, AuthClient, AuthUrl, Error, HasuraClaims, ManualClock, MemoryTokenStore, Pkce,
    ProviderSignInOptions, RedirectOutcome, RefreshPolicy, RefreshToken, SecretString, Session,
    SharedSession, SignInResponse, SignUpOptions, StoreError, StoredTokens, TokenFingerprint,
    TokenStore,
};
use nhost_session_reqwest::{AuthClientExt, AutoRefresh, AutoRefreshOptions, ReqwestTransport};
use nhost_session_testkit::{FakeAuthServer, Fault, SeedUser};
use time::{Duration, OffsetDateTime};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;

const EMAIL: &str = "hygiene@example.com";
const PASSWORD: &str = "correct-horse-battery-staple-7";
const SIGNUP_EMAIL: &str = "newcomer@example.com";
const SIGNUP_PASSWORD: &str = "newcomer-passphrase-913";
const MFA_EMAIL: &str = "mfa@example.com";
const MFA_PASSWORD: &str = "mfa-user-passphrase-55";
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const OTP_EMAIL: &str = "otp@example.com";
const PHONE: &str = "+15555550123";
const MAGIC_EMAIL: &str = "magic@example.com";

/// Every secret value seen, and everything formatted with `Debug` or `Display`.
#[derive(Default)]
struct Seen {
    secrets: BTreeSet<String>,
    rendered: Vec<(String, String)>,
}

fn seen() -> &'static Mutex<Seen> {
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

fn secret(value: &str) {
    if !value.is_empty() {
        seen().lock().unwrap().secrets.insert(value.to_owned());
    }
}

fn session_secrets(session: &Session) {
    secret(session.access_token.expose_secret());
    secret(session.refresh_token.expose_secret());
}

fn stored_secrets(tokens: &StoredTokens) {
    secret(tokens.refresh_token.expose_secret());
    if let Some(token) = &tokens.access_token {
        secret(token.expose_secret());
    }
}

/// Formats a value with `Debug` (plain and pretty).
fn debug(what: &str, value: &impl Debug) {
    let mut seen = seen().lock().unwrap();
    seen.rendered.push((what.to_owned(), format!("{value:?}")));
    seen.rendered.push((what.to_owned(), format!("{value:#?}")));
}

/// Formats a value with `Debug` and `Display`.
fn both(what: &str, value: &(impl Debug + Display)) {
    debug(what, value);
    seen()
        .lock()
        .unwrap()
        .rendered
        .push((what.to_owned(), value.to_string()));
}

/// Formats an error, its `Debug`, its `Display`, and every source's `Display`.
fn error(what: &str, value: &(impl std::error::Error + 'static)) {
    both(what, value);
    let mut source = value.source();
    while let Some(cause) = source {
        seen()
            .lock()
            .unwrap()
            .rendered
            .push((format!("{what} (source)"), format!("{cause} / {cause:?}")));
        source = cause.source();
    }
}

/// A `MakeWriter` that appends everything to one buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Whether `haystack` contains `needle`; a code made only of digits counts only where it is
/// not part of a longer number.
fn leaks(haystack: &str, needle: &str) -> bool {
    if !needle.bytes().all(|b| b.is_ascii_digit()) {
        return haystack.contains(needle);
    }
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].bytes().next_back();
        let after = haystack[at + needle.len()..].bytes().next();
        !before.is_some_and(|b| b.is_ascii_digit()) && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Follows redirects without following into the app, and returns the first URL outside
/// the auth server (the app's callback, with its query).
async fn follow_to_app(start: &str, app_origin: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = start.to_owned();
    for _ in 0..10 {
        if url.starts_with(app_origin) {
            return url;
        }
        let response = client.get(&url).send().await.unwrap();
        url = response
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("no redirect from {url}: {}", response.status()))
            .to_str()
            .unwrap()
            .to_owned();
    }
    panic!("too many redirects");
}

fn server() -> FakeAuthServer {
    FakeAuthServer::builder()
        .seed_user(SeedUser::new(EMAIL, PASSWORD).phone_number(PHONE))
        .seed_user(SeedUser::new(MFA_EMAIL, MFA_PASSWORD).totp_secret(TOTP_SECRET))
        .start()
        .unwrap()
}

/// A store whose saves fail, to provoke `Error::Store`.
#[derive(Debug)]
struct BrokenStore;

#[async_trait::async_trait]
impl TokenStore for BrokenStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(None)
    }
    async fn save(&self, _: &StoredTokens) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("disk full".into()))
    }
    async fn clear(&self) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("read-only".into()))
    }
}

/// `AuthClient` over reqwest: every flow, every error it can be made to return.
async fn client_flows() {
    let server = server();
    let url = server.base_url();
    for password in [PASSWORD, SIGNUP_PASSWORD, MFA_PASSWORD, TOTP_SECRET] {
        secret(password);
    }
    let store = MemoryTokenStore::new();
    let client = nhost_session_reqwest::builder(url.as_str())
        .unwrap()
        .store(store.clone())
        .build();
    let mut events = client.subscribe();
    debug("AuthClient", &client);
    debug("AuthApi", client.api());
    debug("ReqwestTransport", client.api().transport());

    // Sign-up and sign-in with a password.
    let options = SignUpOptions {
        display_name: Some("Newcomer".into()),
        ..SignUpOptions::default()
    };
    let signed_up = client
        .sign_up_email_password(SIGNUP_EMAIL, SIGNUP_PASSWORD, Some(&options))
        .await
        .unwrap()
        .unwrap();
    session_secrets(&signed_up);
    debug("Session (sign-up)", &signed_up);
    debug("SignUpOptions", &options);
    let session = client
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap();
    session_secrets(&session);
    debug("Session", &session);
    debug("User", &session.user);
    stored_secrets(&store.get().unwrap());
    debug("MemoryTokenStore", &store);
    debug("StoredTokens", &store.get().unwrap());
    both("AccessToken", &session.access_token);
    both("RefreshToken", &session.refresh_token);
    both(
        "TokenFingerprint",
        &TokenFingerprint::of(&session.refresh_token),
    );
    debug(
        "HasuraClaims",
        &HasuraClaims::decode_unverified(session.access_token.expose_secret()),
    );

    // Tokens, refresh, the user.
    let jwt = client.access_token().await.unwrap();
    secret(jwt.expose_secret());
    let refreshed = client.refresh().await.unwrap();
    secret(refreshed.expose_secret());
    stored_secrets(&store.get().unwrap());
    let info = client.session().await.unwrap();
    debug("SessionInfo", &info);
    debug("User (GET /user)", &client.user().await.unwrap());
    debug("SessionStatus", &client.status());
    debug("AccessTokenFuture", &client.access_token());

    // An authenticated GraphQL call, and the auto-refresh task.
    let graphql = client.authenticated().unwrap();
    debug("AuthenticatedClient", &graphql);
    let answer = graphql
        .send(
            graphql
                .post(server.graphql_url())
                .header("content-type", "application/json")
                .body(r#"{"query":"query { me { id } }"}"#),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let refresher = AutoRefresh::spawn_with(
        &client,
        AutoRefreshOptions::default().recheck_interval(StdDuration::from_millis(5)),
    );
    debug("AutoRefresh", &refresher);
    refresher.stop();

    // A personal access token, and a sign-in with it.
    let pat = client
        .create_pat(OffsetDateTime::now_utc() + Duration::days(30), None)
        .await
        .unwrap();
    secret(pat.personal_access_token.expose_secret());
    debug("CreatedPat", &pat);
    let pat_client = nhost_session_reqwest::client(url.as_str()).unwrap();
    let pat_session = pat_client
        .sign_in_pat(&pat.personal_access_token)
        .await
        .unwrap();
    session_secrets(&pat_session);
    both("SecretString (PAT)", &pat.personal_access_token);

    // MFA with TOTP.
    let mfa_client = nhost_session_reqwest::client(url.as_str()).unwrap();
    let challenge = mfa_client
        .sign_in_email_password(MFA_EMAIL, MFA_PASSWORD)
        .await
        .unwrap_err();
    let Error::MfaRequired(ticket) = &challenge else {
        panic!("{challenge:?}")
    };
    secret(ticket.0.expose_secret());
    error("Error::MfaRequired", &challenge);
    debug("MfaTicket", ticket);
    let code = server.totp_code(TOTP_SECRET).unwrap();
    secret(&code);
    let mfa_session = mfa_client.complete_mfa_totp(ticket, &code).await.unwrap();
    session_secrets(&mfa_session);

    // Anonymous.
    let anonymous = nhost_session_reqwest::client(url.as_str()).unwrap();
    session_secrets(&anonymous.sign_in_anonymous(None).await.unwrap());

    // One-time codes by e-mail and SMS.
    let otp_client = nhost_session_reqwest::client(url.as_str()).unwrap();
    otp_client.send_email_otp(OTP_EMAIL, None).await.unwrap();
    let code = server.last_message_to(OTP_EMAIL).unwrap().code.unwrap();
    secret(&code);
    session_secrets(&otp_client.verify_email_otp(OTP_EMAIL, &code).await.unwrap());
    let sms_client = nhost_session_reqwest::client(url.as_str()).unwrap();
    sms_client.send_sms_otp(PHONE, None).await.unwrap();
    let message = server.last_message_to(PHONE).unwrap();
    debug("OutboxMessage", &message.kind);
    let code = message.code.unwrap();
    secret(&code);
    session_secrets(&sms_client.verify_sms_otp(PHONE, &code).await.unwrap());

    // A magic link, whose redirect carries a refresh token.
    let magic = nhost_session_reqwest::client(url.as_str()).unwrap();
    let options = SignUpOptions {
        redirect_to: Some("http://app.test/welcome".into()),
        ..SignUpOptions::default()
    };
    magic
        .send_magic_link(MAGIC_EMAIL, Some(&options))
        .await
        .unwrap();
    let link = server.last_message_to(MAGIC_EMAIL).unwrap().link.unwrap();
    secret(&query_param(&link, "ticket").unwrap());
    let redirect = follow_to_app(&link, "http://app.test").await;
    secret(&query_param(&redirect, "refreshToken").unwrap());
    let redirect = url::Url::parse(&redirect).unwrap();
    debug("RedirectOutcome", &RedirectOutcome::from_url(&redirect));
    let magic_session = magic.complete_redirect(&redirect, None).await.unwrap();
    session_secrets(&magic_session);
    debug(
        "strip_redirect_params",
        &nhost_session_core::strip_redirect_params(&redirect).to_string(),
    );

    // Errors of every kind the client returns.
    let wrong = client
        .sign_in_email_password(EMAIL, "wrong-password-123")
        .await
        .unwrap_err();
    secret("wrong-password-123");
    error("Error::Server", &wrong);
    // A refresh token that a refresh replaced: rejected.
    let stale =
        StoredTokens::from_session(&session, OffsetDateTime::now_utc() - Duration::hours(1));
    let stale_client = nhost_session_reqwest::client_with_store(
        url.as_str(),
        MemoryTokenStore::with_tokens(stale),
    )
    .unwrap();
    let rejected = stale_client.access_token().await.unwrap_err();
    assert!(rejected.ends_session(), "{rejected:?}");
    error("Error::RefreshTokenRejected", &rejected);
    // An answer that cannot be decoded, holding real tokens.
    let live = store.get().unwrap();
    let body = format!(
        r#"{{"accessToken":"{}","refreshToken":"{}","accessTokenExpiresIn":"#,
        jwt.expose_secret(),
        live.refresh_token.expose_secret()
    );
    server.inject(Fault::on("/token").respond(200, body));
    let decode = client.refresh().await.unwrap_err();
    assert!(matches!(decode, Error::Decode(_)), "{decode:?}");
    error("Error::Decode", &decode);
    if let Error::Decode(e) = &decode {
        debug("RawBody", &e.raw);
    }
    // A server error whose body holds tokens in its other fields.
    server.inject(Fault::on("/token").respond(
        503,
        format!(
            r#"{{"status":503,"error":"service-unavailable","session":{{"refreshToken":"{}"}}}}"#,
            live.refresh_token.expose_secret()
        ),
    ));
    error("Error::Server (503)", &client.refresh().await.unwrap_err());
    // No network.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let offline = AuthClient::builder(
        AuthUrl::parse(&format!("http://{dead}/v1")).unwrap(),
        ReqwestTransport::builder()
            .timeout(Some(StdDuration::from_secs(2)))
            .build()
            .unwrap(),
    )
    .build();
    let transport = offline
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap_err();
    error("Error::Transport", &transport);
    // A store that fails.
    let broken = AuthClient::builder(
        AuthUrl::parse(&url).unwrap(),
        ReqwestTransport::new().unwrap(),
    )
    .store(BrokenStore)
    .build();
    let store_error = broken
        .sign_in_email_password(EMAIL, PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(store_error, Error::Store(_)), "{store_error:?}");
    error("Error::Store", &store_error);
    secret(broken.access_token().await.unwrap().expose_secret());
    error(
        "Error::Store (sign-out)",
        &broken.sign_out().await.unwrap_err(),
    );
    // Configuration, redirect errors, no session, back-off.
    error(
        "Error::Config",
        &Error::from(AuthUrl::parse("not a url").unwrap_err()),
    );
    let redirect_error = client
        .complete_redirect(
            &url::Url::parse("http://app.test/cb?error=invalid-state&errorDescription=nope")
                .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    error("Error::Redirect", &redirect_error);
    let not_signed_in = anonymous_client(&url).user().await.unwrap_err();
    error("Error::NotSignedIn", &not_signed_in);
    error(
        "Error::TemporarilyUnavailable",
        &Error::TemporarilyUnavailable {
            retry_at: OffsetDateTime::now_utc(),
        },
    );
    let unauthenticated = anonymous_client(&url).authenticated().unwrap();
    let failed = unauthenticated
        .send(unauthenticated.get(server.graphql_url()))
        .await
        .unwrap_err();
    error("AuthenticatedError", &failed);

    // Sign-out, and sign-out everywhere.
    secret(store.get().unwrap().refresh_token.expose_secret());
    client.sign_out().await.unwrap();
    mfa_client.sign_out_all().await.unwrap();
    while let Some(event) = events.try_recv() {
        debug("SessionEvent", &event);
    }
    debug("Subscription", &events);

    // The pure machine and the coordination types.
    let mut machine = SessionMachine::new(RefreshPolicy::default(), 1);
    let transition = machine.handle(
        Event::SignedIn {
            session: pat_session.clone(),
            saved: false,
        },
        OffsetDateTime::now_utc(),
    );
    debug("Transition", &transition);
    debug("SessionMachine", &machine);
    debug("State", machine.state());
    let shared = SharedSession::from_session(pat_session, OffsetDateTime::now_utc());
    debug("SharedSession", &shared);
    let pkce = Pkce::generate().unwrap();
    secret(pkce.verifier().expose_secret());
    debug("Pkce", &pkce);
    debug("RefreshPolicy", &RefreshPolicy::default());
}

fn anonymous_client(url: &str) -> nhost_session_reqwest::ReqwestAuthClient {
    nhost_session_reqwest::client(url).unwrap()
}

/// The actix side: a test app with every helper.
async fn actix_flows() {
    let auth = server();
    let clock = Arc::new(ManualClock::default());
    let coordinator = LocalCoordinator::builder().clock(clock.clone()).build();
    let middleware = SessionMiddleware::builder(AuthUrl::parse(&auth.base_url()).unwrap())
        .clock(clock.clone())
        .coordinator(Arc::new(coordinator.clone()))
        .build()
        .unwrap();
    debug("SessionMiddleware", &middleware);
    debug("LocalCoordinator", &coordinator);
    debug("CookieConfig (middleware)", middleware.cookie_config());

    async fn sign_in(actions: SessionActions) -> Result<HttpResponse, ActionError> {
        debug("SessionActions", &actions);
        let session = actions.sign_in_email_password(EMAIL, PASSWORD).await?;
        secret(session.access_token().expose_secret());
        debug("AuthSession", &session);
        debug("SessionState (after sign-in)", &actions.state());
        Ok(HttpResponse::NoContent().finish())
    }
    async fn sign_in_mfa(actions: SessionActions) -> HttpResponse {
        let challenge = actions
            .sign_in_email_password(MFA_EMAIL, MFA_PASSWORD)
            .await
            .unwrap_err();
        error("ActionError (MFA)", &challenge);
        let ActionError::Auth(Error::MfaRequired(ticket)) = &challenge else {
            panic!("{challenge:?}")
        };
        secret(ticket.0.expose_secret());
        HttpResponse::Ok().body(ticket.0.expose_secret().to_owned())
    }
    async fn complete_mfa(actions: SessionActions, body: String) -> HttpResponse {
        let (ticket, code) = body.split_once(' ').unwrap();
        let ticket = nhost_session_core::MfaTicket(SecretString::new(ticket));
        let session = actions.sign_in_mfa_totp(&ticket, code).await.unwrap();
        secret(session.access_token().expose_secret());
        HttpResponse::NoContent().finish()
    }
    async fn wrong(actions: SessionActions) -> HttpResponse {
        let e = actions
            .sign_in_email_password(EMAIL, "not-the-password-42")
            .await
            .unwrap_err();
        secret("not-the-password-42");
        error("ActionError (refused)", &e);
        HttpResponse::Ok().finish()
    }
    async fn state(state: SessionState) -> HttpResponse {
        debug("SessionState", &state);
        match &state {
            SessionState::Active(session) => {
                secret(session.access_token().expose_secret());
                debug("AuthSession", session);
                debug("HasuraClaims", &session.claims());
            }
            SessionState::Unavailable(why) => error("SessionUnavailable", why),
            SessionState::Anonymous => {}
        }
        HttpResponse::Ok().body(if state.is_active() { "active" } else { "other" })
    }
    async fn me(session: RequiredSession) -> HttpResponse {
        debug("RequiredSession", &session);
        HttpResponse::Ok().finish()
    }
    async fn provider(actions: SessionActions, pkce: web::Path<bool>) -> HttpResponse {
        let url = actions
            .provider_sign_in_url(
                "github",
                "http://app.test/auth/callback?next=%2Fstate",
                ProviderSignInOptions::default(),
                *pkce,
            )
            .unwrap();
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url.as_str()))
            .finish()
    }
    async fn sign_out(actions: SessionActions) -> HttpResponse {
        actions.sign_out().await.unwrap();
        HttpResponse::NoContent().finish()
    }
    async fn sign_out_all(actions: SessionActions) -> HttpResponse {
        actions.sign_out_all().await.unwrap();
        HttpResponse::NoContent().finish()
    }

    let service = test::init_service(
        App::new()
            .wrap(middleware.clone())
            .route("/signin", web::post().to(sign_in))
            .route("/signin/mfa", web::post().to(sign_in_mfa))
            .route("/signin/mfa/complete", web::post().to(complete_mfa))
            .route("/signin/wrong", web::post().to(wrong))
            .route("/state", web::get().to(state))
            .route("/me", web::get().to(me))
            .route("/provider/{pkce}", web::get().to(provider))
            .route("/signout", web::post().to(sign_out))
            .route("/signout/all", web::post().to(sign_out_all))
            .route(
                "/auth/callback",
                web::get().to(nhost_session_actix::callback),
            ),
    )
    .await;
    let config = middleware.cookie_config().clone();
    let note_cookie = |cookie: &str| {
        for pair in cookie.split("; ") {
            note_cookie_value(pair);
        }
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, cookie.parse().unwrap());
        if let Some(tokens) = config.read(&headers) {
            stored_secrets(&tokens);
        }
    };
    let get = |path: &str, cookie: &str| {
        TestRequest::get()
            .uri(path)
            .insert_header((header::COOKIE, cookie.to_owned()))
            .to_request()
    };

    // Sign-in, a request with the cookie, a refresh.
    let response =
        test::call_service(&service, TestRequest::post().uri("/signin").to_request()).await;
    let cookie = cookie_of(&response).unwrap();
    note_cookie(&cookie);
    assert_eq!(
        test::call_and_read_body(&service, get("/state", &cookie)).await,
        "active"
    );
    test::call_service(&service, get("/me", &cookie)).await;
    clock.advance(Duration::minutes(16));
    let response = test::call_service(&service, get("/state", &cookie)).await;
    let cookie = cookie_of(&response).unwrap();
    note_cookie(&cookie);
    // The auth service fails: the session is unavailable.
    clock.advance(Duration::minutes(16));
    auth.inject(Fault::on("/token").status(503));
    assert_eq!(
        test::call_and_read_body(&service, get("/state", &cookie)).await,
        "other"
    );
    // Refused sign-in, MFA.
    test::call_service(
        &service,
        TestRequest::post().uri("/signin/wrong").to_request(),
    )
    .await;
    let ticket = test::call_and_read_body(
        &service,
        TestRequest::post().uri("/signin/mfa").to_request(),
    )
    .await;
    let code = auth.totp_code(TOTP_SECRET).unwrap();
    secret(&code);
    let response = test::call_service(
        &service,
        TestRequest::post()
            .uri("/signin/mfa/complete")
            .set_payload(format!("{} {code}", String::from_utf8_lossy(&ticket)))
            .to_request(),
    )
    .await;
    let mfa_cookie = cookie_of(&response).unwrap();
    note_cookie(&mfa_cookie);

    // Provider sign-ins through the callback, with a refresh token and with PKCE.
    for pkce in [false, true] {
        let response = test::call_service(
            &service,
            TestRequest::get()
                .uri(&format!("/provider/{pkce}"))
                .to_request(),
        )
        .await;
        let verifier = cookie_of(&response);
        if let Some(verifier) = &verifier {
            note_cookie(verifier);
        }
        let start = response
            .headers()
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let back = follow_to_app(&start, "http://app.test").await;
        for name in ["refreshToken", "code"] {
            if let Some(value) = query_param(&back, name) {
                secret(&value);
            }
        }
        let path = back.trim_start_matches("http://app.test");
        let mut request = TestRequest::get().uri(path);
        if let Some(verifier) = verifier {
            request = request.insert_header((header::COOKIE, verifier));
        }
        let response = test::call_service(&service, request.to_request()).await;
        assert_eq!(response.status(), 303);
        note_cookie(&cookie_of(&response).unwrap());
    }
    // A callback that fails.
    test::call_service(
        &service,
        TestRequest::get()
            .uri("/auth/callback?refreshToken=6f1c1f8e-0d7b-4e5e-9b43-2f8d1c0a7b11")
            .to_request(),
    )
    .await;

    // Sign-out, and sign-out everywhere.
    test::call_service(
        &service,
        TestRequest::post()
            .uri("/signout")
            .insert_header((header::COOKIE, cookie.clone()))
            .to_request(),
    )
    .await;
    test::call_service(
        &service,
        TestRequest::post()
            .uri("/signout/all")
            .insert_header((header::COOKIE, mfa_cookie.clone()))
            .to_request(),
    )
    .await;
    debug("LocalCoordinator (used)", &coordinator);
}

/// The `name=value` pairs a response sets (removals left out), as a `Cookie` header.
fn cookie_of<B>(response: &actix_web::dev::ServiceResponse<B>) -> Option<String> {
    let pairs: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .filter(|pair| !pair.ends_with('='))
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("; "))
}

/// A cookie's value is a secret when the cookie carries a token (or the PKCE verifier); the
/// id and expiry cookies of `@nhost/nextjs` do not.
fn note_cookie_value(pair: &str) {
    let (name, value) = pair.split_once('=').unwrap();
    if !matches!(name, "nhostRefreshTokenId" | "nhostRefreshTokenExpiresAt") {
        secret(value);
    }
}

/// Cookie writes in all three formats, through the config and through the store.
fn cookie_flows() {
    let session: Session = serde_json::from_value(serde_json::json!({
        "accessToken": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb29raWUtdXNlciJ9.c2lnbmF0dXJlLWNvb2tpZQ",
        "accessTokenExpiresIn": 900,
        "refreshToken": "4d6c2b0e-9f8a-4e1b-b7c3-2a1d5e6f7a8b",
        "refreshTokenId": "0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b",
        "user": {"id": "u-cookie", "email": "cookie@example.com", "roles": ["user"], "defaultRole": "user"}
    }))
    .unwrap();
    session_secrets(&session);
    let tokens = StoredTokens::from_session(&session, OffsetDateTime::now_utc());
    for config in [
        CookieConfig::own(),
        CookieConfig::nextjs2(),
        CookieConfig::nhost_js4(),
        CookieConfig::builder(CookieFormat::Own)
            .name("__Host-session")
            .build()
            .unwrap(),
    ] {
        debug("CookieConfig", &config);
        both("CookieFormat", &config.format());
        let written: Vec<SetCookie> = config
            .write(&tokens, OffsetDateTime::now_utc(), &RequestCookies::empty())
            .unwrap();
        debug("SetCookie", &written);
        let mut request = http::HeaderMap::new();
        let pairs: Vec<String> = written
            .iter()
            .map(|c| {
                let pair = c
                    .header_value()
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap();
                note_cookie_value(pair);
                pair.to_owned()
            })
            .collect();
        request.insert(http::header::COOKIE, pairs.join("; ").parse().unwrap());
        debug("RequestCookies", &config.request_cookies(&request));
        debug("StoredTokens (read)", &config.read(&request));
        debug(
            "removal SetCookie",
            &config.remove(&config.request_cookies(&request)),
        );
        let store = CookieTokenStore::new(config.clone(), &request);
        debug("CookieTokenStore", &store);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            store.save(&tokens).await.unwrap();
            store.clear().await.unwrap();
        });
        debug("CookieTokenStore (written)", &store);
        debug("SetCookie (store)", &store.take_set_cookies());
    }
    // A value too large for a JavaScript format: an error that names no token.
    let mut big = tokens.clone();
    if let Some(user) = &mut big.user {
        let mut metadata = serde_json::Map::new();
        metadata.insert("blob".into(), serde_json::Value::String("x".repeat(8000)));
        user.metadata = Some(metadata);
    }
    let too_large = CookieConfig::nhost_js4()
        .write(&big, OffsetDateTime::now_utc(), &RequestCookies::empty())
        .unwrap_err();
    error("CookieError", &too_large);
    error(
        "CookieConfigError",
        &CookieConfig::builder(CookieFormat::Own)
            .name("__Host-x")
            .secure(false)
            .build()
            .unwrap_err(),
    );
    let token = AccessToken::new(session.access_token.expose_secret());
    both("AccessToken (made)", &token);
    both(
        "RefreshToken (made)",
        &RefreshToken::new(session.refresh_token.expose_secret()),
    );
    debug("SignInResponse", &SignInResponse::Session(session));
}

#[test]
fn no_secret_appears_in_logs_debug_or_display() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .without_time()
        .with_target(true)
        .finish()
        .try_init()
        .expect("the only subscriber of this test binary");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(client_flows());
    drop(runtime);
    actix_web::rt::System::new().block_on(actix_flows());
    cookie_flows();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works, at every level.
    for marker in [
        "DEBUG",
        "TRACE",
        "WARN",
        "nhost-session: auth request",
        "nhost-session: session event",
        "refresh failed",
    ] {
        assert!(logs.contains(marker), "no `{marker}` in the captured logs");
    }
    let seen = seen().lock().unwrap();
    assert!(
        seen.secrets.len() > 40,
        "too few secrets collected: {}",
        seen.secrets.len()
    );
    let mut leaked = Vec::new();
    for secret in &seen.secrets {
        for line in logs.lines().filter(|line| leaks(line, secret)) {
            leaked.push(format!("log: {line}"));
        }
        for (what, text) in &seen.rendered {
            if leaks(text, secret) {
                leaked.push(format!("{what}: {text}"));
            }
        }
    }
    println!(
        "{} secrets, {} formatted values, {} bytes of logs checked",
        seen.secrets.len(),
        seen.rendered.len(),
        logs.len()
    );
    assert!(leaked.is_empty(), "secrets leaked:\n{}", leaked.join("\n"));
}
