//! The reqwest transport against a mock HTTP server: redirects, limits, timeouts, errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use nhost_session_core::{HttpTransport, TransportErrorKind};
use nhost_session_reqwest::ReqwestTransport;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn post(url: String, body: &str) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[tokio::test]
async fn sends_method_headers_body_and_returns_status_headers_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/token"))
        .and(header("content-type", "application/json"))
        .and(body_string(r#"{"refreshToken":"r"}"#))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("x-answer", "yes")
                .set_body_raw(r#"{"error":"invalid-refresh-token"}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let transport = ReqwestTransport::new().unwrap();
    let answer = transport
        .send(post(
            format!("{}/v1/token", server.uri()),
            r#"{"refreshToken":"r"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.headers()["x-answer"], "yes");
    assert_eq!(answer.body(), br#"{"error":"invalid-refresh-token"}"#);
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(
        sent.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("nhost-session/"),
        "{:?}",
        sent.headers
    );
}

#[tokio::test]
async fn never_follows_redirects() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/token"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/elsewhere", server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let transport = ReqwestTransport::new().unwrap();
    let answer = transport
        .send(post(format!("{}/v1/token", server.uri()), "{}"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 307);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn refuses_answers_over_the_size_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 2048]))
        .mount(&server)
        .await;
    Mock::given(path("/small"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 1024]))
        .mount(&server)
        .await;
    let transport = ReqwestTransport::builder()
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let error = transport
        .send(post(format!("{}/big", server.uri()), "{}"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Other);
    assert!(error.to_string().contains("1024"), "{error}");
    let answer = transport
        .send(post(format!("{}/small", server.uri()), "{}"))
        .await
        .unwrap();
    assert_eq!(answer.body().len(), 1024);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let transport = ReqwestTransport::builder()
        .timeout(Some(Duration::from_millis(50)))
        .build()
        .unwrap();
    let error = transport
        .send(post(format!("{}/slow", server.uri()), "{}"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // Bind a port, then free it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let transport = ReqwestTransport::new().unwrap();
    let error = transport
        .send(post(format!("http://127.0.0.1:{port}/v1/token"), "{}"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Connect, "{error}");
}

#[tokio::test]
async fn without_a_tls_feature_https_fails_cleanly() {
    let transport = ReqwestTransport::new().unwrap();
    let result = transport
        .send(post("https://127.0.0.1:9/v1/token".to_owned(), "{}"))
        .await;
    assert!(result.is_err());
}
