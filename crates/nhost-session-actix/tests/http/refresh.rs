//! The middleware's refresh behaviour: no auth call within a JWT lifetime, one `POST /token`
//! for concurrent requests, the grace period, rejections, transient failures.

use actix_web::test::{self, TestRequest};
use futures_util::future::join_all;
use nhost_session_cookie::{CookieConfig, CookieFormat};
use nhost_session_testkit::{FakeAuthServer, Fault, Rotation};
use time::Duration;

use crate::common::*;

/// Signs in through the app; returns the browser's `Cookie` header.
macro_rules! sign_in {
    ($service:expr) => {{
        let request = TestRequest::post()
            .uri("/signin")
            .set_form([("email", EMAIL), ("password", PASSWORD)])
            .to_request();
        let response = test::call_service(&$service, request).await;
        assert_eq!(response.status(), 303);
        next_cookie(None, &response).expect("a session cookie")
    }};
}

fn get(path: &str, cookie: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("cookie", cookie))
}

#[actix_web::test]
async fn page_loads_within_one_jwt_lifetime_make_no_auth_call() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = sign_in!(service);
    for _ in 0..10 {
        h.clock.advance(Duration::seconds(60));
        let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
        assert_eq!(response.status(), 200);
        assert!(set_cookies(&response).is_empty());
        assert_eq!(cache_control(&response), None);
        let body = json(response).await;
        assert_eq!(body["state"], "active");
        assert_eq!(body["email"], EMAIL);
        assert_eq!(body["role"], "user");
    }
    assert_eq!(h.token_calls(), 0);
    let stats = h.auth.stats();
    assert_eq!(stats.calls_to("/v1/signin/email-password"), 1);
}

#[actix_web::test]
async fn fifty_concurrent_requests_with_one_expired_cookie_share_one_refresh() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let old = sign_in!(service);
    let old_token = h.token_in(&old).unwrap();
    h.clock.advance(Duration::minutes(16));

    let responses =
        join_all((0..50).map(|_| test::call_service(&service, get("/me", &old).to_request())))
            .await;
    assert_eq!(h.token_calls(), 1, "one POST /token for 50 requests");
    let mut new_cookies = Vec::new();
    for response in &responses {
        assert_eq!(response.status(), 200);
        assert_eq!(
            cache_control(response).as_deref(),
            Some("private, no-store")
        );
        new_cookies.push(next_cookie(Some(&old), response).unwrap());
    }
    let new_token = h.token_in(&new_cookies[0]).unwrap();
    assert_ne!(new_token, old_token);
    for cookie in &new_cookies {
        assert_eq!(
            h.token_in(cookie).unwrap(),
            new_token,
            "the same new token everywhere"
        );
    }
    for response in responses {
        assert_eq!(json(response).await["email"], EMAIL);
    }

    // A late request with the old cookie, inside the grace period: the new session and the new
    // cookie, without another auth call.
    h.clock.advance(Duration::seconds(30));
    let response = test::call_service(&service, get("/state", &old).to_request()).await;
    assert_eq!(
        cache_control(&response).as_deref(),
        Some("private, no-store")
    );
    let late = next_cookie(Some(&old), &response).unwrap();
    assert_eq!(h.token_in(&late).unwrap(), new_token);
    assert_eq!(json(response).await["state"], "active");

    // The new cookie works without an auth call.
    let response = test::call_service(&service, get("/state", &late).to_request()).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(json(response).await["state"], "active");
    assert_eq!(h.token_calls(), 1);

    // After the grace period the old cookie is the dead token it is: removed, anonymous,
    // and not sent to the auth service again.
    h.clock.advance(Duration::seconds(31));
    let response = test::call_service(&service, get("/me", &old).to_request()).await;
    assert_eq!(response.status(), 401);
    let removal = set_cookies(&response);
    assert!(
        removal
            .iter()
            .any(|c| c.starts_with("nhost-session=;") && c.contains("Max-Age=0")),
        "{removal:?}"
    );
    assert_eq!(
        cache_control(&response).as_deref(),
        Some("private, no-store")
    );
    assert_eq!(h.token_calls(), 1);
    assert_eq!(
        h.auth.stats().reuse_rejections,
        0,
        "no replaced token was ever sent"
    );

    // The live cookie still works.
    let response = test::call_service(&service, get("/state", &late).to_request()).await;
    assert_eq!(json(response).await["state"], "active");
}

#[actix_web::test]
async fn handlers_see_the_refreshed_session_and_the_rewritten_cookie_header() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = sign_in!(service);
    h.clock.advance(Duration::minutes(16));
    let with_other = format!("theme=dark; {cookie}; lang=en");
    let response = test::call_service(&service, get("/state", &with_other).to_request()).await;
    let browser = next_cookie(Some(&with_other), &response).unwrap();
    let body = json(response).await;
    assert_eq!(body["state"], "active");
    let seen = body["cookie"].as_str().unwrap();
    assert_eq!(
        h.token_in(seen),
        h.token_in(&browser),
        "handlers see the new token"
    );
    assert!(
        seen.contains("theme=dark") && seen.contains("lang=en"),
        "{seen}"
    );
    assert_eq!(h.token_calls(), 1);
}

#[actix_web::test]
async fn a_session_within_the_margin_is_refreshed_once_not_served() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = sign_in!(service);
    // 900 s JWT, 60 s margin: at 850 s it must be refreshed, although still valid.
    h.clock.advance(Duration::seconds(850));
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    let next = next_cookie(Some(&cookie), &response).unwrap();
    assert_ne!(h.token_in(&next), h.token_in(&cookie));
    let body = json(response).await;
    let expires = body["expiresAt"].as_i64().unwrap();
    assert!(expires > h.clock_now() + 800, "a fresh JWT");
    assert_eq!(h.token_calls(), 1);
}

#[actix_web::test]
async fn a_cookie_unknown_to_this_process_is_refreshed_once() {
    let h = Harness::new();
    let session = h.direct_session().await;
    let cookie = h.cookie_for(session.refresh_token.expose_secret());
    let service = test::init_service(app(h.middleware.clone())).await;
    let responses = join_all(
        (0..10).map(|_| test::call_service(&service, get("/state", &cookie).to_request())),
    )
    .await;
    assert_eq!(h.token_calls(), 1);
    for response in responses {
        assert!(next_cookie(Some(&cookie), &response).is_some());
        assert_eq!(json(response).await["state"], "active");
    }
}

#[actix_web::test]
async fn a_rejected_refresh_token_removes_the_cookie_and_goes_on_as_anonymous() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = h.cookie_for("6f1c1f8e-0d7b-4e5e-9b43-2f8d1c0a7b11");
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    assert_eq!(response.status(), 200);
    let removals = set_cookies(&response);
    assert_eq!(removals.len(), 1, "{removals:?}");
    assert!(removals[0].starts_with("nhost-session=;"));
    for attribute in ["Max-Age=0", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"] {
        assert!(removals[0].contains(attribute), "{}", removals[0]);
    }
    assert_eq!(
        cache_control(&response).as_deref(),
        Some("private, no-store")
    );
    let body = json(response).await;
    assert_eq!(body["state"], "anonymous");
    assert!(
        body["cookie"].is_null(),
        "the handler sees no session cookie"
    );
    assert_eq!(h.token_calls(), 1);

    // Right after, the rejection is remembered: 401 without another call.
    let response = test::call_service(&service, get("/me", &cookie).to_request()).await;
    assert_eq!(response.status(), 401);
    assert_eq!(h.token_calls(), 1);
}

#[actix_web::test]
async fn concealed_errors_count_as_rejections_too() {
    let h = Harness::with(
        FakeAuthServer::builder().conceal_errors(true),
        CookieConfig::own(),
    );
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = h.cookie_for("6f1c1f8e-0d7b-4e5e-9b43-2f8d1c0a7b11");
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    assert!(set_cookies(&response)[0].contains("Max-Age=0"));
    assert_eq!(json(response).await["state"], "anonymous");
}

#[actix_web::test]
async fn an_unreadable_cookie_is_removed() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response = test::call_service(
        &service,
        get("/state", "nhost-session=%%garbage").to_request(),
    )
    .await;
    assert!(set_cookies(&response)[0].contains("Max-Age=0"));
    assert_eq!(json(response).await["state"], "anonymous");
    assert_eq!(h.token_calls(), 0);
}

#[actix_web::test]
async fn a_transient_failure_keeps_the_cookie_and_marks_the_session_unavailable() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = sign_in!(service);
    h.clock.advance(Duration::minutes(16));

    for fault in [
        Fault::on("/token").status(503),
        Fault::on("/token").drop_connection(),
        Fault::on("/token").rate_limited(),
    ] {
        h.auth.inject(fault);
        let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
        assert!(set_cookies(&response).is_empty(), "the cookie is untouched");
        assert_eq!(cache_control(&response), None);
        let body = json(response).await;
        assert_eq!(body["state"], "unavailable");
        assert!(body["retryAfter"].as_u64().unwrap() >= 1);
        assert_eq!(
            h.token_in(body["cookie"].as_str().unwrap()),
            h.token_in(&cookie)
        );
    }

    h.auth.inject(Fault::on("/token").status(502));
    let response = test::call_service(&service, get("/me", &cookie).to_request()).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(set_cookies(&response).is_empty());
    assert_eq!(json(response).await["error"], "session-unavailable");

    // Once the auth service is back, the same cookie refreshes.
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    assert!(next_cookie(Some(&cookie), &response).is_some());
    assert_eq!(json(response).await["state"], "active");
    assert_eq!(h.token_calls(), 5);
}

#[actix_web::test]
async fn a_transient_failure_within_the_margin_keeps_serving_the_valid_jwt() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = sign_in!(service);
    h.clock.advance(Duration::seconds(870));
    h.auth.inject(Fault::on("/token").status(503));
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(json(response).await["state"], "active");
    assert_eq!(h.token_calls(), 1);
}

#[actix_web::test]
async fn a_server_that_does_not_rotate_gets_no_new_cookie() {
    let h = Harness::with(
        FakeAuthServer::builder().rotation(Rotation::None),
        CookieConfig::own(),
    );
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = sign_in!(service);
    h.clock.advance(Duration::minutes(16));
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(json(response).await["state"], "active");
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    assert_eq!(json(response).await["state"], "active");
    assert_eq!(h.token_calls(), 1);
}

#[actix_web::test]
async fn every_cookie_format_refreshes_the_same_way() {
    for format in [
        CookieFormat::Own,
        CookieFormat::NextJs2,
        CookieFormat::NhostJs4,
    ] {
        let cookie_config = CookieConfig::builder(format).build().unwrap();
        let h = Harness::with(FakeAuthServer::builder(), cookie_config);
        let service = test::init_service(app(h.middleware.clone())).await;
        let cookie = sign_in!(service);
        assert!(h.token_in(&cookie).is_some(), "{format}");
        h.clock.advance(Duration::minutes(16));
        let responses = join_all(
            (0..5).map(|_| test::call_service(&service, get("/me", &cookie).to_request())),
        )
        .await;
        let mut tokens = Vec::new();
        for response in &responses {
            assert_eq!(response.status(), 200, "{format}");
            tokens.push(h.token_in(&next_cookie(Some(&cookie), response).unwrap()));
        }
        assert!(
            tokens.iter().all(|t| t.is_some() && *t == tokens[0]),
            "{format}"
        );
        assert_ne!(tokens[0], h.token_in(&cookie));
        assert_eq!(h.token_calls(), 1, "{format}");
    }
}

#[actix_web::test]
async fn a_refresh_outlives_the_request_that_started_it() {
    let h = Harness::with(FakeAuthServer::builder(), CookieConfig::own());
    let service = test::init_service(app(h.middleware.clone())).await;
    let cookie = sign_in!(service);
    h.clock.advance(Duration::minutes(16));
    // The first request is abandoned (its connection closed) while its refresh is in flight.
    h.auth
        .inject(Fault::on("/token").delay(std::time::Duration::from_millis(300)));
    let abandoned = test::call_service(&service, get("/state", &cookie).to_request());
    let _ = tokio::time::timeout(std::time::Duration::from_millis(50), abandoned).await;
    // The refresh completed anyway: the next request gets its outcome, no second call.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let response = test::call_service(&service, get("/state", &cookie).to_request()).await;
    assert!(next_cookie(Some(&cookie), &response).is_some());
    assert_eq!(json(response).await["state"], "active");
    assert_eq!(h.token_calls(), 1);
    assert_eq!(h.auth.stats().reuse_rejections, 0);
}

#[actix_web::test]
async fn an_inner_middlewares_error_still_carries_the_rotated_cookie() {
    use actix_web::dev::Service as _;
    use actix_web::{App, HttpResponse, web};
    use nhost_session_actix::SessionState;

    let h = Harness::new();
    let session = h.direct_session().await;
    let cookie = h.cookie_for(session.refresh_token.expose_secret());
    let service = test::init_service(
        App::new()
            // Inside the session middleware: refuses `/fail` after the handler ran.
            .wrap_fn(|request, service| {
                let fail = request.path() == "/fail";
                let call = service.call(request);
                async move {
                    let response = call.await?;
                    if fail {
                        Err(actix_web::error::ErrorForbidden("refused further in"))
                    } else {
                        Ok(response)
                    }
                }
            })
            .wrap(h.middleware.clone())
            .route("/fail", web::get().to(HttpResponse::Ok))
            .route(
                "/who",
                web::get().to(|state: SessionState| async move {
                    HttpResponse::Ok().body(if state.is_active() {
                        "active"
                    } else {
                        "anonymous"
                    })
                }),
            ),
    )
    .await;

    // The unknown cookie is refreshed (rotated) on a request that ends in an error.
    let Err(error) = test::try_call_service(&service, get("/fail", &cookie).to_request()).await
    else {
        panic!("the inner middleware refuses /fail");
    };
    let response = error.error_response();
    assert_eq!(response.status(), 403);
    let rotated: Vec<String> = response
        .headers()
        .get_all(actix_web::http::header::SET_COOKIE)
        .map(|v| pair_of(v.to_str().unwrap()))
        .collect();
    assert_eq!(
        rotated.len(),
        1,
        "the error response sets the rotated cookie"
    );
    let next = rotated.join("; ");
    assert_ne!(h.token_in(&next), h.token_in(&cookie));
    assert_eq!(
        cache_control_of(response.headers()).as_deref(),
        Some(nhost_session_cookie::CACHE_CONTROL_NO_STORE)
    );
    assert_eq!(h.token_calls(), 1);

    // Past the grace period the old token is dead; the cookie from the error keeps the user
    // signed in without another refresh.
    h.clock.advance(Duration::minutes(2));
    let who = |cookie: &str| test::call_and_read_body(&service, get("/who", cookie).to_request());
    assert_eq!(who(&next).await, "active");
    assert_eq!(who(&cookie).await, "anonymous");
    assert_eq!(h.token_calls(), 1);
}

fn cache_control_of(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    headers
        .get(actix_web::http::header::CACHE_CONTROL)
        .map(|v| v.to_str().unwrap().to_owned())
}

impl Harness {
    fn clock_now(&self) -> i64 {
        use nhost_session_core::Clock as _;
        self.clock.now().unix_timestamp()
    }
}
