//! Fault injection: canned answers, delays, dropped and reset connections, commit-then-drop,
//! over the Rust handle and over the admin API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use nhost_session_testkit::{FakeAuthServer, Fault, FaultAction, SeedUser};
use serde_json::{Value, json};

/// A POST over a raw socket: every byte the server sent before closing, or the read error.
fn raw_post(server: &FakeAuthServer, path: &str, body: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server.addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

fn refresh_body(token: &str) -> String {
    json!({ "refreshToken": token }).to_string()
}

async fn signed_in() -> (FakeAuthServer, String) {
    let server = server();
    let session = sign_in(&server).await;
    let token = session["refreshToken"].as_str().unwrap().to_owned();
    (server, token)
}

#[tokio::test]
async fn canned_answers_do_not_touch_state() {
    let (server, token) = signed_in().await;
    server.inject(Fault::on("/token").status(503));
    let answer = refresh(&server, &token).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.json["status"], 503);
    assert_eq!(answer.json["error"], "service-unavailable");
    // The token was not used up.
    assert_eq!(refresh(&server, &token).await.status, 200);
    let stats = server.stats();
    assert_eq!(stats.calls_with("/v1/token", "503"), 1);
    assert_eq!(stats.calls_with("/v1/token", "200"), 1);
    assert_eq!(stats.token_calls, 2);
}

#[tokio::test]
async fn gateway_errors_html_truncated_json_and_wrong_content_type() {
    let (server, token) = signed_in().await;
    server.inject(Fault::on("/token").status(500));
    server.inject(Fault::on("/token").status(502));
    server.inject(Fault::on("/token").status(504));
    server.inject(
        Fault::on("/token")
            .respond(502, "<html><body>Bad Gateway</body></html>")
            .content_type("text/html"),
    );
    server.inject(Fault::on("/token").respond(200, r#"{"accessToken":"eyJ"#));
    server.inject(
        Fault::on("/token")
            .respond(200, r#"{"accessToken":"x"}"#)
            .content_type("text/plain"),
    );

    let answer = refresh(&server, &token).await;
    assert_eq!(
        (answer.status, answer.json["error"].clone()),
        (500, json!("internal-server-error"))
    );
    assert_eq!(refresh(&server, &token).await.status, 502);
    assert_eq!(refresh(&server, &token).await.status, 504);

    let html = refresh(&server, &token).await;
    assert_eq!(html.status, 502);
    assert_eq!(html.headers["content-type"], "text/html");
    assert_eq!(html.text, "<html><body>Bad Gateway</body></html>");

    let truncated = refresh(&server, &token).await;
    assert_eq!(truncated.status, 200);
    assert_eq!(truncated.json, Value::Null, "does not parse");
    assert_eq!(truncated.headers["content-type"], "application/json");

    let plain = refresh(&server, &token).await;
    assert_eq!(plain.headers["content-type"], "text/plain");

    assert!(server.faults().is_empty());
    assert_eq!(
        refresh(&server, &token).await.status,
        200,
        "the token survived all of it"
    );
}

#[tokio::test]
async fn rate_limited_is_429_with_an_empty_body() {
    let (server, token) = signed_in().await;
    server.inject(Fault::on("/token").rate_limited().times(2));
    for _ in 0..2 {
        let answer = refresh(&server, &token).await;
        assert_eq!(answer.status, 429);
        assert!(answer.text.is_empty());
        assert!(answer.headers.get("content-type").is_none());
    }
    assert_eq!(
        refresh(&server, &token).await.status,
        200,
        "only the next two calls"
    );
}

#[tokio::test]
async fn faults_match_method_and_path() {
    let (server, token) = signed_in().await;
    server.inject(Fault::on("/token").method("GET").status(500));
    assert_eq!(
        refresh(&server, &token).await.status,
        200,
        "POST is not GET"
    );
    server.clear_faults();
    server.inject(Fault::on("/v1/user").status(503));
    assert_eq!(
        get(&server, "/user", None).await.status,
        503,
        "absolute path"
    );
}

#[tokio::test]
async fn delays_hold_the_answer_back() {
    let (server, token) = signed_in().await;
    server.inject(Fault::on("/token").delay(Duration::from_millis(300)));
    let started = Instant::now();
    let answer = refresh(&server, &token).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer.status, 200, "a pure delay then proceeds");

    server.inject(
        Fault::on("/token")
            .delay(Duration::from_millis(200))
            .status(503),
    );
    let started = Instant::now();
    let answer = refresh(&server, answer.json["refreshToken"].as_str().unwrap()).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(answer.status, 503);
}

#[tokio::test]
async fn configured_latency_applies_to_every_api_call_but_not_admin() {
    let server = FakeAuthServer::builder()
        .latency(Duration::from_millis(150))
        .start()
        .unwrap();
    let started = Instant::now();
    assert_eq!(get(&server, "/healthz", None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let answer = get_url(&format!("{}/stats", server.admin_url()), None).await;
    assert_eq!(answer.status, 200);
    assert!(answer.json["calls"]["/v1/healthz"].is_object());
}

#[test]
fn drop_closes_the_connection_without_a_byte() {
    let server = server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = runtime.block_on(async {
        sign_in(&server).await["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    server.inject(Fault::on("/token").drop_connection());
    let answer = raw_post(&server, "/v1/token", &refresh_body(&token)).unwrap();
    assert!(
        answer.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&answer)
    );
    // Nothing happened to the token.
    let answer = raw_post(&server, "/v1/token", &refresh_body(&token)).unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    let stats = server.stats();
    assert_eq!(stats.calls_with("/v1/token", "dropped"), 1);
    assert_eq!(stats.dropped_connections, 1);
}

#[test]
fn reset_aborts_the_connection() {
    let server = server();
    server.inject(Fault::on("/healthz").reset_connection());
    let error = raw_post(&server, "/v1/healthz", "{}").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
    assert!(
        raw_post(&server, "/v1/healthz", "{}").is_ok(),
        "the next call is fine"
    );
}

#[tokio::test]
async fn a_dropped_answer_is_an_error_for_an_http_client() {
    let (server, token) = signed_in().await;
    server.inject(Fault::on("/token").drop_connection());
    let result = client()
        .post(format!("{}/token", server.base_url()))
        .json(&json!({ "refreshToken": token }))
        .send()
        .await;
    assert!(result.is_err());
    assert_eq!(refresh(&server, &token).await.status, 200);
}

#[test]
fn commit_then_drop_rotates_and_loses_the_new_token() {
    let server = server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = runtime.block_on(sign_in(&server));
    let token = session["refreshToken"].as_str().unwrap().to_owned();
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();

    server.inject(Fault::on("/token").commit_then_drop());
    let answer = raw_post(&server, "/v1/token", &refresh_body(&token)).unwrap();
    assert!(answer.is_empty(), "no answer at all");

    // The rotation happened: the old token is dead, and its reuse is counted.
    let replay = raw_post(&server, "/v1/token", &refresh_body(&token)).unwrap();
    let replay = String::from_utf8_lossy(&replay);
    assert!(replay.starts_with("HTTP/1.1 401"), "{replay}");
    assert!(replay.contains("invalid-refresh-token"));
    let stats = server.stats();
    assert_eq!(
        stats.refresh_tokens_issued, 2,
        "sign-in + the lost rotation"
    );
    assert_eq!(stats.reuse_rejections, 1);
    assert_eq!(stats.calls_with("/v1/token", "dropped"), 1);
    assert_eq!(
        server.active_sessions(&user_id),
        1,
        "a session only the server knows"
    );
}

#[tokio::test]
async fn faults_over_the_admin_api() {
    let (server, token) = signed_in().await;
    let admin = server.admin_url();
    let response = client()
        .post(format!("{admin}/faults"))
        .json(&json!([
            { "path": "/token", "action": "respond", "status": 429 },
            { "path": "/token", "action": "respond", "status": 503,
              "body": "<h1>down</h1>", "contentType": "text/html", "times": 2 }
        ]))
        .send()
        .await
        .unwrap();
    let armed = Answer::from(response).await;
    assert_eq!(armed.json, json!({ "armed": 2 }));
    let listed = get_url(&format!("{admin}/faults"), None).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 2);
    assert_eq!(listed.json[1]["action"], "respond");
    assert_eq!(listed.json[1]["times"], 2);

    assert_eq!(refresh(&server, &token).await.status, 429);
    let html = refresh(&server, &token).await;
    assert_eq!((html.status, html.text.as_str()), (503, "<h1>down</h1>"));

    let cleared = client()
        .delete(format!("{admin}/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert!(server.faults().is_empty());
    assert_eq!(refresh(&server, &token).await.status, 200);

    let response = client()
        .post(format!("{admin}/faults"))
        .json(&json!({ "path": "/token", "action": "commitThenDrop" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.faults()[0].action, FaultAction::CommitThenDrop);

    let bad = client()
        .post(format!("{admin}/faults"))
        .json(&json!({ "path": "/token", "action": "explode" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn faults_on_sign_in_paths_too() {
    let server = FakeAuthServer::builder()
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    server.inject(Fault::on("/signin/email-password").status(500));
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": EMAIL, "password": PASSWORD }),
    )
    .await;
    assert_eq!(answer.status, 500);
    assert_eq!(server.stats().sessions_created, 0);
}
