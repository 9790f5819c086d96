//! The bearer extractor against the testkit, with RS256 keys from the JWKS and with Hasura's
//! HS256 shared secret: valid, missing, malformed, forged, expired, and keys unavailable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use nhost_session_actix::bearer::VerifiedClaims;
use nhost_session_core::verify::{HasuraJwtSecret, JwtVerifier, KeySource};
use nhost_session_core::{AuthApi, AuthUrl, Clock, SignInResponse};
use nhost_session_reqwest::ReqwestTransport;
use nhost_session_testkit::{FakeAuthServer, Fault, JwtAlgorithm, SeedUser};
use time::OffsetDateTime;

/// The verifier reads the fake server's clock, so that tokens expire when the server says.
struct ServerClock(nhost_session_testkit::FakeClock);

impl Clock for ServerClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.0.now())
    }
}

async fn me(claims: VerifiedClaims) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "user": claims.user_id,
        "role": claims.default_role,
        "anonymous": claims.is_anonymous,
    }))
}

fn server(algorithm: JwtAlgorithm) -> FakeAuthServer {
    FakeAuthServer::builder()
        .jwt_algorithm(algorithm)
        .seed_user(SeedUser::new("api@example.com", "api-password-1"))
        .start()
        .unwrap()
}

async fn sign_in(server: &FakeAuthServer) -> String {
    let api = AuthApi::new(
        AuthUrl::parse(&server.base_url()).unwrap(),
        ReqwestTransport::new().unwrap(),
    );
    match api
        .sign_in_email_password("api@example.com", "api-password-1")
        .await
        .unwrap()
    {
        SignInResponse::Session(session) => session.access_token.expose_secret().to_owned(),
        other => panic!("{other:?}"),
    }
}

fn jwks_verifier(server: &FakeAuthServer) -> JwtVerifier {
    let url = AuthUrl::parse(&server.base_url()).unwrap();
    JwtVerifier::builder(KeySource::jwks(&url, ReqwestTransport::new().unwrap()))
        .issuer("hasura-auth")
        .clock(ServerClock(server.clock()))
        .build()
        .unwrap()
}

fn secret_verifier(server: &FakeAuthServer) -> JwtVerifier {
    HasuraJwtSecret::parse(&server.hasura_jwt_secret())
        .unwrap()
        .verifier_builder()
        .unwrap()
        .clock(ServerClock(server.clock()))
        .build()
        .unwrap()
}

async fn call(
    verifier: &JwtVerifier,
    authorization: Option<&str>,
) -> (StatusCode, Option<String>, serde_json::Value) {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .route("/api/me", web::get().to(me)),
    )
    .await;
    let mut request = test::TestRequest::get().uri("/api/me");
    if let Some(value) = authorization {
        request = request.insert_header(("authorization", value));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = test::read_body_json(response).await;
    (status, challenge, body)
}

/// The same token with its payload changed (the role), signature kept.
fn tampered(token: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let payload = String::from_utf8(engine.decode(parts[1]).unwrap()).unwrap();
    let forged = payload.replace("\"user\"", "\"admin\"");
    assert_ne!(payload, forged);
    format!("{}.{}.{}", parts[0], engine.encode(forged), parts[2])
}

async fn the_extractor_accepts_only_valid_tokens(server: FakeAuthServer, verifier: JwtVerifier) {
    let token = sign_in(&server).await;

    let (status, _, body) = call(&verifier, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "user");
    assert_eq!(body["anonymous"], false);
    let (status, _, _) = call(&verifier, Some(&format!("bearer   {token}"))).await;
    assert_eq!(status, StatusCode::OK);

    let (status, challenge, body) = call(&verifier, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer realm=\"nhost\""));
    assert_eq!(body["error"], "missing_token");

    let (status, challenge, _) = call(&verifier, Some(&format!("Basic {token}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(challenge.unwrap().contains("error=\"invalid_request\""));

    for bad in [
        tampered(&token),
        "not.a.jwt".to_owned(),
        format!("{token}x"),
    ] {
        let (status, challenge, body) = call(&verifier, Some(&format!("Bearer {bad}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let challenge = challenge.unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(!challenge.contains(&token) && !body.to_string().contains(&token));
    }

    server.advance(std::time::Duration::from_secs(901));
    let (status, challenge, body) = call(&verifier, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains("invalid_token"));
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[actix_web::test]
async fn rs256_tokens_are_verified_with_the_jwks() {
    let server = server(JwtAlgorithm::Rs256);
    let verifier = jwks_verifier(&server);
    the_extractor_accepts_only_valid_tokens(server, verifier).await;
}

#[actix_web::test]
async fn hs256_tokens_are_verified_with_the_hasura_secret() {
    let server = server(JwtAlgorithm::Hs256);
    let verifier = secret_verifier(&server);
    the_extractor_accepts_only_valid_tokens(server, verifier).await;
}

#[actix_web::test]
async fn keys_that_cannot_be_fetched_answer_503_not_401() {
    let server = server(JwtAlgorithm::Rs256);
    let token = sign_in(&server).await;
    server.inject(Fault::on("/.well-known/jwks.json").times(100).status(503));
    let verifier = jwks_verifier(&server);
    let (status, challenge, body) = call(&verifier, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(challenge, None);
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[actix_web::test]
async fn a_route_without_a_verifier_is_a_server_error() {
    let app = test::init_service(App::new().route("/api/me", web::get().to(me))).await;
    let request = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(("authorization", "Bearer x.y.z"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
