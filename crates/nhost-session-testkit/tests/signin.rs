//! Sign-up, sign-in and the objects they answer, checked against protocol.md over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use nhost_session_testkit::{FakeAuthServer, SeedUser};
use serde_json::{Value, json};

#[tokio::test]
async fn sign_up_answers_a_wrapped_session_with_the_real_shapes() {
    let server = server();
    let answer = post(
        &server,
        "/signup/email-password",
        json!({ "email": "bob@example.com", "password": "secret-pw" }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.headers["content-type"].to_str().unwrap(),
        "application/json"
    );
    let keys: Vec<_> = answer.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["session"]);
    let session = &answer.json["session"];
    assert_eq!(session["accessTokenExpiresIn"], 900);
    assert!(is_uuid(&session["refreshToken"]));
    assert!(is_uuid(&session["refreshTokenId"]));
    assert_ne!(session["refreshToken"], session["refreshTokenId"]);
    let user = &session["user"];
    assert!(is_uuid(&user["id"]));
    assert_eq!(user["email"], "bob@example.com");
    assert_eq!(user["displayName"], "bob@example.com");
    assert_eq!(user["avatarUrl"], "");
    assert_eq!(user["locale"], "en");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["phoneNumberVerified"], false);
    assert!(user.get("phoneNumber").is_none(), "no phone: field absent");
    assert_eq!(user["isAnonymous"], false);
    assert_eq!(user["defaultRole"], "user");
    assert_eq!(user["roles"], json!(["user", "me"]));
    assert_eq!(
        user["metadata"],
        Value::Null,
        "plain sign-up: metadata null"
    );
    assert_eq!(user["activeMfaType"], Value::Null);
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn sign_up_options_and_their_checks() {
    let server = server();
    let answer = post(
        &server,
        "/signup/email-password",
        json!({
            "email": "carol@example.com",
            "password": "secret-pw",
            "options": {
                "displayName": "Carol",
                "locale": "en",
                "metadata": { "plan": "pro" },
                "defaultRole": "me",
                "allowedRoles": ["me"]
            }
        }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let user = &answer.json["session"]["user"];
    assert_eq!(user["displayName"], "Carol");
    assert_eq!(user["metadata"], json!({ "plan": "pro" }));
    assert_eq!(user["defaultRole"], "me");
    assert_eq!(user["roles"], json!(["me"]));

    let answer = post(
        &server,
        "/signup/email-password",
        json!({ "email": "dan@example.com", "password": "secret-pw",
                "options": { "allowedRoles": ["admin"] } }),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json["error"], "role-not-allowed");

    let answer = post(
        &server,
        "/signup/email-password",
        json!({ "email": "dan@example.com", "password": "secret-pw",
                "options": { "locale": "fr" } }),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json["error"], "locale-not-allowed");
}

#[tokio::test]
async fn duplicate_sign_up_is_409_email_already_in_use() {
    let server = server();
    let answer = post(
        &server,
        "/signup/email-password",
        json!({ "email": "ALICE@example.com", "password": "whatever" }),
    )
    .await;
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.json,
        json!({ "status": 409, "error": "email-already-in-use", "message": "Email already in use" })
    );
}

#[tokio::test]
async fn sign_in_and_wrong_password() {
    let server = server();
    let session = sign_in(&server).await;
    assert_eq!(session["user"]["displayName"], "Alice");
    assert_eq!(session["user"]["emailVerified"], true);

    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": EMAIL, "password": "wrong-password" }),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json,
        json!({ "status": 401, "error": "invalid-email-password",
                "message": "Incorrect email or password" })
    );
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": "nobody@example.com", "password": "whatever" }),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "invalid-email-password");
}

#[tokio::test]
async fn request_validation_failures_have_the_validation_shape() {
    let server = server();
    // An unknown field (additionalProperties: false).
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": EMAIL, "password": PASSWORD, "extra": 1 }),
    )
    .await;
    assert_eq!(answer.status, 400);
    let error = answer.json["error"].as_str().unwrap();
    assert!(
        error.starts_with("error in openapi3filter.RequestError: "),
        "{error}"
    );
    assert!(answer.json.get("status").is_none() && answer.json.get("message").is_none());
    // A bad e-mail.
    let answer = post(
        &server,
        "/signup/email-password",
        json!({ "email": "not-an-email", "password": "secret-pw" }),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.json["error"].as_str().unwrap().contains("\"email\""));
    // No content type.
    let response = client()
        .post(format!("{}/token", server.base_url()))
        .body(r#"{"refreshToken":"2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24"}"#)
        .send()
        .await
        .unwrap();
    let answer = Answer::from(response).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.json["error"]
            .as_str()
            .unwrap()
            .contains("Content-Type")
    );
}

#[tokio::test]
async fn access_token_claims_and_header() {
    let server = FakeAuthServer::builder()
        .seed_user(
            SeedUser::new(EMAIL, PASSWORD)
                .custom_claim("organisation-ids", json!(["org-1", "org-2"]))
                .custom_claim("plan", "pro"),
        )
        .start()
        .unwrap();
    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();
    let (header, payload) = jwt_parts(token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], nhost_session_testkit::keys::PRIMARY_KID);
    let user_id = session["user"]["id"].as_str().unwrap();
    assert_eq!(payload["sub"], user_id);
    assert_eq!(payload["iss"], "hasura-auth");
    let iat = payload["iat"].as_i64().unwrap();
    assert_eq!(payload["exp"].as_i64().unwrap() - iat, 900);
    let claims = &payload["https://hasura.io/jwt/claims"];
    assert_eq!(claims["x-hasura-user-id"], user_id);
    assert_eq!(claims["x-hasura-default-role"], "user");
    assert_eq!(claims["x-hasura-allowed-roles"], json!(["user", "me"]));
    assert_eq!(claims["x-hasura-user-is-anonymous"], "false");
    assert_eq!(claims["x-hasura-organisation-ids"], r#"{"org-1","org-2"}"#);
    assert_eq!(claims["x-hasura-plan"], "pro");
}

#[tokio::test]
async fn default_custom_claim_is_an_empty_postgres_array() {
    let server = server();
    let session = sign_in(&server).await;
    let (_, payload) = jwt_parts(session["accessToken"].as_str().unwrap());
    assert_eq!(
        payload["https://hasura.io/jwt/claims"]["x-hasura-organisation-ids"],
        "{}"
    );
}

#[tokio::test]
async fn access_token_ttl_is_configurable() {
    let server = FakeAuthServer::builder()
        .access_token_ttl(Duration::from_secs(60))
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    let session = sign_in(&server).await;
    assert_eq!(session["accessTokenExpiresIn"], 60);
    let (_, payload) = jwt_parts(session["accessToken"].as_str().unwrap());
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        60
    );
}

#[tokio::test]
async fn anonymous_sign_in_with_and_without_a_body() {
    let server = server();
    let response = client()
        .post(format!("{}/signin/anonymous", server.base_url()))
        .send()
        .await
        .unwrap();
    let answer = Answer::from(response).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let user = &answer.json["session"]["user"];
    assert_eq!(user["isAnonymous"], true);
    assert!(
        user.get("email").is_none(),
        "anonymous users have no email field"
    );
    assert_eq!(user["defaultRole"], "anonymous");
    assert_eq!(user["roles"], json!(["anonymous"]));
    let (_, payload) = jwt_parts(answer.json["session"]["accessToken"].as_str().unwrap());
    let claims = &payload["https://hasura.io/jwt/claims"];
    assert_eq!(claims["x-hasura-user-is-anonymous"], "true");
    assert_eq!(claims["x-hasura-default-role"], "anonymous");

    let answer = post(
        &server,
        "/signin/anonymous",
        json!({ "displayName": "Guest", "locale": "en", "metadata": { "a": 1 } }),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["session"]["user"]["displayName"], "Guest");
    assert_eq!(
        answer.json["session"]["user"]["metadata"],
        json!({ "a": 1 })
    );

    let answer = post(&server, "/signin/anonymous", json!({})).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn anonymous_sign_in_can_be_turned_off() {
    let server = FakeAuthServer::builder()
        .anonymous_users(false)
        .start()
        .unwrap();
    let answer = post(&server, "/signin/anonymous", json!({})).await;
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.json,
        json!({ "status": 409, "error": "disabled-endpoint", "message": "This endpoint is disabled" })
    );
}

#[tokio::test]
async fn get_user_with_good_missing_and_expired_bearers() {
    let server = server();
    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();
    let answer = get(&server, "/user", Some(token)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["email"], EMAIL);
    assert_eq!(answer.json["activeMfaType"], Value::Null);
    assert_eq!(answer.json["id"], session["user"]["id"]);

    let answer = get(&server, "/user", None).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.json["error"]
            .as_str()
            .unwrap()
            .starts_with("error in openapi3filter.RequestError: ")
    );
    assert!(answer.json.get("status").is_none());

    let answer = get(&server, "/user", Some("not.a.jwt")).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "unauthorized");
    assert_eq!(answer.json["securityScheme"], "BearerAuth");

    server.advance(Duration::from_secs(900));
    let answer = get(&server, "/user", Some(token)).await;
    assert_eq!(answer.status, 401, "no leeway: expired at exactly exp");
    assert_eq!(answer.json["error"], "unauthorized");
    assert!(answer.json["reason"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn totp_mfa_set_up_and_sign_in() {
    let server = server();
    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();

    let answer = get(&server, "/mfa/totp/generate", Some(token)).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.json["imageUrl"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    let secret = answer.json["totpSecret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32);

    let wrong = post_bearer(
        &server,
        "/user/mfa",
        json!({ "code": "000000", "activeMfaType": "totp" }),
        Some(token),
    )
    .await;
    // One chance in a million that 000000 is right.
    if server.totp_code(&secret).as_deref() != Some("000000") {
        assert_eq!(wrong.status, 401);
        assert_eq!(wrong.json["error"], "invalid-totp");
    }
    let code = server.totp_code(&secret).unwrap();
    let answer = post_bearer(
        &server,
        "/user/mfa",
        json!({ "code": code, "activeMfaType": "totp" }),
        Some(token),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json, json!("OK"));
    assert_eq!(
        get(&server, "/user", Some(token)).await.json["activeMfaType"],
        "totp"
    );

    // Sign-in now asks for a code.
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": EMAIL, "password": PASSWORD }),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["session"], Value::Null);
    let ticket = answer.json["mfa"]["ticket"].as_str().unwrap().to_owned();
    assert!(ticket.starts_with("mfaTotp:"));
    assert!(is_uuid(&json!(ticket.trim_start_matches("mfaTotp:"))));

    let bad_ticket = post(
        &server,
        "/signin/mfa/totp",
        json!({ "ticket": "mfaTotp:2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24", "otp": code }),
    )
    .await;
    assert_eq!(bad_ticket.status, 401);
    assert_eq!(bad_ticket.json["error"], "invalid-ticket");

    let code = server.totp_code(&secret).unwrap();
    let wrong_code = if code == "123456" { "654321" } else { "123456" };
    let answer = post(
        &server,
        "/signin/mfa/totp",
        json!({ "ticket": ticket, "otp": wrong_code }),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "invalid-totp");

    let answer = post(
        &server,
        "/signin/mfa/totp",
        json!({ "ticket": ticket, "otp": code }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(is_uuid(&answer.json["session"]["refreshToken"]));
    // The ticket was used up.
    let again = post(
        &server,
        "/signin/mfa/totp",
        json!({ "ticket": ticket, "otp": code }),
    )
    .await;
    assert_eq!(again.json["error"], "invalid-ticket");
}

#[tokio::test]
async fn mfa_tickets_live_five_minutes_on_the_fake_clock() {
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let server = FakeAuthServer::builder()
        .seed_user(SeedUser::new(EMAIL, PASSWORD).totp_secret(secret))
        .start()
        .unwrap();
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": EMAIL, "password": PASSWORD }),
    )
    .await;
    let ticket = answer.json["mfa"]["ticket"].as_str().unwrap().to_owned();
    server.advance(Duration::from_secs(5 * 60));
    let code = server.totp_code(secret).unwrap();
    let answer = post(
        &server,
        "/signin/mfa/totp",
        json!({ "ticket": ticket, "otp": code }),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "invalid-ticket");
}

#[tokio::test]
async fn personal_access_tokens_give_a_new_session_each_time() {
    let server = server();
    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();
    let answer = post_bearer(
        &server,
        "/pat",
        json!({ "expiresAt": "2099-01-01T00:00:00Z", "metadata": { "name": "ci" } }),
        Some(token),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(is_uuid(&answer.json["id"]));
    let pat = answer.json["personalAccessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = post(
        &server,
        "/signin/pat",
        json!({ "personalAccessToken": pat }),
    )
    .await;
    let second = post(
        &server,
        "/signin/pat",
        json!({ "personalAccessToken": pat }),
    )
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_ne!(
        first.json["session"]["refreshTokenId"],
        second.json["session"]["refreshTokenId"]
    );
    // The session is a regular one: it refreshes.
    let refreshed = refresh(
        &server,
        first.json["session"]["refreshToken"].as_str().unwrap(),
    )
    .await;
    assert_eq!(refreshed.status, 200);

    let unknown = post(
        &server,
        "/signin/pat",
        json!({ "personalAccessToken": "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24" }),
    )
    .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json["error"], "invalid-pat");

    let expired = post_bearer(
        &server,
        "/pat",
        json!({ "expiresAt": "2000-01-01T00:00:00Z" }),
        Some(token),
    )
    .await;
    let pat = expired.json["personalAccessToken"].as_str().unwrap();
    let answer = post(
        &server,
        "/signin/pat",
        json!({ "personalAccessToken": pat }),
    )
    .await;
    assert_eq!(answer.json["error"], "invalid-pat");
}

#[tokio::test]
async fn id_token_sign_in_with_the_test_provider() {
    let server = server();
    let id_token = server.id_token("google", "gina@example.com", Some("nonce-1"));
    let answer = post(
        &server,
        "/signin/idtoken",
        json!({ "provider": "google", "idToken": id_token, "nonce": "nonce-1" }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let user = &answer.json["session"]["user"];
    assert_eq!(user["email"], "gina@example.com");
    assert_eq!(user["emailVerified"], true);

    // Same person again: same user.
    let id_token = server.id_token("google", "gina@example.com", None);
    let again = post(
        &server,
        "/signin/idtoken",
        json!({ "provider": "google", "idToken": id_token }),
    )
    .await;
    assert_eq!(again.json["session"]["user"]["id"], user["id"]);

    let wrong_nonce = post(
        &server,
        "/signin/idtoken",
        json!({ "provider": "google",
                "idToken": server.id_token("google", "gina@example.com", Some("n")),
                "nonce": "other" }),
    )
    .await;
    assert_eq!(wrong_nonce.status, 400);
    assert_eq!(wrong_nonce.json["error"], "invalid-request");

    let bad_provider = post(
        &server,
        "/signin/idtoken",
        json!({ "provider": "myspace", "idToken": "x" }),
    )
    .await;
    assert_eq!(bad_provider.status, 400);
    assert!(bad_provider.json.get("status").is_none());
}

#[tokio::test]
async fn email_verification_when_required() {
    let server = FakeAuthServer::builder()
        .email_verification_required(true)
        .start()
        .unwrap();
    let answer = post(
        &server,
        "/signup/email-password",
        json!({ "email": "vic@example.com", "password": "secret-pw",
                "options": { "redirectTo": "http://localhost:3000/verified" } }),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json, json!({ "session": null }));
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": "vic@example.com", "password": "secret-pw" }),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "unverified-user");

    let link = server
        .last_message_to("vic@example.com")
        .unwrap()
        .link
        .unwrap();
    let answer = get_url(&link, None).await;
    assert_eq!(answer.status, 302);
    let location = answer.location();
    assert!(
        location.starts_with("http://localhost:3000/verified?"),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "type").as_deref(),
        Some("emailVerify")
    );
    let token = query_param(&location, "refreshToken").unwrap();
    assert_eq!(refresh(&server, &token).await.status, 200);
    assert_eq!(
        post(
            &server,
            "/signin/email-password",
            json!({ "email": "vic@example.com", "password": "secret-pw" }),
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn disabled_users_cannot_sign_in() {
    let server = FakeAuthServer::builder()
        .seed_user(SeedUser::new(EMAIL, PASSWORD).disabled(true))
        .start()
        .unwrap();
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": EMAIL, "password": PASSWORD }),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "disabled-user");
}

#[tokio::test]
async fn health_version_and_unknown_routes() {
    let server = server();
    let answer = get(&server, "/healthz", None).await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));
    let answer = get_url(&format!("{}/healthz", server.origin()), None).await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));
    let answer = get(&server, "/version", None).await;
    assert!(answer.json["version"].is_string());
    let answer = get(&server, "/no/such/route", None).await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn a_custom_api_prefix_moves_every_route() {
    let server = FakeAuthServer::builder()
        .api_prefix("/auth/v1")
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    assert!(server.base_url().ends_with("/auth/v1"));
    let session = sign_in(&server).await;
    assert_eq!(
        refresh(&server, session["refreshToken"].as_str().unwrap())
            .await
            .status,
        200
    );
    let answer = get_url(&format!("{}/v1/token", server.origin()), None).await;
    assert_eq!(answer.status, 404);
}
