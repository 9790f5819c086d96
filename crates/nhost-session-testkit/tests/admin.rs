//! The admin API over HTTP, the handle's helpers, reset, and starting from every kind of
//! caller (sync code, current-thread and multi-thread runtimes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use nhost_session_testkit::{FakeAuthServer, Fault, SeedUser, Stats};
use serde_json::{Value, json};

async fn admin_post(server: &FakeAuthServer, path: &str, body: Value) -> Answer {
    let response = client()
        .post(format!("{}{path}", server.admin_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

#[tokio::test]
async fn config_describes_the_server() {
    let server = server();
    let answer = get_url(&format!("{}/config", server.admin_url()), None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["baseUrl"], server.base_url());
    assert_eq!(answer.json["graphqlUrl"], server.graphql_url());
    assert_eq!(answer.json["jwtAlgorithm"], "RS256");
    assert_eq!(answer.json["rotation"], "strict");
    assert_eq!(answer.json["hasuraJwtSecret"], server.hasura_jwt_secret());
    assert!(
        answer.json["publicKeyPem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.graphql_url().ends_with("/v1/graphql"));
}

#[tokio::test]
async fn stats_over_http_match_the_handle() {
    let server = server();
    let session = sign_in(&server).await;
    refresh(&server, session["refreshToken"].as_str().unwrap()).await;
    refresh(&server, session["refreshToken"].as_str().unwrap()).await;
    let answer = get_url(&format!("{}/stats", server.admin_url()), None).await;
    let stats: Stats = serde_json::from_value(answer.json.clone()).unwrap();
    assert_eq!(stats, server.stats());
    assert_eq!(answer.json["tokenCalls"], 2);
    assert_eq!(answer.json["reuseRejections"], 1);
    assert_eq!(
        answer.json["calls"]["/v1/token"],
        json!({ "200": 1, "401": 1 })
    );
    assert!(
        answer.json["calls"].get("/__admin/stats").is_none(),
        "admin calls not counted"
    );
}

#[tokio::test]
async fn time_advance_over_http_expires_tokens() {
    let server = server();
    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();
    let before = get_url(&format!("{}/time", server.admin_url()), None).await;
    let answer = admin_post(&server, "/time/advance", json!({ "seconds": 900 })).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["offsetMs"], 900_000);
    assert!(answer.json["now"].as_i64().unwrap() >= before.json["now"].as_i64().unwrap() + 900);
    assert_eq!(get(&server, "/user", Some(token)).await.status, 401);
    let answer = admin_post(&server, "/time/advance", json!({ "ms": 500 })).await;
    assert_eq!(answer.json["offsetMs"], 900_500);
    let bad = admin_post(&server, "/time/advance", json!({})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn reset_brings_back_the_seeded_state() {
    let server = server();
    let session = sign_in(&server).await;
    post(
        &server,
        "/signup/email-password",
        json!({ "email": "new@example.com", "password": "secret-pw" }),
    )
    .await;
    post(&server, "/signin/otp/email", json!({ "email": EMAIL })).await;
    server.inject(Fault::on("/token").status(500));
    server.advance(Duration::from_secs(60));
    server.rotate_signing_key();

    let answer = admin_post(&server, "/reset", json!({})).await;
    assert_eq!(answer.json, json!("OK"));
    assert!(server.user_by_email("new@example.com").is_none());
    assert!(server.user_by_email(EMAIL).is_some());
    assert!(server.outbox().is_empty());
    assert!(server.faults().is_empty());
    assert_eq!(server.clock().offset(), Duration::ZERO);
    assert_eq!(server.stats(), Stats::default());
    assert_eq!(
        refresh(&server, session["refreshToken"].as_str().unwrap())
            .await
            .status,
        401
    );
    let jwks = get(&server, "/.well-known/jwks.json", None).await;
    assert_eq!(jwks.json["keys"].as_array().unwrap().len(), 1);
    sign_in(&server).await;
}

#[tokio::test]
async fn users_over_http_and_through_the_handle() {
    let server = server();
    let answer = admin_post(
        &server,
        "/users",
        json!({ "email": "zoe@example.com", "password": "pw-zoe", "displayName": "Zoe",
                "metadata": { "team": "a" }, "customClaims": { "organisation-ids": ["o1"] } }),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.json["displayName"], "Zoe");
    let session = sign_in_as(&server, "zoe@example.com", "pw-zoe").await;
    assert_eq!(session["user"]["metadata"], json!({ "team": "a" }));
    let (_, payload) = jwt_parts(session["accessToken"].as_str().unwrap());
    assert_eq!(
        payload["https://hasura.io/jwt/claims"]["x-hasura-organisation-ids"],
        r#"{"o1"}"#
    );
    let again = admin_post(&server, "/users", json!({ "email": "zoe@example.com" })).await;
    assert_eq!(again.status, 409);

    let created = server
        .create_user(SeedUser::new("yan@example.com", "pw-yan").allowed_roles(["user", "editor"]))
        .unwrap();
    assert_eq!(created.roles, ["user", "editor"]);
    assert!(
        server
            .create_user(SeedUser::new("yan@example.com", "x"))
            .is_err()
    );
    let listed = get_url(&format!("{}/users", server.admin_url()), None).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 3);
    assert_eq!(
        server.user(&created.id).unwrap().email.as_deref(),
        Some("yan@example.com")
    );
}

#[tokio::test]
async fn totp_and_id_token_helpers_over_http() {
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let server = server();
    let answer = get_url(
        &format!("{}/totp?secret={secret}", server.admin_url()),
        None,
    )
    .await;
    assert_eq!(answer.json["code"], server.totp_code(secret).unwrap());
    let bad = get_url(&format!("{}/totp?secret=1", server.admin_url()), None).await;
    assert_eq!(bad.status, 400);

    let answer = admin_post(
        &server,
        "/id-token",
        json!({ "provider": "apple", "email": "ann@example.com" }),
    )
    .await;
    let id_token = answer.json["idToken"].as_str().unwrap();
    let answer = post(
        &server,
        "/signin/idtoken",
        json!({ "provider": "apple", "idToken": id_token }),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["session"]["user"]["email"], "ann@example.com");
}

#[test]
fn starts_and_stops_from_plain_sync_code() {
    let server = FakeAuthServer::start().unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert!(std::net::TcpStream::connect(addr).is_ok());
    server.shutdown();
    // Once shut down, nothing accepts on the port.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_a_current_thread_runtime_and_drops_there() {
    let server = server();
    let session = sign_in(&server).await;
    assert!(is_uuid(&session["refreshToken"]));
    drop(server);
}

#[test]
fn two_servers_side_by_side_are_independent() {
    let a = FakeAuthServer::start().unwrap();
    let b = FakeAuthServer::builder().worker_threads(1).start().unwrap();
    assert_ne!(a.addr(), b.addr());
    a.advance(Duration::from_secs(10));
    assert_eq!(b.clock().offset(), Duration::ZERO);
}
