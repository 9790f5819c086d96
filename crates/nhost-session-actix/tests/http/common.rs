//! The test app, the fake auth server, and helpers to read cookies off responses.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, web};
use nhost_session_actix::{
    ActionError, RequiredSession, RequiredSessionConfig, SessionActions, SessionMiddleware,
    SessionState, hydration_script,
};
use nhost_session_cookie::{CookieConfig, RequestCookies};
use nhost_session_core::{
    AuthApi, AuthUrl, ManualClock, ProviderSignInOptions, RefreshToken, Session, StoredTokens,
};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::{FakeAuthServer, FakeAuthServerBuilder, SeedUser};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const EMAIL: &str = "alice@example.com";
pub const PASSWORD: &str = "password123";
pub const TOKEN_PATH: &str = "/v1/token";
/// Where the test app pretends to live (for provider redirects).
pub const APP_ORIGIN: &str = "http://app.test";

/// A fake auth server, a manual clock and a middleware over them.
pub struct Harness {
    pub auth: FakeAuthServer,
    pub clock: Arc<ManualClock>,
    pub middleware: SessionMiddleware,
    pub cookie: CookieConfig,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(FakeAuthServer::builder(), CookieConfig::own())
    }

    pub fn with(builder: FakeAuthServerBuilder, cookie: CookieConfig) -> Self {
        let auth = builder
            .seed_user(SeedUser::new(EMAIL, PASSWORD).display_name("Alice"))
            .start()
            .unwrap();
        let clock = Arc::new(ManualClock::default());
        let middleware = Self::middleware(&auth, &clock, cookie.clone());
        Self {
            auth,
            clock,
            middleware,
            cookie,
        }
    }

    /// A new middleware over the same server and clock: a server restart, with an empty
    /// coordinator.
    pub fn middleware(
        auth: &FakeAuthServer,
        clock: &Arc<ManualClock>,
        cookie: CookieConfig,
    ) -> SessionMiddleware {
        SessionMiddleware::builder(AuthUrl::parse(&auth.base_url()).unwrap())
            .cookie(cookie)
            .clock(clock.clone())
            .build()
            .unwrap()
    }

    pub fn token_calls(&self) -> u64 {
        self.auth.stats().calls_to(TOKEN_PATH)
    }

    /// The auth API, straight (for sessions made outside the app).
    pub fn api(&self) -> AuthApi<ReqwestTransport> {
        AuthApi::new(
            AuthUrl::parse(&self.auth.base_url()).unwrap(),
            ReqwestTransport::new().unwrap(),
        )
    }

    /// A session signed in directly at the auth server.
    pub async fn direct_session(&self) -> Session {
        match self
            .api()
            .sign_in_email_password(EMAIL, PASSWORD)
            .await
            .unwrap()
        {
            nhost_session_core::SignInResponse::Session(session) => session,
            other => panic!("{other:?}"),
        }
    }

    /// A `Cookie` header value carrying `token` in the configured format.
    pub fn cookie_for(&self, token: &str) -> String {
        let tokens = StoredTokens {
            refresh_token: RefreshToken::new(token),
            refresh_token_id: "00000000-0000-4000-8000-000000000000".into(),
            access_token_expires_at: Some(OffsetDateTime::now_utc()),
            access_token: None,
            user: None,
        };
        let cookies = self
            .cookie
            .write(&tokens, OffsetDateTime::now_utc(), &RequestCookies::empty())
            .unwrap();
        cookies
            .iter()
            .map(|c| pair_of(c.header_value().to_str().unwrap()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The refresh token a `Cookie` header value carries.
    pub fn token_in(&self, cookie_header: &str) -> Option<String> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_str(cookie_header).unwrap(),
        );
        self.cookie
            .read(&headers)
            .map(|t| t.refresh_token.expose_secret().to_owned())
    }
}

/// `name=value` of a `Set-Cookie` value.
pub fn pair_of(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_owned()
}

/// The `Set-Cookie` values of a response.
pub fn set_cookies<B>(response: &ServiceResponse<B>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Cookie` header a browser would send after this response, given what it sent.
pub fn next_cookie<B>(previous: Option<&str>, response: &ServiceResponse<B>) -> Option<String> {
    let mut jar: Vec<(String, String)> = previous
        .unwrap_or_default()
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    for set in set_cookies(response) {
        let (name, value) = pair_of(&set)
            .split_once('=')
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .unwrap();
        jar.retain(|(n, _)| *n != name);
        let removal = set.contains("Max-Age=0") || value.is_empty();
        if !removal {
            jar.push((name, value));
        }
    }
    if jar.is_empty() {
        None
    } else {
        Some(
            jar.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

pub fn cache_control<B>(response: &ServiceResponse<B>) -> Option<String> {
    response
        .headers()
        .get(header::CACHE_CONTROL)
        .map(|v| v.to_str().unwrap().to_owned())
}

pub fn location<B>(response: &ServiceResponse<B>) -> Option<String> {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[derive(serde::Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

async fn state(state: SessionState, req: HttpRequest) -> HttpResponse {
    let cookie = req
        .headers()
        .get(header::COOKIE)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = match &state {
        SessionState::Anonymous => json!({ "state": "anonymous", "cookie": cookie }),
        SessionState::Active(session) => json!({
            "state": "active",
            "userId": session.user_id(),
            "email": session.user().and_then(|u| u.email.clone()),
            "isAnonymous": session.is_anonymous(),
            "expiresAt": session.expires_at().unix_timestamp(),
            "role": session.claims().map(|c| c.default_role.clone()),
            "cookie": cookie,
        }),
        SessionState::Unavailable(why) => json!({
            "state": "unavailable",
            "retryAfter": why.retry_after_secs(),
            "cookie": cookie,
        }),
    };
    HttpResponse::Ok().json(body)
}

async fn me(session: RequiredSession) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "userId": session.user_id(),
        "email": session.user().and_then(|u| u.email.clone()),
    }))
}

async fn sign_in(
    form: web::Form<Credentials>,
    actions: SessionActions,
) -> Result<HttpResponse, ActionError> {
    actions
        .sign_in_email_password(&form.email, &form.password)
        .await?;
    // Later extractors of the same request see the new session.
    let user = actions.state().user().and_then(|u| u.email.clone());
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/me"))
        .insert_header(("x-signed-in", user.unwrap_or_default()))
        .finish())
}

async fn sign_in_anonymous(actions: SessionActions) -> Result<HttpResponse, ActionError> {
    let session = actions.sign_in_anonymous(None).await?;
    Ok(HttpResponse::Ok().json(json!({ "isAnonymous": session.is_anonymous() })))
}

async fn sign_out(actions: SessionActions) -> HttpResponse {
    let revoked = actions.sign_out().await.is_ok();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .insert_header(("x-revoked", revoked.to_string()))
        .finish()
}

async fn provider(
    actions: SessionActions,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, ActionError> {
    let pkce = query.get("pkce").is_some_and(|v| v == "1");
    let callback = format!("{APP_ORIGIN}/auth/callback?next=%2Fme");
    let url = actions.provider_sign_in_url(
        "github",
        &callback,
        ProviderSignInOptions::default(),
        pkce,
    )?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.as_str()))
        .finish())
}

async fn page(state: SessionState) -> HttpResponse {
    let html = format!(
        "<!doctype html><html><body><h1>Page</h1>{}</body></html>",
        hydration_script(state.session())
    );
    HttpResponse::Ok().content_type("text/html").body(html)
}

/// The test app.
pub fn app(
    middleware: SessionMiddleware,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(middleware)
        .route("/state", web::get().to(state))
        .route("/me", web::get().to(me))
        .route("/page", web::get().to(page))
        .route("/signin", web::post().to(sign_in))
        .route("/signin/anonymous", web::post().to(sign_in_anonymous))
        .route("/signout", web::post().to(sign_out))
        .route("/provider", web::get().to(provider))
        .route(
            "/auth/callback",
            web::get().to(nhost_session_actix::callback),
        )
        .route(
            "/",
            web::get().to(|| async { HttpResponse::Ok().body("home") }),
        )
        .service(
            web::scope("/api")
                .app_data(RequiredSessionConfig::api())
                .route("/me", web::get().to(me)),
        )
        .service(
            web::scope("/html")
                .app_data(RequiredSessionConfig::html().sign_in_path("/login"))
                .route("/me", web::get().to(me)),
        )
}

/// Reads a JSON body.
pub async fn json<B: MessageBody>(response: ServiceResponse<B>) -> Value {
    let bytes = actix_web::test::read_body(response).await;
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// Reads a text body.
pub async fn text<B: MessageBody>(response: ServiceResponse<B>) -> String {
    let bytes = actix_web::test::read_body(response).await;
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Follows the fake provider's redirects (without following into the app) and returns the
/// final redirect to the app: `http://app.test/auth/callback?…`.
pub async fn provider_redirect(start: &str, extra_query: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = if extra_query.is_empty() {
        start.to_owned()
    } else {
        format!("{start}&{extra_query}")
    };
    for _ in 0..10 {
        if url.starts_with(APP_ORIGIN) {
            return url;
        }
        let response = client.get(&url).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "{url}: {}",
            response.status()
        );
        url = response
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
    }
    panic!("too many redirects");
}
