//! Hostile input at the edges of the middleware: redirect targets that try to leave the site,
//! prefixed cookie names (`__Host-`, `__Secure-`) and their rules, and `Cookie` headers that
//! are huge or hold thousands of cookies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration as StdDuration, Instant};

use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpRequest, HttpResponse, web};
use nhost_session_actix::{
    ActionError, RequiredSession, RequiredSessionConfig, SessionActions, SessionMiddleware,
    SessionState, safe_redirect_target, same_site_path,
};
use nhost_session_cookie::{
    CookieConfig, CookieConfigError, CookieFormat, MAX_COOKIE_HEADER_BYTES,
};
use nhost_session_core::{AuthApi, AuthUrl, ManualClock, ProviderSignInOptions, SignInResponse};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::{FakeAuthServer, Rotation, SeedUser};
use serde_json::{Value, json};
use std::sync::Arc;
use time::Duration;

const EMAIL: &str = "hostile@example.com";
const PASSWORD: &str = "hostile-password-1";

/// Redirect targets that must never lead off the site, in all their disguises.
const HOSTILE_TARGETS: &[&str] = &[
    // Other origins, plainly.
    "https://evil.example",
    "http://evil.example/path",
    "HTTPS://evil.example",
    "hTtPs://evil.example",
    "https:evil.example",
    "https:/evil.example",
    "HtTpS:evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "//evil.example/%2F..",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\evil.example",
    // Scripts and data.
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    // Percent-encoded, once, twice, mixed case.
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "/%2F/evil.example",
    "/%2f/evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "%5C%5Cevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "%68ttps://evil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0d%0aLocation:%20https://evil.example",
    "/%00/evil.example",
    "/%2e%2e//evil.example",
    "/%2E%2E/%2F/evil.example",
    // Dot segments that collapse into `//`.
    "/.//evil.example",
    "/./\\evil.example",
    "/a/..//evil.example",
    "/../evil.example/..//evil.example",
    // Control characters and whitespace that browsers strip.
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\u{0}/evil.example",
    "\u{0}//evil.example",
    "/\u{b}/evil.example",
    "/\u{c}/evil.example",
    "/\u{7f}/evil.example",
    " //evil.example",
    "\t//evil.example",
    "//evil.example\t",
    // Unicode lookalikes of `/` and `\`, and other non-ASCII.
    "/\u{2215}evil.example",
    "\u{2215}\u{2215}evil.example",
    "/\u{ff0f}evil.example",
    "\u{ff0f}\u{ff0f}evil.example",
    "/\u{29f5}evil.example",
    "/\u{fe68}evil.example",
    "//evil\u{3002}example",
    "/\u{202e}elpmaxe.live//",
    // Credentials and ports.
    "//user:pass@evil.example",
    "//127.0.0.1:8080",
    // Not a path at all.
    "",
    "evil.example",
    "?next=//evil.example",
    "#//evil.example",
];

/// Whether a `Location` value keeps the browser on this site: a relative path that starts with
/// exactly one `/` (not `//`, not `/\`), made of visible ASCII, resolving to this origin, also
/// after a few rounds of percent-decoding.
fn stays_on_site(location: &str) -> bool {
    let bytes = location.as_bytes();
    let plain = |b: &[u8]| {
        matches!(b, [b'/', rest @ ..] if !matches!(rest.first(), Some(b'/' | b'\\')))
            && b.iter().all(|c| c.is_ascii_graphic() && *c != b'\\')
    };
    if !plain(bytes) {
        return false;
    }
    let base = url::Url::parse("https://app.example/some/page").unwrap();
    let mut current = location.to_owned();
    for _ in 0..4 {
        match base.join(&current) {
            Ok(url) if url.origin() == base.origin() => {}
            _ => return false,
        }
        let decoded: Vec<u8> = percent_decode(&current);
        if decoded == current.as_bytes() {
            return true;
        }
        if !plain(&decoded) {
            return false;
        }
        current = String::from_utf8(decoded).unwrap_or_default();
    }
    true
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn location<B>(response: &ServiceResponse<B>) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn set_cookies<B>(response: &ServiceResponse<B>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn state(state: SessionState, req: HttpRequest) -> HttpResponse {
    let cookie = req
        .headers()
        .get(header::COOKIE)
        .map(|v| v.to_str().unwrap_or_default().len());
    let name = match &state {
        SessionState::Anonymous => "anonymous",
        SessionState::Active(_) => "active",
        SessionState::Unavailable(_) => "unavailable",
    };
    HttpResponse::Ok().json(json!({ "state": name, "cookieLength": cookie }))
}

async fn sign_in(actions: SessionActions) -> Result<HttpResponse, ActionError> {
    actions.sign_in_email_password(EMAIL, PASSWORD).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn sign_out(actions: SessionActions) -> HttpResponse {
    let _ = actions.sign_out().await;
    HttpResponse::NoContent().finish()
}

async fn provider(actions: SessionActions) -> Result<HttpResponse, ActionError> {
    let url = actions.provider_sign_in_url(
        "github",
        "https://app.example/auth/callback",
        ProviderSignInOptions::default(),
        true,
    )?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.as_str()))
        .finish())
}

async fn me(session: RequiredSession) -> HttpResponse {
    HttpResponse::Ok().body(session.user_id().unwrap_or_default().to_owned())
}

struct Harness {
    auth: FakeAuthServer,
    clock: Arc<ManualClock>,
}

impl Harness {
    fn new(rotation: Rotation) -> Self {
        let auth = FakeAuthServer::builder()
            .rotation(rotation)
            .seed_user(SeedUser::new(EMAIL, PASSWORD))
            .start()
            .unwrap();
        Self {
            auth,
            clock: Arc::new(ManualClock::default()),
        }
    }

    fn url(&self) -> AuthUrl {
        AuthUrl::parse(&self.auth.base_url()).unwrap()
    }

    fn middleware(&self, cookie: CookieConfig) -> SessionMiddleware {
        SessionMiddleware::builder(self.url())
            .cookie(cookie)
            .clock(self.clock.clone())
            .build()
            .unwrap()
    }

    async fn refresh_token(&self) -> String {
        let api = AuthApi::new(self.url(), ReqwestTransport::new().unwrap());
        match api.sign_in_email_password(EMAIL, PASSWORD).await.unwrap() {
            SignInResponse::Session(s) => s.refresh_token.expose_secret().to_owned(),
            other => panic!("{other:?}"),
        }
    }
}

macro_rules! app {
    ($middleware:expr) => {
        test::init_service(
            App::new()
                .wrap($middleware)
                .route("/state", web::get().to(state))
                .route("/signin", web::post().to(sign_in))
                .route("/signout", web::post().to(sign_out))
                .route("/provider", web::get().to(provider))
                .route(
                    "/auth/callback",
                    web::get().to(nhost_session_actix::callback),
                )
                .service(
                    web::scope("/html")
                        .app_data(RequiredSessionConfig::html())
                        .route("/me", web::get().to(me)),
                ),
        )
        .await
    };
}

#[test]
fn the_library_functions_refuse_every_disguise() {
    for target in HOSTILE_TARGETS {
        let safe = safe_redirect_target(Some(target));
        assert!(stays_on_site(&safe), "{target:?} -> {safe:?}");
        assert_eq!(safe, "/", "{target:?}");
        if let Some(path) = same_site_path(target) {
            // Accepted as written: it must be on the site however it is read.
            assert!(stays_on_site(path), "{target:?}");
        }
    }
    // And plain same-site paths pass, minus the sign-in parameters.
    for (target, wanted) in [
        ("/", "/"),
        ("/profile", "/profile"),
        ("/a/b?c=d#e", "/a/b?c=d#e"),
        ("/search?q=abc&page=2", "/search?q=abc&page=2"),
        // Odd, but paths of this site.
        ("/@evil.example", "/@evil.example"),
        ("/evil.example", "/evil.example"),
        ("/p?refreshToken=x&tab=2", "/p?tab=2"),
    ] {
        assert_eq!(safe_redirect_target(Some(target)), wanted);
    }
}

#[actix_web::test]
async fn the_callback_lands_on_a_same_site_path_whatever_next_says() {
    // No rotation: one refresh token serves every callback of the test.
    let h = Harness::new(Rotation::None);
    let service = app!(h.middleware(CookieConfig::own()));
    let token = h.refresh_token().await;
    let mut checked = 0;
    for target in HOSTILE_TARGETS {
        // `next` as a browser would send it (encoded), and, where the URI allows, raw.
        let mut queries = vec![format!("refreshToken={token}&next={}", encode(target))];
        if target
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"#&".contains(&b))
        {
            queries.push(format!("refreshToken={token}&next={target}"));
            queries.push(format!("next={target}&refreshToken={token}"));
        }
        for query in queries {
            let uri = format!("/auth/callback?{query}");
            if http::Uri::try_from(uri.as_str()).is_err() {
                continue; // not a URI that could reach the app
            }
            let request = TestRequest::get().uri(&uri).to_request();
            let response = test::call_service(&service, request).await;
            assert_eq!(response.status(), 303, "{target:?}");
            let at = location(&response);
            assert!(stays_on_site(&at), "{target:?} -> {at:?}");
            assert!(
                !at.contains("evil") && !at.contains("javascript"),
                "{target:?} -> {at:?}"
            );
            assert!(!at.contains(&token), "the token never stays in the URL");
            // The sign-in itself worked: the session cookie is set.
            assert!(
                set_cookies(&response)
                    .iter()
                    .any(|c| c.starts_with("nhost-session=") && !c.contains("Max-Age=0")),
                "{target:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= HOSTILE_TARGETS.len());
    // A failed callback goes to the sign-in page, whatever `next` says.
    for target in HOSTILE_TARGETS {
        let request = TestRequest::get()
            .uri(&format!(
                "/auth/callback?error=invalid-state&next={}",
                encode(target)
            ))
            .to_request();
        let response = test::call_service(&service, request).await;
        let at = location(&response);
        assert!(at.starts_with("/signin?error="), "{target:?} -> {at:?}");
        assert!(stays_on_site(&at));
    }
}

#[actix_web::test]
async fn hostile_sign_in_paths_are_refused_at_build_time_or_never_used() {
    let h = Harness::new(Rotation::Strict);
    for target in HOSTILE_TARGETS {
        let built = SessionMiddleware::builder(h.url())
            .sign_in_path(*target)
            .clock(h.clock.clone())
            .build();
        let Ok(middleware) = built else { continue };
        // Accepted (it resolves on this site, such as `/%2e%2e//evil.example`): the sign-in
        // redirect still never leaves the site.
        let service = test::init_service(
            App::new().wrap(middleware).service(
                web::scope("/html")
                    .app_data(RequiredSessionConfig::html())
                    .route("/me", web::get().to(me)),
            ),
        )
        .await;
        let response =
            test::call_service(&service, TestRequest::get().uri("/html/me").to_request()).await;
        let at = location(&response);
        assert!(
            stays_on_site(&at) && !at.contains("evil"),
            "{target:?} -> {at}"
        );
    }
    for target in [
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "javascript:x",
    ] {
        assert!(
            SessionMiddleware::builder(h.url())
                .sign_in_path(target)
                .build()
                .is_err(),
            "{target:?}"
        );
    }
    // A scope's own sign-in page that is hostile falls back to `/`.
    for target in ["//evil.example", "/\\evil.example", "https:evil.example"] {
        let service = test::init_service(
            App::new().wrap(h.middleware(CookieConfig::own())).service(
                web::scope("/html")
                    .app_data(RequiredSessionConfig::html().sign_in_path(target))
                    .route("/me", web::get().to(me)),
            ),
        )
        .await;
        let response = test::call_service(
            &service,
            TestRequest::get().uri("/html/me?x=1").to_request(),
        )
        .await;
        assert_eq!(response.status(), 303);
        let at = location(&response);
        assert!(stays_on_site(&at) && !at.contains("evil"), "{at}");
    }
}

/// Checks that every `Set-Cookie` of the session obeys its name's prefix rules.
fn assert_prefix_rules(cookies: &[String]) {
    for cookie in cookies {
        let name = cookie.split('=').next().unwrap().to_ascii_lowercase();
        let attributes: Vec<String> = cookie
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        if name.starts_with("__host-") || name.starts_with("__secure-") {
            assert!(attributes.iter().any(|a| a == "secure"), "{cookie}");
        }
        if name.starts_with("__host-") {
            assert!(attributes.iter().any(|a| a == "path=/"), "{cookie}");
            assert!(
                !attributes.iter().any(|a| a.starts_with("domain")),
                "{cookie}"
            );
        }
    }
}

#[actix_web::test]
async fn prefixed_cookie_names_work_end_to_end() {
    let configs = [
        CookieConfig::builder(CookieFormat::Own)
            .name("__Host-session")
            .build()
            .unwrap(),
        CookieConfig::builder(CookieFormat::Own)
            .name("__Secure-session")
            .domain("app.example")
            .build()
            .unwrap(),
        CookieConfig::builder(CookieFormat::NhostJs4)
            .name("__Host-nhostSession")
            .build()
            .unwrap(),
        CookieConfig::builder(CookieFormat::NhostJs4)
            .name("__Secure-nhostSession")
            .path("/app")
            .build()
            .unwrap(),
    ];
    for config in configs {
        let name = config.name().to_owned();
        let h = Harness::new(Rotation::Strict);
        let middleware = SessionMiddleware::builder(h.url())
            .cookie(config.clone())
            .pkce_cookie_name(if name.starts_with("__Host-") {
                "__Host-pkce"
            } else {
                "__Secure-pkce"
            })
            .clock(h.clock.clone())
            .build()
            .unwrap();
        let service = app!(middleware);

        // Sign-in: the prefixed cookie, with the attributes its prefix demands.
        let response =
            test::call_service(&service, TestRequest::post().uri("/signin").to_request()).await;
        assert_eq!(response.status(), 204, "{name}");
        let set = set_cookies(&response);
        assert_eq!(set.len(), 1, "{set:?}");
        assert!(set[0].starts_with(&format!("{name}=")), "{set:?}");
        assert_prefix_rules(&set);
        let cookie = set[0].split(';').next().unwrap().to_owned();

        // The cookie is read back.
        let get = |cookie: &str| {
            TestRequest::get()
                .uri("/state")
                .insert_header((header::COOKIE, cookie.to_owned()))
                .to_request()
        };
        let body: Value = test::call_and_read_body_json(&service, get(&cookie)).await;
        assert_eq!(body["state"], "active", "{name}");

        // A refresh rotates it under the same name and rules.
        h.clock.advance(Duration::minutes(16));
        let response = test::call_service(&service, get(&cookie)).await;
        let set = set_cookies(&response);
        assert!(set[0].starts_with(&format!("{name}=")), "{set:?}");
        assert_prefix_rules(&set);
        let rotated = set[0].split(';').next().unwrap().to_owned();
        assert_ne!(rotated, cookie);
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["state"], "active");

        // The PKCE verifier cookie obeys its prefix too.
        let response =
            test::call_service(&service, TestRequest::get().uri("/provider").to_request()).await;
        let set = set_cookies(&response);
        assert!(set[0].starts_with("__"), "{set:?}");
        assert_prefix_rules(&set);

        // Sign-out removes it with the same attributes (or the browser would keep it).
        let response = test::call_service(
            &service,
            TestRequest::post()
                .uri("/signout")
                .insert_header((header::COOKIE, rotated.clone()))
                .to_request(),
        )
        .await;
        let set = set_cookies(&response);
        assert!(
            set[0].starts_with(&format!("{name}=;")) && set[0].contains("Max-Age=0"),
            "{set:?}"
        );
        assert_prefix_rules(&set);
        if let Some(domain) = config.domain() {
            assert!(set[0].contains(&format!("Domain={domain}")), "{set:?}");
        }
    }
}

#[test]
fn prefix_rules_are_enforced_when_the_configuration_is_built() {
    let own = || CookieConfig::builder(CookieFormat::Own);
    let js4 = || CookieConfig::builder(CookieFormat::NhostJs4);
    for (built, wanted) in [
        (
            own().name("__Host-s").secure(false).build(),
            CookieConfigError::HostPrefixRequiresSecure,
        ),
        (
            own().name("__HOST-s").secure(false).build(),
            CookieConfigError::HostPrefixRequiresSecure,
        ),
        (
            own().name("__host-s").path("/app").build(),
            CookieConfigError::HostPrefixRequiresRootPath,
        ),
        (
            own().name("__Host-s").domain("app.example").build(),
            CookieConfigError::HostPrefixForbidsDomain,
        ),
        (
            own().name("__Secure-s").secure(false).build(),
            CookieConfigError::SecurePrefixRequiresSecure,
        ),
        (
            own().name("__SECURE-s").secure(false).build(),
            CookieConfigError::SecurePrefixRequiresSecure,
        ),
        (
            js4().name("__Host-nhostSession").secure(false).build(),
            CookieConfigError::HostPrefixRequiresSecure,
        ),
        (
            js4().name("__Secure-nhostSession").secure(false).build(),
            CookieConfigError::SecurePrefixRequiresSecure,
        ),
    ] {
        assert_eq!(built.unwrap_err(), wanted);
    }
}

#[test]
fn a_prefixed_pkce_cookie_name_must_obey_its_prefix_too() {
    let url = AuthUrl::parse("http://127.0.0.1:9/v1").unwrap();
    let build = |cookie: CookieConfig, pkce: &str| {
        SessionMiddleware::builder(url.clone())
            .cookie(cookie)
            .pkce_cookie_name(pkce)
            .build()
    };
    // The session cookie's attributes are the PKCE cookie's: they must suit its prefix.
    let insecure = CookieConfig::nextjs2();
    assert!(build(insecure.clone(), "__Host-pkce").is_err());
    assert!(build(insecure.clone(), "__Secure-pkce").is_err());
    assert!(build(insecure, "nhost-pkce").is_ok());
    let sub_path = CookieConfig::builder(CookieFormat::Own)
        .path("/app")
        .build()
        .unwrap();
    assert!(build(sub_path.clone(), "__Host-pkce").is_err());
    assert!(build(sub_path, "__Secure-pkce").is_ok());
    let with_domain = CookieConfig::builder(CookieFormat::Own)
        .domain("app.example")
        .build()
        .unwrap();
    assert!(build(with_domain.clone(), "__host-pkce").is_err());
    assert!(build(with_domain, "__Secure-pkce").is_ok());
    assert!(build(CookieConfig::own(), "__Host-pkce").is_ok());
}

/// Runs `request` against the service with a generous limit, and returns the state the handler
/// saw and how long it took.
macro_rules! timed_state {
    ($service:expr, $cookie:expr) => {{
        let started = Instant::now();
        let request = TestRequest::get()
            .uri("/state")
            .insert_header((header::COOKIE, $cookie))
            .to_request();
        let response = tokio::time::timeout(
            StdDuration::from_secs(60),
            test::call_service(&$service, request),
        )
        .await
        .expect("answered");
        assert_eq!(response.status(), 200);
        let set = set_cookies(&response);
        let body: Value = test::read_body_json(response).await;
        (
            body["state"].as_str().unwrap().to_owned(),
            set,
            started.elapsed(),
        )
    }};
}

#[actix_web::test]
async fn huge_cookie_headers_and_thousands_of_cookies_are_no_session_and_cheap() {
    let h = Harness::new(Rotation::Strict);
    let service = app!(h.middleware(CookieConfig::own()));
    let response =
        test::call_service(&service, TestRequest::post().uri("/signin").to_request()).await;
    let session = set_cookies(&response)[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let calls = || h.auth.stats().calls_to("/v1/token");

    let mut report = Vec::new();
    for size in [64 * 1024, 1024 * 1024, 4 * 1024 * 1024] {
        // One enormous cookie.
        let junk = format!("junk={}", "a".repeat(size));
        let (state, set, took) = timed_state!(service, junk.clone());
        assert_eq!(state, "anonymous");
        assert!(set.is_empty(), "nothing of ours to remove: {set:?}");
        report.push(format!("{size} B junk: {took:?}"));
        // An enormous value under the session cookie's name: ignored, no session.
        let oversized = format!("nhost-session={}", "a".repeat(size));
        let (state, _, took) = timed_state!(service, oversized);
        assert_eq!(state, "anonymous");
        report.push(format!("{size} B session value: {took:?}"));
        // The real session first, then the junk: still the session.
        let (state, _, took) = timed_state!(service, format!("{session}; {junk}"));
        assert_eq!(state, "active");
        report.push(format!("{size} B after the session: {took:?}"));
    }
    // The session cookie past the first 256 KiB is not looked at.
    let far = format!("junk={}; {session}", "a".repeat(300 * 1024));
    let (state, _, _) = timed_state!(service, far);
    assert_eq!(state, "anonymous");

    for count in [10_000, 50_000] {
        let many: String = (0..count).map(|i| format!("c{i}=v{i}; ")).collect();
        let (state, set, took) = timed_state!(service, many.trim_end_matches("; ").to_owned());
        assert_eq!(state, "anonymous");
        assert!(set.is_empty());
        report.push(format!("{count} cookies: {took:?}"));
        // Thousands of cookies that look like the session's chunks: still no session, and
        // the answer removes at most the format's own few cookies.
        let chunks: String = (0..count)
            .map(|i| format!("nhost-session.{i}=x; nhost-session={i}; "))
            .collect();
        let (state, set, took) = timed_state!(service, chunks);
        assert_eq!(state, "anonymous");
        assert!(set.len() <= 11, "{} removals", set.len());
        report.push(format!("{count} chunk-like cookies: {took:?}"));
        // Thousands of cookies, then a real session: found while it lies within the bytes
        // looked at, ignored past them.
        let around = format!("{many}{session}");
        let within = around.len() <= MAX_COOKIE_HEADER_BYTES;
        let (state, _, took) = timed_state!(service, around);
        assert_eq!(
            state,
            if within { "active" } else { "anonymous" },
            "{count}"
        );
        report.push(format!("{count} cookies, then the session: {took:?}"));
        // The session first, then thousands of cookies: the session.
        let (state, _, _) = timed_state!(service, format!("{session}; {many}"));
        assert_eq!(state, "active", "{count}");
    }
    // Many `Cookie` headers instead of one.
    let mut request = TestRequest::get().uri("/state");
    for i in 0..2_000 {
        request = request.append_header((header::COOKIE, format!("h{i}=v")));
    }
    let request = request
        .append_header((header::COOKIE, session.clone()))
        .to_request();
    let body: Value = test::call_and_read_body_json(&service, request).await;
    assert_eq!(body["state"], "active");
    assert_eq!(calls(), 0, "none of this reached the auth service");
    println!("{}", report.join("\n"));
}

#[actix_web::test]
async fn a_real_server_answers_oversized_cookie_headers_sanely_and_keeps_serving() {
    let h = Harness::new(Rotation::Strict);
    let middleware = h.middleware(CookieConfig::own());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .wrap(middleware.clone())
            .route("/state", web::get().to(state))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    // A new connection per request: the server drops the one that carried a refused head.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = format!("http://{addr}/state");
    for size in [8 * 1024, 64 * 1024, 1024 * 1024] {
        let cookie = format!("junk={}", "a".repeat(size));
        let answer = tokio::time::timeout(
            StdDuration::from_secs(60),
            client.get(&url).header("cookie", cookie).send(),
        )
        .await
        .expect("answered in time");
        match answer {
            // actix refuses heads past its limit (431 or 400), or the connection.
            Ok(response) => {
                let status = response.status().as_u16();
                assert!(
                    [200, 400, 413, 431].contains(&status),
                    "{size} B: HTTP {status}"
                );
                if status == 200 {
                    let body: Value =
                        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
                    assert_eq!(body["state"], "anonymous");
                }
                println!("{size} B Cookie header: HTTP {status}");
            }
            Err(e) => println!("{size} B Cookie header: connection closed ({e})"),
        }
        // And the server still serves.
        let bytes = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["state"], "anonymous");
    }
    handle.stop(true).await;
}
