//! Sign-in and sign-out helpers, the extractors' answers, hydration.

use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};
use nhost_session_actix::{RequiredSession, SessionState};
use nhost_session_cookie::CookieConfig;
use nhost_session_core::RefreshToken;
use nhost_session_testkit::{FakeAuthServer, SeedUser};
use serde_json::Value;
use time::Duration;

use crate::common::*;

fn sign_in_request(email: &str, password: &str) -> TestRequest {
    TestRequest::post()
        .uri("/signin")
        .set_form([("email", email), ("password", password)])
}

fn get(path: &str, cookie: Option<&str>) -> TestRequest {
    let request = TestRequest::get().uri(path);
    match cookie {
        Some(cookie) => request.insert_header(("cookie", cookie)),
        None => request,
    }
}

#[actix_web::test]
async fn sign_in_sets_the_cookie_with_the_configured_attributes() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;

    let response = test::call_service(&service, sign_in_request(EMAIL, "wrong").to_request()).await;
    assert_eq!(response.status(), 401);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(json(response).await["error"], "invalid-email-password");

    let response =
        test::call_service(&service, sign_in_request(EMAIL, PASSWORD).to_request()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/me"));
    assert_eq!(
        response.headers().get("x-signed-in").unwrap(),
        EMAIL,
        "later extractors see the new session"
    );
    assert_eq!(
        cache_control(&response).as_deref(),
        Some("private, no-store")
    );
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1);
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=2592000",
    ] {
        assert!(cookies[0].contains(attribute), "{}", cookies[0]);
    }
    let cookie = next_cookie(None, &response).unwrap();

    let response = test::call_service(&service, get("/me", Some(&cookie)).to_request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["email"], EMAIL);
    assert_eq!(h.token_calls(), 0, "the coordinator knew the new session");
}

#[actix_web::test]
async fn anonymous_sign_in() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response = test::call_service(
        &service,
        TestRequest::post().uri("/signin/anonymous").to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let cookie = next_cookie(None, &response).unwrap();
    assert_eq!(json(response).await["isAnonymous"], true);
    let response = test::call_service(&service, get("/state", Some(&cookie)).to_request()).await;
    let body = json(response).await;
    assert_eq!(body["state"], "active");
    assert_eq!(body["isAnonymous"], true);
}

#[actix_web::test]
async fn sign_out_revokes_the_token_and_removes_the_cookie() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response =
        test::call_service(&service, sign_in_request(EMAIL, PASSWORD).to_request()).await;
    let cookie = next_cookie(None, &response).unwrap();
    let token = h.token_in(&cookie).unwrap();

    let response = test::call_service(
        &service,
        TestRequest::post()
            .uri("/signout")
            .insert_header(("cookie", cookie.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/"));
    assert_eq!(response.headers().get("x-revoked").unwrap(), "true");
    assert_eq!(
        cache_control(&response).as_deref(),
        Some("private, no-store")
    );
    let removal = set_cookies(&response);
    assert!(removal[0].starts_with("nhost-session=;") && removal[0].contains("Max-Age=0"));
    assert_eq!(next_cookie(Some(&cookie), &response), None);
    assert_eq!(h.auth.stats().sign_outs, 1);

    // The token is dead at the server…
    let refreshed = h.api().refresh(&RefreshToken::new(token)).await;
    assert!(refreshed.unwrap_err().ends_session());
    // …and a late request with the old cookie is anonymous without asking it.
    let calls = h.token_calls();
    let response = test::call_service(&service, get("/state", Some(&cookie)).to_request()).await;
    assert!(set_cookies(&response)[0].contains("Max-Age=0"));
    assert_eq!(json(response).await["state"], "anonymous");
    assert_eq!(h.token_calls(), calls);
}

#[actix_web::test]
async fn sign_out_after_a_refresh_revokes_the_newest_token_and_kills_the_old_cookie() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response =
        test::call_service(&service, sign_in_request(EMAIL, PASSWORD).to_request()).await;
    let old = next_cookie(None, &response).unwrap();
    h.clock.advance(Duration::minutes(16));
    let response = test::call_service(
        &service,
        TestRequest::post()
            .uri("/signout")
            .insert_header(("cookie", old.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(response.headers().get("x-revoked").unwrap(), "true");
    assert_eq!(next_cookie(Some(&old), &response), None);
    // Within what would be the grace period, the old cookie does not resurrect the session.
    let response = test::call_service(&service, get("/state", Some(&old)).to_request()).await;
    assert_eq!(json(response).await["state"], "anonymous");
    let user = h.auth.user_by_email(EMAIL).unwrap();
    assert_eq!(h.auth.active_sessions(&user.id), 0);
}

#[actix_web::test]
async fn sign_out_while_the_auth_service_is_down_still_removes_the_cookie() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response =
        test::call_service(&service, sign_in_request(EMAIL, PASSWORD).to_request()).await;
    let cookie = next_cookie(None, &response).unwrap();
    h.auth
        .inject(nhost_session_testkit::Fault::on("/signout").status(503));
    let response = test::call_service(
        &service,
        TestRequest::post()
            .uri("/signout")
            .insert_header(("cookie", cookie.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(response.headers().get("x-revoked").unwrap(), "false");
    assert_eq!(next_cookie(Some(&cookie), &response), None);
}

#[actix_web::test]
async fn required_session_answers_by_route_kind() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;

    // A page load: a redirect to the sign-in page, with the page asked for.
    let response = test::call_service(
        &service,
        get("/me?tab=2", None)
            .insert_header(("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response).as_deref(),
        Some("/signin?next=%2Fme%3Ftab%3D2")
    );
    assert!(set_cookies(&response).is_empty());

    // fetch() and API clients: 401 with a JSON error.
    let response = test::call_service(&service, get("/me", None).to_request()).await;
    assert_eq!(response.status(), 401);
    let body = json(response).await;
    assert_eq!(body["error"], "unauthorized");

    // Per-scope configuration wins over the Accept header.
    let response = test::call_service(
        &service,
        get("/api/me", None)
            .insert_header(("accept", "text/html"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 401);
    let response = test::call_service(&service, get("/html/me", None).to_request()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response).as_deref(),
        Some("/login?next=%2Fhtml%2Fme")
    );
}

#[actix_web::test]
async fn extractors_without_the_middleware_are_a_500() {
    async fn handler(_state: SessionState) -> HttpResponse {
        HttpResponse::Ok().finish()
    }
    async fn required(_session: RequiredSession) -> HttpResponse {
        HttpResponse::Ok().finish()
    }
    let service = test::init_service(
        App::new()
            .route("/a", web::get().to(handler))
            .route("/b", web::get().to(required)),
    )
    .await;
    for path in ["/a", "/b"] {
        let response = test::call_service(&service, get(path, None).to_request()).await;
        assert_eq!(response.status(), 500, "{path}");
    }
}

#[actix_web::test]
async fn hydration_renders_the_session_escaped_and_without_the_refresh_token() {
    let nasty = "</script><script>alert('x')</script>&\u{2028}";
    let h = Harness::with(
        FakeAuthServer::builder()
            .seed_user(SeedUser::new("mallory@example.com", PASSWORD).display_name(nasty)),
        CookieConfig::own(),
    );
    let service = test::init_service(app(h.middleware.clone())).await;
    let response = test::call_service(
        &service,
        sign_in_request("mallory@example.com", PASSWORD).to_request(),
    )
    .await;
    let cookie = next_cookie(None, &response).unwrap();
    let token = h.token_in(&cookie).unwrap();
    let response = test::call_service(&service, get("/page", Some(&cookie)).to_request()).await;
    let html = text(response).await;
    assert!(!html.contains("<script>alert"), "{html}");
    assert_eq!(html.matches("</script>").count(), 1, "{html}");
    assert!(
        !html.contains(&token),
        "the refresh token never reaches the page"
    );
    let start = html.find(r#"id="nhost-session">"#).unwrap() + r#"id="nhost-session">"#.len();
    let end = html[start..].find("</script>").unwrap() + start;
    let data: Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(data["user"]["displayName"], nasty);
    assert!(data["accessToken"].as_str().unwrap().starts_with("ey"));
    assert!(data["accessTokenExpiresIn"].as_i64().unwrap() > 800);
    assert!(data.get("refreshToken").is_none());

    let response = test::call_service(&service, get("/page", None).to_request()).await;
    assert!(
        text(response)
            .await
            .contains(r#"id="nhost-session">null</script>"#)
    );
}

#[actix_web::test]
async fn responses_without_cookie_changes_carry_no_cache_control() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response = test::call_service(&service, get("/", None).to_request()).await;
    assert_eq!(cache_control(&response), None);
    assert!(set_cookies(&response).is_empty());
    let response = test::call_service(&service, get("/", Some("theme=dark")).to_request()).await;
    assert_eq!(cache_control(&response), None);
}
