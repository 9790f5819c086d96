//! The middleware's per-request work with a known session, beside the same page without a
//! session layer, and its parts.
//!
//! Run: `cargo bench -p nhost-session-bench --bench middleware`.
//!
//! Each iteration builds a request, runs it through an actix service
//! (`actix_web::test::call_service`) on the current thread and reads the status: the
//! difference between "with the middleware" and "no session layer" is what the middleware
//! and the `SessionState` extractor add per request. The known session was adopted once
//! before measuring (one `POST /token`); the bench then checks that no request reached the
//! auth server.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::{App, test, web};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use nhost_session_actix::{LocalCoordinator, SessionMiddleware};
use nhost_session_bench::apps::{PAGE, plain_page, session_page};
use nhost_session_bench::scenarios;
use nhost_session_cookie::{CookieConfig, RequestCookies};
use nhost_session_core::{
    AuthUrl, RefreshCoordinator, RefreshToken, Resolution, SharedSession, StoredTokens,
};
use nhost_session_testkit::{FakeAuthServer, SeedUser};
use time::OffsetDateTime;

/// Polls a future that completes without waiting.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("expected no wait"),
    }
}

/// The `Cookie` header for `tokens` in `config`'s format.
fn cookie_header(config: &CookieConfig, tokens: &StoredTokens) -> String {
    let now = OffsetDateTime::now_utc();
    config
        .write(tokens, now, &RequestCookies::empty())
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

/// Benches one page load: a request made by `request`, run through `service`, status 2xx.
fn bench_page<S, R, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    label: &str,
    system: &actix_web::rt::SystemRunner,
    service: &S,
    request: impl Fn() -> R,
) where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    group.bench_function(label, |b| {
        b.iter(|| {
            system.block_on(async {
                let response = test::call_service(service, request()).await;
                assert!(response.status().is_success());
            })
        })
    });
}

fn bench(c: &mut Criterion) {
    let auth = FakeAuthServer::builder()
        .seed_user(SeedUser::new(scenarios::EMAIL, scenarios::PASSWORD).display_name("Bench User"))
        .start()
        .unwrap();
    let system = actix_web::rt::System::new();
    let api = scenarios::api(&auth).unwrap();
    let url = AuthUrl::parse(&auth.base_url()).unwrap();

    let mut group = c.benchmark_group("middleware per request");

    let plain = system.block_on(test::init_service(
        App::new().route(PAGE, web::get().to(plain_page)),
    ));

    for (name, config) in [
        ("nhost-js 4 cookie", CookieConfig::nhost_js4()),
        ("own cookie", CookieConfig::own()),
    ] {
        let session = system.block_on(scenarios::sign_in(&api)).unwrap();
        let tokens = StoredTokens::from_session(&session, OffsetDateTime::now_utc());
        let middleware = SessionMiddleware::builder(url.clone())
            .cookie(config.clone())
            .build()
            .unwrap();
        let app = system.block_on(test::init_service(
            App::new()
                .wrap(middleware)
                .route(PAGE, web::get().to(session_page)),
        ));
        // Adopt the session once (one refresh); its rotated cookie is the known session.
        let first = cookie_header(&config, &tokens);
        let response = system.block_on(test::call_service(
            &app,
            test::TestRequest::get()
                .uri(PAGE)
                .insert_header((COOKIE, first))
                .to_request(),
        ));
        assert!(response.status().is_success());
        let known = response
            .headers()
            .get_all(SET_COOKIE)
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        assert!(!known.is_empty());
        // The same request without a session layer: the browser sends its cookie anyway.
        let request = || {
            test::TestRequest::get()
                .uri(PAGE)
                .insert_header((COOKIE, known.as_str()))
                .to_request()
        };
        let label = format!("no session layer, {name} sent");
        bench_page(&mut group, &label, &system, &plain, request);
        let calls_before = auth.stats().token_calls;
        let label = format!("with the middleware, known session, {name}");
        bench_page(&mut group, &label, &system, &app, request);
        let calls = auth.stats().token_calls - calls_before;
        println!("POST /token calls during the known-session bench ({name}): {calls}");
        assert_eq!(calls, 0, "the warm path must not call the auth server");
    }

    // Parts: the coordinator's lookup of a known session.
    let coordinator = LocalCoordinator::default();
    let session = system.block_on(scenarios::sign_in(&api)).unwrap();
    let shared = Arc::new(SharedSession::from_session(
        session,
        OffsetDateTime::now_utc(),
    ));
    let token: RefreshToken = shared.refresh_token.clone();
    poll_once(coordinator.remember(shared));
    group.bench_function("part: LocalCoordinator::resolve, known session", |b| {
        b.iter(|| {
            let resolution = poll_once(coordinator.resolve(&token, &api));
            assert!(matches!(resolution, Resolution::Session(_)));
        })
    });
    group.bench_function(
        "part: LocalCoordinator::resolve_known, known session (the middleware's path)",
        |b| {
            b.iter(|| {
                let resolution = coordinator.resolve_known(&token);
                assert!(matches!(resolution, Some(Resolution::Session(_))));
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
