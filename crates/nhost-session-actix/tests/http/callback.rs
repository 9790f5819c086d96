//! The OAuth / magic-link callback: refresh token and PKCE code, errors, hostile `next`
//! targets.

use actix_web::test::{self, TestRequest};

use crate::common::*;

/// Path and query of an app URL.
fn local(url: &str) -> &str {
    url.strip_prefix(APP_ORIGIN).unwrap()
}

#[actix_web::test]
async fn provider_callback_with_a_refresh_token_signs_in_and_leaves_no_token_in_the_url() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response =
        test::call_service(&service, TestRequest::get().uri("/provider").to_request()).await;
    assert_eq!(response.status(), 303);
    let start = location(&response).unwrap();
    assert!(start.starts_with(&h.auth.base_url()), "{start}");
    assert!(
        set_cookies(&response).is_empty(),
        "no PKCE cookie without PKCE"
    );

    let back = provider_redirect(&start, &format!("login_hint={EMAIL}")).await;
    assert!(back.contains("refreshToken="), "{back}");
    let response =
        test::call_service(&service, TestRequest::get().uri(local(&back)).to_request()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/me"));
    assert_eq!(
        response.headers().get("referrer-policy").unwrap(),
        "no-referrer"
    );
    assert_eq!(
        cache_control(&response).as_deref(),
        Some("private, no-store")
    );
    let cookie = next_cookie(None, &response).unwrap();
    let link_token = back
        .split("refreshToken=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_ne!(
        h.token_in(&cookie).unwrap(),
        link_token,
        "exchanged at once"
    );
    assert_eq!(h.token_calls(), 1);

    let response = test::call_service(
        &service,
        TestRequest::get()
            .uri("/me")
            .insert_header(("cookie", cookie.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["email"], EMAIL);

    // The same link opened twice (a prefetch, a double click) gives the same session.
    let response =
        test::call_service(&service, TestRequest::get().uri(local(&back)).to_request()).await;
    assert_eq!(location(&response).as_deref(), Some("/me"));
    assert_eq!(next_cookie(None, &response), Some(cookie));
    assert_eq!(h.token_calls(), 1);
}

#[actix_web::test]
async fn provider_callback_with_a_pkce_code() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response = test::call_service(
        &service,
        TestRequest::get().uri("/provider?pkce=1").to_request(),
    )
    .await;
    let start = location(&response).unwrap();
    assert!(start.contains("codeChallenge="), "{start}");
    let pkce = set_cookies(&response);
    assert_eq!(pkce.len(), 1);
    assert!(pkce[0].starts_with("nhost-pkce="));
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Max-Age=600",
        "Path=/",
        "Secure",
    ] {
        assert!(pkce[0].contains(attribute), "{}", pkce[0]);
    }
    let browser = next_cookie(None, &response).unwrap();

    let back = provider_redirect(&start, "").await;
    assert!(
        back.contains("code=") && !back.contains("refreshToken="),
        "{back}"
    );
    let response = test::call_service(
        &service,
        TestRequest::get()
            .uri(local(&back))
            .insert_header(("cookie", browser.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).as_deref(), Some("/me"));
    let cookies = set_cookies(&response);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("nhost-pkce=;") && c.contains("Max-Age=0"))
    );
    let after = next_cookie(Some(&browser), &response).unwrap();
    assert!(!after.contains("nhost-pkce"), "{after}");
    assert!(h.token_in(&after).is_some());
    assert_eq!(h.auth.stats().calls_to("/v1/token/exchange"), 1);
    let response = test::call_service(
        &service,
        TestRequest::get()
            .uri("/state")
            .insert_header(("cookie", after.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(json(response).await["email"], "github-user@example.com");

    // A code without the verifier cookie (another browser) is refused.
    let response = test::call_service(
        &service,
        TestRequest::get().uri("/provider?pkce=1").to_request(),
    )
    .await;
    let back = provider_redirect(&location(&response).unwrap(), "").await;
    let response =
        test::call_service(&service, TestRequest::get().uri(local(&back)).to_request()).await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/signin?error=missing-verifier")
    );
    assert!(set_cookies(&response).is_empty());
}

#[actix_web::test]
async fn callback_errors_go_to_the_sign_in_page() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let response =
        test::call_service(&service, TestRequest::get().uri("/provider").to_request()).await;
    let back = provider_redirect(&location(&response).unwrap(), "provider_error=denied").await;
    assert!(back.contains("error="), "{back}");
    let response =
        test::call_service(&service, TestRequest::get().uri(local(&back)).to_request()).await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/signin?error=oauth-provider-error")
    );
    assert!(set_cookies(&response).is_empty());

    for (query, code) in [
        (
            "refreshToken=6f1c1f8e-0d7b-4e5e-9b43-2f8d1c0a7b11",
            "invalid-refresh-token",
        ),
        ("", "no-credentials"),
        ("refreshToken=a&refreshToken=b", "ambiguous-redirect"),
    ] {
        let response = test::call_service(
            &service,
            TestRequest::get()
                .uri(&format!("/auth/callback?{query}"))
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), 303);
        assert_eq!(
            location(&response),
            Some(format!("/signin?error={code}")),
            "{query}"
        );
        assert!(
            !location(&response).unwrap().contains("6f1c1f8e"),
            "no token in the URL"
        );
    }
}

#[actix_web::test]
async fn hostile_next_targets_land_on_the_home_page() {
    let h = Harness::new();
    let service = test::init_service(app(h.middleware.clone())).await;
    let hostile = [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "https:evil.example",
        "https://evil.example/",
        "HTTPS://EVIL.example",
        "HtTpS:%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "%2f%2fevil.example",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        "/\r\n/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ];
    for next in hostile {
        let session = h.direct_session().await;
        let token = session.refresh_token.expose_secret().to_owned();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .append_pair("refreshToken", &token)
            .finish();
        let response = test::call_service(
            &service,
            TestRequest::get()
                .uri(&format!("/auth/callback?{query}"))
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(location(&response).as_deref(), Some("/"), "{next:?}");
        assert!(
            next_cookie(None, &response).is_some(),
            "{next:?}: signed in all the same"
        );
    }

    // A same-site target is kept, minus any sign-in parameter.
    let session = h.direct_session().await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", "/me?tab=2&refreshToken=leak")
        .append_pair("refreshToken", session.refresh_token.expose_secret())
        .finish();
    let response = test::call_service(
        &service,
        TestRequest::get()
            .uri(&format!("/auth/callback?{query}"))
            .to_request(),
    )
    .await;
    assert_eq!(location(&response).as_deref(), Some("/me?tab=2"));
}
