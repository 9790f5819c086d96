//! Magic links, e-mail and SMS one-time codes, OAuth through the fake provider, PKCE.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use nhost_session_testkit::{FakeAuthServer, MessageKind, SeedUser};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn magic_link_redirects_with_a_refresh_token() {
    let server = server();
    let answer = post(
        &server,
        "/signin/passwordless/email",
        json!({ "email": "mia@example.com",
                "options": { "redirectTo": "http://localhost:3000/welcome?x=1" } }),
    )
    .await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));
    let message = server.last_message_to("mia@example.com").unwrap();
    assert_eq!(message.kind, MessageKind::MagicLink);
    let link = message.link.unwrap();
    assert!(
        link.starts_with(&format!("{}/verify?", server.base_url())),
        "{link}"
    );
    assert_eq!(
        query_param(&link, "type").as_deref(),
        Some("signinPasswordless")
    );
    assert!(
        query_param(&link, "ticket")
            .unwrap()
            .starts_with("passwordlessEmail:")
    );

    let answer = get_url(&link, None).await;
    assert_eq!(answer.status, 302);
    let location = answer.location();
    assert!(
        location.starts_with("http://localhost:3000/welcome?x=1&refreshToken="),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "type").as_deref(),
        Some("signinPasswordless")
    );
    let token = query_param(&location, "refreshToken").unwrap();
    assert!(is_uuid(&json!(token)));
    // An ordinary rotating token.
    let fresh = refresh(&server, &token).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.json["user"]["email"], "mia@example.com");
    assert_eq!(fresh.json["user"]["emailVerified"], true);
    assert_eq!(refresh(&server, &token).await.status, 401);

    // The link is single-use.
    let again = get_url(&link, None).await;
    assert_eq!(again.status, 302);
    let location = again.location();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid-ticket")
    );
    assert!(query_param(&location, "errorDescription").is_some());
}

#[tokio::test]
async fn magic_links_expire_and_verify_needs_redirect_to() {
    let server = server();
    post(
        &server,
        "/signin/passwordless/email",
        json!({ "email": EMAIL }),
    )
    .await;
    let link = server.last_message_to(EMAIL).unwrap().link.unwrap();
    assert_eq!(
        query_param(&link, "redirectTo").as_deref(),
        Some("http://localhost:3000"),
        "defaults to the client URL"
    );
    server.advance(Duration::from_secs(3601));
    let answer = get_url(&link, None).await;
    assert_eq!(
        query_param(&answer.location(), "error").as_deref(),
        Some("invalid-ticket")
    );

    let answer = get(&server, "/verify?ticket=passwordlessEmail:x", None).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.json["error"]
            .as_str()
            .unwrap()
            .starts_with("error in openapi3filter")
    );
}

#[tokio::test]
async fn email_otp_sign_in() {
    let server = server();
    let answer = post(
        &server,
        "/signin/otp/email",
        json!({ "email": "otto@example.com" }),
    )
    .await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));
    let message = server.last_message_to("otto@example.com").unwrap();
    assert_eq!(message.kind, MessageKind::EmailOtp);
    let code = message.code.unwrap();
    assert_eq!(code.len(), 6);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answer = post(
        &server,
        "/signin/otp/email/verify",
        json!({ "email": "otto@example.com", "otp": wrong }),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json["error"], "invalid-otp");

    let answer = post(
        &server,
        "/signin/otp/email/verify",
        json!({ "email": "otto@example.com", "otp": code }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["session"]["user"]["email"], "otto@example.com");
    assert!(answer.json.get("mfa").is_none());
    let again = post(
        &server,
        "/signin/otp/email/verify",
        json!({ "email": "otto@example.com", "otp": code }),
    )
    .await;
    assert_eq!(again.json["error"], "invalid-otp", "single use");
}

#[tokio::test]
async fn sms_otp_sign_in_creates_a_phone_user() {
    let server = server();
    let phone = "+15555550123";
    let answer = post(
        &server,
        "/signin/passwordless/sms",
        json!({ "phoneNumber": phone }),
    )
    .await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));
    let message = server.last_message_to(phone).unwrap();
    assert_eq!(message.kind, MessageKind::SmsOtp);
    let code = message.code.unwrap();

    server.advance(Duration::from_secs(4 * 60));
    let answer = post(
        &server,
        "/signin/passwordless/sms/otp",
        json!({ "phoneNumber": phone, "otp": code }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let user = &answer.json["session"]["user"];
    assert_eq!(user["phoneNumber"], phone);
    assert_eq!(user["phoneNumberVerified"], true);
    assert!(user.get("email").is_none());
    assert_eq!(user["displayName"], phone);

    post(
        &server,
        "/signin/passwordless/sms",
        json!({ "phoneNumber": phone }),
    )
    .await;
    let code = server.last_message_to(phone).unwrap().code.unwrap();
    server.advance(Duration::from_secs(5 * 60));
    let answer = post(
        &server,
        "/signin/passwordless/sms/otp",
        json!({ "phoneNumber": phone, "otp": code }),
    )
    .await;
    assert_eq!(answer.json["error"], "invalid-otp", "codes live 5 minutes");
}

#[tokio::test]
async fn sms_otp_answers_an_mfa_challenge_for_totp_users() {
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let phone = "+15555550199";
    let server = FakeAuthServer::builder()
        .seed_user(
            SeedUser::new(EMAIL, PASSWORD)
                .phone_number(phone)
                .totp_secret(secret),
        )
        .start()
        .unwrap();
    post(
        &server,
        "/signin/passwordless/sms",
        json!({ "phoneNumber": phone }),
    )
    .await;
    let code = server.last_message_to(phone).unwrap().code.unwrap();
    let answer = post(
        &server,
        "/signin/passwordless/sms/otp",
        json!({ "phoneNumber": phone, "otp": code }),
    )
    .await;
    assert_eq!(answer.json["session"], Value::Null);
    let ticket = answer.json["mfa"]["ticket"].as_str().unwrap();
    let answer = post(
        &server,
        "/signin/mfa/totp",
        json!({ "ticket": ticket, "otp": server.totp_code(secret).unwrap() }),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["session"]["user"]["email"], EMAIL);
}

/// Follows the redirects of a provider sign-in until they leave the server.
async fn follow(server: &FakeAuthServer, mut url: String) -> String {
    for _ in 0..5 {
        let answer = get_url(&url, None).await;
        assert_eq!(answer.status, 302, "{url}: {}", answer.text);
        url = answer.location();
        if !url.starts_with(&server.origin()) {
            return url;
        }
    }
    panic!("too many redirects");
}

#[tokio::test]
async fn provider_sign_in_ends_with_a_refresh_token() {
    let server = server();
    let start = format!(
        "{}/signin/provider/github?redirectTo={}",
        server.base_url(),
        "http%3A%2F%2Flocalhost%3A3000%2Fcallback"
    );
    let first = get_url(&start, None).await;
    assert_eq!(first.status, 302);
    assert!(
        first
            .location()
            .starts_with(&format!("{}/__provider/github/authorize?", server.origin()))
    );

    let end = follow(&server, start).await;
    assert!(
        end.starts_with("http://localhost:3000/callback?refreshToken="),
        "{end}"
    );
    let token = query_param(&end, "refreshToken").unwrap();
    let session = refresh(&server, &token).await;
    assert_eq!(session.status, 200);
    assert_eq!(session.json["user"]["email"], "github-user@example.com");

    // login_hint picks the user; the second sign-in finds the same one.
    let start = format!(
        "{}/signin/provider/google?redirectTo=http://localhost:3000/cb&login_hint=hint@example.com",
        server.base_url()
    );
    let end = follow(&server, start.clone()).await;
    let first = refresh(&server, &query_param(&end, "refreshToken").unwrap()).await;
    assert_eq!(first.json["user"]["email"], "hint@example.com");
    let end = follow(&server, start).await;
    let second = refresh(&server, &query_param(&end, "refreshToken").unwrap()).await;
    assert_eq!(second.json["user"]["id"], first.json["user"]["id"]);
}

#[tokio::test]
async fn provider_sign_in_with_pkce_gives_a_code_to_exchange() {
    let server = server();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let start = format!(
        "{}/signin/provider/github?redirectTo=http://localhost:3000/cb&codeChallenge={challenge}&codeChallengeMethod=S256",
        server.base_url()
    );
    let end = follow(&server, start.clone()).await;
    assert!(query_param(&end, "refreshToken").is_none());
    let code = query_param(&end, "code").unwrap();

    let bad = post(
        &server,
        "/token/exchange",
        json!({ "code": code, "codeVerifier": "wrong-verifier" }),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["error"], "invalid-request");
    // A failed attempt uses the code up.
    let again = post(
        &server,
        "/token/exchange",
        json!({ "code": code, "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(again.status, 400);

    let end = follow(&server, start).await;
    let code = query_param(&end, "code").unwrap();
    let answer = post(
        &server,
        "/token/exchange",
        json!({ "code": code, "codeVerifier": verifier }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(is_uuid(&answer.json["session"]["refreshToken"]));
    assert_eq!(
        answer.json["session"]["user"]["email"],
        "github-user@example.com"
    );
}

#[tokio::test]
async fn provider_errors_come_back_as_query_parameters() {
    let server = server();
    let start = format!(
        "{}/signin/provider/github?redirectTo=http://localhost:3000/cb&provider_error=user%20said%20no",
        server.base_url()
    );
    let end = follow(&server, start).await;
    assert!(end.starts_with("http://localhost:3000/cb?"), "{end}");
    assert_eq!(
        query_param(&end, "error").as_deref(),
        Some("oauth-provider-error")
    );
    assert!(query_param(&end, "errorDescription").is_some());

    // A callback with an unknown state.
    let answer = get(
        &server,
        "/signin/provider/github/callback?code=x&state=nope",
        None,
    )
    .await;
    assert_eq!(answer.status, 302);
    assert_eq!(
        query_param(&answer.location(), "error").as_deref(),
        Some("invalid-state")
    );

    // An unknown provider fails validation.
    let answer = get(
        &server,
        "/signin/provider/myspace?redirectTo=http://x.test/",
        None,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.json.get("status").is_none());
}

#[tokio::test]
async fn admin_outbox_over_http() {
    let server = server();
    post(
        &server,
        "/signin/otp/email",
        json!({ "email": "http@example.com" }),
    )
    .await;
    let answer = get_url(&format!("{}/outbox", server.admin_url()), None).await;
    assert_eq!(answer.status, 200);
    let messages = answer.json.as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "emailOtp");
    assert_eq!(messages[0]["to"], "http@example.com");
    assert_eq!(messages[0]["code"].as_str().unwrap().len(), 6);
    let cleared = client()
        .delete(format!("{}/outbox", server.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert!(server.outbox().is_empty());
}
