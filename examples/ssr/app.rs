//! The `ssr` example's application: options, routes, pages and the server. `ssr/main.rs`
//! runs it; the example's tests (`tests/ssr.rs`) start it in process and drive it with a
//! real browser.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use nhost_session_actix::core::{AuthUrl, ProviderSignInOptions, RefreshCoordinator};
use nhost_session_actix::{
    ActionError, RequiredSession, RequiredSessionConfig, SessionActions, SessionMiddleware,
    SessionState, hydration_script, safe_redirect_target,
};
use nhost_session_examples::backend::env;
use nhost_session_examples::{Backend, DEMO_EMAIL, DEMO_PASSWORD};
use nhost_session_testkit::FakeAuthServer;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The command line.
pub const USAGE: &str = "\
usage: cargo run --example ssr -- [--listen ADDR] [--access-token-ttl SECS] [--redis URL]

Serves a small site with Nhost sessions rendered on the server (actix-web): sign in with the
form, see your profile (rendered with a server-side GraphQL call), watch the JWT refresh.

  --listen ADDR             where to listen (default 127.0.0.1:8080; port 0 for any)
  --access-token-ttl SECS   JWT lifetime of the embedded test server (default 900), short to
                            watch refreshes happen
  --redis URL               share refreshes with the other instances of the app through this
                            Redis (e.g. redis://127.0.0.1:6379; default: NHOST_REDIS_URL, or
                            none). Every instance needs the same NHOST_SESSION_REDIS_KEY
                            (`openssl rand -base64 32`)
  -h, --help                this text

The auth service: NHOST_AUTH_URL (e.g. https://myapp.auth.eu-central-1.nhost.run/v1), or
NHOST_SUBDOMAIN and NHOST_REGION (NHOST_GRAPHQL_URL when GraphQL lives elsewhere). With none of
them, a test server starts in process with a demo user, so the example runs anywhere. Nhost
cloud needs TLS: add `--features nhost-session-examples/tls`.";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Where to listen.
    pub listen: String,
    /// The embedded server's JWT lifetime.
    pub access_token_ttl: Option<Duration>,
    /// The Redis that coordinates refreshes with other instances.
    pub redis: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            access_token_ttl: None,
            redis: None,
        }
    }
}

/// Reads the command line.
///
/// # Errors
/// A message (or [`USAGE`] for `--help`).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => options.listen = args.next().ok_or("--listen needs an address")?,
            "--access-token-ttl" => {
                let secs = args.next().ok_or("--access-token-ttl needs seconds")?;
                let secs: u64 = secs
                    .parse()
                    .ok()
                    .filter(|s| *s >= 2)
                    .ok_or("--access-token-ttl needs whole seconds, at least 2")?;
                options.access_token_ttl = Some(Duration::from_secs(secs));
            }
            "--redis" => options.redis = Some(args.next().ok_or("--redis needs a URL")?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(options)
}

/// The auth service: the environment's, or an embedded test server (with the JWT lifetime
/// asked for).
///
/// # Errors
/// When the environment names no usable service or the test server cannot start.
pub fn backend(options: &Options) -> Result<Backend, String> {
    let configured = [env::AUTH_URL, env::SUBDOMAIN]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    let backend = if configured {
        Backend::from_env()
    } else {
        let mut builder = FakeAuthServer::builder();
        if let Some(ttl) = options.access_token_ttl {
            builder = builder.access_token_ttl(ttl);
        }
        Backend::embedded_with(builder)
    };
    backend.map_err(|e| e.to_string())
}

/// What the handlers share besides the session middleware.
struct Site {
    graphql_url: Option<String>,
    http: reqwest::Client,
    demo: bool,
}

/// The middleware for `auth_url`. Built ONCE, outside the server's per-worker closure, so
/// that every worker shares its refresh coordinator.
///
/// # Errors
/// When the middleware cannot be built.
pub fn middleware(auth_url: AuthUrl) -> Result<SessionMiddleware, String> {
    middleware_with(auth_url, None)
}

/// The middleware, with a coordinator shared by several instances (Redis) when given.
///
/// # Errors
/// When the middleware cannot be built.
pub fn middleware_with(
    auth_url: AuthUrl,
    coordinator: Option<Arc<dyn RefreshCoordinator>>,
) -> Result<SessionMiddleware, String> {
    // The default cookie: `nhost-session`, HttpOnly, Secure (browsers accept Secure cookies
    // from http://127.0.0.1 and http://localhost), SameSite=Lax, Path=/, 30 days.
    let mut builder = SessionMiddleware::builder(auth_url).sign_in_path("/signin");
    if let Some(coordinator) = coordinator {
        builder = builder.coordinator(coordinator);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The environment variable with the Redis URL, when `--redis` is not given.
pub const REDIS_URL_ENV: &str = "NHOST_REDIS_URL";
/// The environment variable with the key that encrypts what is stored in Redis (base64 or
/// hex of 32 random bytes; the same for every instance).
pub const REDIS_KEY_ENV: &str = "NHOST_SESSION_REDIS_KEY";

/// A coordinator on the Redis at `url`, keyed with [`REDIS_KEY_ENV`]. Without that variable, a
/// key is generated and returned (to print: other instances need it to share sessions).
///
/// # Errors
/// When the key or the URL is not usable.
pub fn redis_coordinator(
    url: &str,
) -> Result<(Arc<dyn RefreshCoordinator>, Option<String>), String> {
    let (key, generated) = match std::env::var(REDIS_KEY_ENV) {
        Ok(text) if !text.trim().is_empty() => (
            nhost_session_redis::EncryptionKey::parse(&text)
                .map_err(|e| format!("{REDIS_KEY_ENV}: {e}"))?,
            None,
        ),
        _ => {
            let key = nhost_session_redis::EncryptionKey::generate().map_err(|e| e.to_string())?;
            let text = key.to_base64();
            (key, Some(text))
        }
    };
    let coordinator = nhost_session_redis::RedisCoordinator::builder(key)
        .url(url)
        .key_prefix("nhost-session-ssr-example")
        .build()
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(coordinator), generated))
}

/// The site's routes behind the middleware.
fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(home))
        .route("/signin", web::get().to(sign_in_form))
        .route("/signin", web::post().to(sign_in))
        .route("/signin/anonymous", web::post().to(sign_in_anonymous))
        .route("/signin/provider/{provider}", web::get().to(provider))
        .route(
            "/auth/callback",
            web::get().to(nhost_session_actix::callback),
        )
        .route("/signout", web::post().to(sign_out))
        .service(
            web::scope("/profile")
                .app_data(RequiredSessionConfig::html())
                .route("", web::get().to(profile)),
        )
        .service(
            web::scope("/api")
                .app_data(RequiredSessionConfig::api())
                .route("/me", web::get().to(api_me)),
        );
}

/// A bound server, not yet running.
pub struct Bound {
    /// The server (a future to run).
    pub server: Server,
    /// The address it listens on.
    pub addr: SocketAddr,
}

/// Binds the site on `listen`.
///
/// # Errors
/// When the address cannot be bound.
pub fn bind(
    backend: &Backend,
    middleware: SessionMiddleware,
    listen: &str,
) -> Result<Bound, String> {
    let site = web::Data::new(Site {
        graphql_url: backend.graphql_url.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?,
        demo: backend.is_embedded(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(site.clone())
            .wrap(middleware.clone())
            .configure(configure)
    })
    .workers(2)
    .bind(listen)
    .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = *server
        .addrs()
        .first()
        .ok_or_else(|| format!("cannot listen on {listen}"))?;
    Ok(Bound {
        server: server.run(),
        addr,
    })
}

// ---------------------------------------------------------------------------------------
// Pages

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page around `body`, with the navigation.
fn page(title: &str, state: &SessionState, body: &str) -> HttpResponse {
    let who = match state {
        SessionState::Active(session) => {
            let name = session
                .user()
                .map(|u| u.email.clone().unwrap_or_else(|| "anonymous user".into()))
                .unwrap_or_default();
            format!(
                r#"signed in as <b id="whoami">{}</b> · <a href="/profile">profile</a> · <form method="post" action="/signout" style="display:inline"><button id="signout">Sign out</button></form>"#,
                escape(&name)
            )
        }
        SessionState::Anonymous => r#"<a href="/signin" id="signin-link">Sign in</a>"#.to_owned(),
        SessionState::Unavailable(_) => {
            "session temporarily unavailable (the auth service cannot be reached)".to_owned()
        }
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} · nhost-session SSR</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
nav{{border-bottom:1px solid #ccc;padding-bottom:.5rem;margin-bottom:1rem}}pre{{background:#f4f4f4;padding:.75rem;overflow:auto}}
.error{{color:#b00}}label{{display:block;margin:.5rem 0}}</style></head>
<body>
<nav><a href="/">Home</a> · {who}</nav>
<h1>{title}</h1>
{body}
</body>
</html>
"#,
        title = escape(title),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

async fn home(state: SessionState) -> HttpResponse {
    let body = match &state {
        SessionState::Active(_) => {
            r#"<p>You are signed in. Your <a href="/profile">profile</a> is rendered on the server, with a GraphQL call made with your session's JWT.</p>"#.to_owned()
        }
        _ => r#"<p>A public page. <a href="/signin">Sign in</a> to see your profile.</p>"#
            .to_owned(),
    };
    page("Home", &state, &body)
}

#[derive(Deserialize)]
struct SignInQuery {
    next: Option<String>,
    error: Option<String>,
}

fn sign_in_page(
    state: &SessionState,
    site: &Site,
    next: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    let mut body = String::new();
    if let Some(error) = error {
        let _ = write!(
            body,
            r#"<p class="error" id="error">Sign-in failed: {}</p>"#,
            escape(error)
        );
    }
    if site.demo {
        let _ = write!(
            body,
            "<p>Demo user of the embedded test server: <code>{DEMO_EMAIL}</code> / <code>{DEMO_PASSWORD}</code></p>"
        );
    }
    let next = next.map(|n| safe_redirect_target(Some(n)));
    let _ = write!(
        body,
        r#"<form method="post" action="/signin" id="signin-form">
<label>E-mail <input type="email" name="email" id="email" required></label>
<label>Password <input type="password" name="password" id="password" required></label>
<input type="hidden" name="next" value="{}">
<button type="submit" id="signin-submit">Sign in</button>
</form>
<form method="post" action="/signin/anonymous"><button id="signin-anonymous">Continue anonymously</button></form>
<p><a href="/signin/provider/github" id="signin-github">Sign in with GitHub</a> (on the embedded server, a fake provider that approves at once)</p>"#,
        escape(next.as_deref().unwrap_or(""))
    );
    page("Sign in", state, &body)
}

async fn sign_in_form(
    state: SessionState,
    site: web::Data<Site>,
    query: web::Query<SignInQuery>,
) -> HttpResponse {
    sign_in_page(&state, &site, query.next.as_deref(), query.error.as_deref())
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// After a sign-in: the `next` page when it is a same-site path, the profile otherwise.
fn after_sign_in(next: Option<&str>) -> String {
    match next.filter(|n| !n.is_empty()) {
        Some(next) => safe_redirect_target(Some(next)),
        None => "/profile".to_owned(),
    }
}

async fn sign_in(
    form: web::Form<SignInForm>,
    actions: SessionActions,
    site: web::Data<Site>,
) -> HttpResponse {
    match actions
        .sign_in_email_password(&form.email, &form.password)
        .await
    {
        Ok(_) => see_other(&after_sign_in(form.next.as_deref())),
        Err(error) => {
            let mut response = sign_in_page(
                &actions.state(),
                &site,
                form.next.as_deref(),
                Some(&error.to_string()),
            );
            *response.status_mut() = error_status(&error);
            response
        }
    }
}

fn error_status(error: &ActionError) -> actix_web::http::StatusCode {
    use actix_web::ResponseError as _;
    error.status_code()
}

async fn sign_in_anonymous(actions: SessionActions) -> Result<HttpResponse, ActionError> {
    actions.sign_in_anonymous(None).await?;
    Ok(see_other("/profile"))
}

/// Starts a provider sign-in; the auth service sends the browser back to `/auth/callback`.
async fn provider(
    provider: web::Path<String>,
    actions: SessionActions,
    req: HttpRequest,
) -> Result<HttpResponse, ActionError> {
    let info = req.connection_info();
    let callback = format!(
        "{}://{}/auth/callback?next=%2Fprofile",
        info.scheme(),
        info.host()
    );
    let url = actions.provider_sign_in_url(
        &provider,
        &callback,
        ProviderSignInOptions::default(),
        true,
    )?;
    Ok(see_other(url.as_str()))
}

async fn sign_out(actions: SessionActions) -> HttpResponse {
    if let Err(error) = actions.sign_out().await {
        // The cookie is removed all the same.
        eprintln!("sign-out: the auth service could not revoke the token: {error}");
    }
    see_other("/")
}

async fn profile(session: RequiredSession, site: web::Data<Site>) -> HttpResponse {
    let now = OffsetDateTime::now_utc();
    let user = session.user();
    let email = user
        .and_then(|u| u.email.clone())
        .unwrap_or_else(|| "(anonymous)".into());
    let name = user.map(|u| u.display_name.clone()).unwrap_or_default();
    let role = session
        .claims()
        .map(|c| c.default_role.clone())
        .unwrap_or_default();
    let expires_at = session.expires_at();
    let expires_in = (expires_at - now).whole_seconds();
    let expires_text = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let graphql = graphql_me(&site, &session).await;
    let graphql_text = serde_json::to_string_pretty(&graphql).unwrap_or_default();
    let body = format!(
        r#"<dl>
<dt>Name</dt><dd id="user-name">{name}</dd>
<dt>E-mail</dt><dd id="user-email">{email}</dd>
<dt>User id</dt><dd id="user-id">{id}</dd>
<dt>Role</dt><dd id="user-role">{role}</dd>
<dt>JWT expires</dt><dd><span id="jwt-expires-at">{expires_text}</span> (in <span id="jwt-expires-in">{expires_in}</span> s; refreshed on the server when it nears expiry)</dd>
</dl>
<h2>Server-side GraphQL call</h2>
<pre id="graphql">{graphql}</pre>
<h2>Hydration</h2>
<p>The page's script reads the session rendered below (never the refresh token):
<span id="hydrated">…</span></p>
{script}
<script>
  const session = JSON.parse(document.getElementById("nhost-session").textContent);
  document.getElementById("hydrated").textContent = session
    ? "JWT for " + (session.user && (session.user.email || session.user.id)) + ", " + session.accessTokenExpiresIn + " s left"
    : "no session";
</script>"#,
        name = escape(&name),
        email = escape(&email),
        id = escape(session.user_id().unwrap_or_default()),
        role = escape(&role),
        graphql = escape(&graphql_text),
        script = hydration_script(Some(&session)),
    );
    page(
        "Profile",
        &SessionState::Active(session.into_inner()),
        &body,
    )
}

/// Asks GraphQL who the JWT belongs to. The embedded server's GraphQL stand-in answers any
/// query with `{"data":{"me":{…}}}`; on Nhost, this query reads the user's row.
async fn graphql_me(site: &Site, session: &RequiredSession) -> Value {
    let Some(url) = &site.graphql_url else {
        return json!({ "error": "no GraphQL endpoint configured (NHOST_GRAPHQL_URL)" });
    };
    let body = json!({
        "query": "query Me($id: uuid!) { user(id: $id) { id displayName email } }",
        "variables": { "id": session.user_id() },
    });
    let answer = site
        .http
        .post(url)
        .header(
            header::AUTHORIZATION.as_str(),
            format!("Bearer {}", session.access_token().expose_secret()),
        )
        .header(header::CONTENT_TYPE.as_str(), "application/json")
        .body(body.to_string())
        .send()
        .await;
    match answer {
        Ok(response) => match response.text().await {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })),
            Err(e) => json!({ "error": e.to_string() }),
        },
        Err(e) => json!({ "error": e.to_string() }),
    }
}

async fn api_me(session: RequiredSession) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "id": session.user_id(),
        "email": session.user().and_then(|u| u.email.clone()),
        "displayName": session.user().map(|u| u.display_name.clone()),
        "isAnonymous": session.is_anonymous(),
        "accessTokenExpiresAt": session.expires_at().unix_timestamp(),
    }))
}
