//! The `reqwest-middleware` flavour behaves as `AuthenticatedClient` does.
#![cfg(feature = "middleware")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/fake_source.rs"]
mod fake_source;

use std::sync::Arc;

use fake_source::FakeSource;
use nhost_session_reqwest::{AuthenticatedClient, BearerMiddleware};
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EXPIRED: &str = r#"{"errors":[{"extensions":{"code":"invalid-jwt"},"message":"Could not verify JWT: JWTExpired"}]}"#;

#[tokio::test]
async fn middleware_adds_the_bearer_and_retries_once_on_an_expired_jwt() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/graphql"))
        .and(header("authorization", "Bearer t1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(EXPIRED, "application/json"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/graphql"))
        .and(header("authorization", "Bearer t2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"data":{}}"#, "application/json"))
        .mount(&server)
        .await;
    let source = Arc::new(FakeSource::new());
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(Arc::clone(&source)))
        .build();
    let answer = http
        .post(format!("{}/v1/graphql", server.uri()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), r#"{"data":{}}"#);
    assert_eq!(source.refreshes(), 1);

    // Built from an AuthenticatedClient, it shares its source: t2 is current now.
    let api = AuthenticatedClient::new(Arc::clone(&source)).unwrap();
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::from_client(&api))
        .build();
    let answer = http
        .post(format!("{}/v1/graphql", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(source.refreshes(), 1);
}
