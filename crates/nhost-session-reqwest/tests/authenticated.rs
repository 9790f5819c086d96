//! Authenticated calls against a mock service: bearer, expired-JWT detection, one refresh and
//! one retry, bodies that cannot be replayed, answers handed back whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/fake_source.rs"]
mod fake_source;

use std::sync::Arc;

use bytes::Bytes;
use fake_source::FakeSource;
use nhost_session_reqwest::AuthenticatedClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EXPIRED: &str = r#"{"errors":[{"extensions":{"path":"$","code":"invalid-jwt"},"message":"Could not verify JWT: JWTExpired"}]}"#;
const DATA: &str = r#"{"data":{"users":[{"id":"u1"}]}}"#;

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json; charset=utf-8")
}

async fn service_expiring_t1(server: &MockServer, expired_answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/graphql"))
        .and(header("authorization", "Bearer t1"))
        .respond_with(expired_answer)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/graphql"))
        .and(header("authorization", "Bearer t2"))
        .respond_with(json(200, DATA))
        .mount(server)
        .await;
}

fn client(source: &Arc<FakeSource>) -> AuthenticatedClient {
    AuthenticatedClient::new(Arc::clone(source)).unwrap()
}

#[tokio::test]
async fn adds_the_bearer_and_hands_back_the_answer_whole() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/graphql"))
        .and(header("authorization", "Bearer t1"))
        .respond_with(json(200, DATA).insert_header("x-request-id", "42"))
        .expect(1)
        .mount(&server)
        .await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    let url = format!("{}/v1/graphql", server.uri());
    let answer = api
        .send(
            api.post(&url)
                .header("authorization", "Bearer stale")
                .body("{}"),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.url().as_str(), url);
    assert_eq!(answer.headers()["x-request-id"], "42");
    assert_eq!(answer.text().await.unwrap(), DATA);
    assert_eq!(source.refreshes(), 0);
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once() {
    let server = MockServer::start().await;
    service_expiring_t1(&server, json(401, r#"{"error":"unauthorized"}"#)).await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    let answer = api
        .send(
            api.post(format!("{}/v1/graphql", server.uri()))
                .body(r#"{"query":"{ users { id } }"}"#),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), DATA);
    assert_eq!(source.refreshes(), 1);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    // The retry carries the same body.
    assert_eq!(requests[1].body, requests[0].body);
}

#[tokio::test]
async fn hasuras_invalid_jwt_answer_refreshes_once_and_retries_once() {
    let server = MockServer::start().await;
    service_expiring_t1(&server, json(200, EXPIRED)).await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    let answer = api
        .send(api.post(format!("{}/v1/graphql", server.uri())).body("{}"))
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), DATA);
    assert_eq!(source.refreshes(), 1);
}

#[tokio::test]
async fn retries_only_once_and_then_returns_the_second_answer() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/graphql"))
        .respond_with(json(401, r#"{"error":"unauthorized"}"#))
        .mount(&server)
        .await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    let answer = api
        .send(api.post(format!("{}/v1/graphql", server.uri())).body("{}"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(source.refreshes(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_body_that_cannot_be_replayed_gets_the_first_answer() {
    let server = MockServer::start().await;
    service_expiring_t1(&server, json(401, r#"{"error":"unauthorized"}"#)).await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    let streaming = reqwest::Body::wrap(http_body_util::Full::new(Bytes::from_static(b"{}")));
    let answer = api
        .send(
            api.post(format!("{}/v1/graphql", server.uri()))
                .body(streaming),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(source.refreshes(), 0);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn only_json_answers_are_looked_into() {
    let server = MockServer::start().await;
    Mock::given(path("/file"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(EXPIRED, "text/plain"))
        .mount(&server)
        .await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    let answer = api
        .send(api.get(format!("{}/file", server.uri())))
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), EXPIRED);
    assert_eq!(source.refreshes(), 0);
}

#[tokio::test]
async fn callers_refused_together_refresh_once() {
    let server = MockServer::start().await;
    service_expiring_t1(&server, json(200, EXPIRED)).await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    let url = format!("{}/v1/graphql", server.uri());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let api = api.clone();
        let url = url.clone();
        tasks.spawn(async move {
            api.send(api.post(url).body("{}"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
    }
    while let Some(body) = tasks.join_next().await {
        assert_eq!(body.unwrap(), DATA);
    }
    assert_eq!(source.refreshes(), 1);
}

/// A one-shot HTTP/1.1 server that answers a chunked JSON body (no `Content-Length`), which
/// the mock server cannot do.
async fn chunked_server(chunks: Vec<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let mut answer = String::from(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        );
        for chunk in chunks {
            answer.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
        }
        answer.push_str("0\r\n\r\n");
        socket.write_all(answer.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
    });
    format!("http://{addr}/")
}

#[tokio::test]
async fn a_chunked_answer_larger_than_the_limit_streams_through_whole() {
    let chunks: Vec<String> = (0..20).map(|i| format!("{{\"chunk\":{i:04}}}\n")).collect();
    let expected: String = chunks.concat();
    let url = chunked_server(chunks).await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source).inspect_limit(40);
    let answer = api.send(api.get(&url)).await.unwrap();
    assert_eq!(answer.url().as_str(), url);
    assert_eq!(answer.text().await.unwrap(), expected);
    assert_eq!(source.refreshes(), 0);
}

#[tokio::test]
async fn a_small_chunked_expired_answer_is_recognised() {
    let url = chunked_server(vec![EXPIRED[..30].to_owned(), EXPIRED[30..].to_owned()]).await;
    let source = Arc::new(FakeSource::new());
    let api = client(&source);
    // The one-shot server answers once; the retry then fails to connect, which proves that
    // a retry was made after a refresh.
    let result = api.send(api.get(&url)).await;
    assert_eq!(source.refreshes(), 1);
    assert!(
        matches!(
            result,
            Err(nhost_session_reqwest::AuthenticatedError::Http(_))
        ),
        "{result:?}"
    );
}
