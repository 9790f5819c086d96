//! The GraphQL stand-in, JWKS in both modes, signing-key rotation, and verifying tokens with
//! what the server publishes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nhost_session_testkit::keys::{self, HS256_SECRET, PRIMARY_KID, SECONDARY_KID};
use nhost_session_testkit::{FakeAuthServer, JwtAlgorithm, SeedUser};
use serde_json::{Value, json};

async fn graphql(
    server: &FakeAuthServer,
    authorization: Option<&str>,
    role: Option<&str>,
) -> Answer {
    let mut request = client()
        .post(server.graphql_url())
        .json(&json!({ "query": "query { me { id email role isAnonymous } }" }));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(role) = role {
        request = request.header("x-hasura-role", role);
    }
    Answer::from(request.send().await.unwrap()).await
}

fn error_of(answer: &Answer) -> (String, String) {
    let error = &answer.json["errors"][0];
    (
        error["extensions"]["code"].as_str().unwrap().to_owned(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn valid_tokens_get_me() {
    let server = server();
    let session = sign_in(&server).await;
    let bearer = format!("Bearer {}", session["accessToken"].as_str().unwrap());
    let answer = graphql(&server, Some(&bearer), None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json,
        json!({ "data": { "me": {
            "id": session["user"]["id"], "email": EMAIL, "role": "user", "isAnonymous": false
        } } })
    );
    let answer = graphql(&server, Some(&bearer), Some("me")).await;
    assert_eq!(answer.json["data"]["me"]["role"], "me");
    let answer = graphql(&server, Some(&bearer), Some("admin")).await;
    assert_eq!(error_of(&answer).0, "access-denied");
}

#[tokio::test]
async fn anonymous_tokens_get_me_without_email() {
    let server = server();
    let answer = post(&server, "/signin/anonymous", json!({})).await;
    let bearer = format!(
        "Bearer {}",
        answer.json["session"]["accessToken"].as_str().unwrap()
    );
    let answer = graphql(&server, Some(&bearer), None).await;
    let me = &answer.json["data"]["me"];
    assert_eq!(me["email"], Value::Null);
    assert_eq!(me["role"], "anonymous");
    assert_eq!(me["isAnonymous"], true);
}

#[tokio::test]
async fn expired_tokens_are_refused_with_no_leeway() {
    let server = server();
    let session = sign_in(&server).await;
    let bearer = format!("Bearer {}", session["accessToken"].as_str().unwrap());
    server.advance(Duration::from_secs(899));
    assert!(graphql(&server, Some(&bearer), None).await.json["data"].is_object());
    server.advance(Duration::from_secs(1));
    let answer = graphql(&server, Some(&bearer), None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json,
        json!({ "errors": [{ "message": "Could not verify JWT: JWTExpired",
                             "extensions": { "path": "$", "code": "invalid-jwt" } }] })
    );
}

#[tokio::test]
async fn bad_signatures_garbage_and_missing_headers() {
    let server = server();
    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_signature = "c2lnbmF0dXJl";
    parts[2] = forged_signature;
    let forged = parts.join(".");
    let answer = graphql(&server, Some(&format!("Bearer {forged}")), None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        error_of(&answer),
        (
            "invalid-jwt".to_owned(),
            "Could not verify JWT: JWSError JWSInvalidSignature".to_owned()
        )
    );

    let answer = graphql(&server, Some("Bearer garbage"), None).await;
    let (code, message) = error_of(&answer);
    assert_eq!(code, "invalid-jwt");
    assert!(
        message.starts_with("Could not verify JWT: JWSError"),
        "{message}"
    );

    let answer = graphql(&server, None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(error_of(&answer).0, "invalid-headers");

    let answer = graphql(&server, Some("Basic abc"), None).await;
    assert_eq!(error_of(&answer).0, "invalid-headers");

    // A token signed by another server's key (HS256) does not verify here.
    let other = FakeAuthServer::builder()
        .jwt_algorithm(JwtAlgorithm::Hs256)
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    let foreign = sign_in(&other).await;
    let answer = graphql(
        &server,
        Some(&format!(
            "Bearer {}",
            foreign["accessToken"].as_str().unwrap()
        )),
        None,
    )
    .await;
    assert_eq!(error_of(&answer).0, "invalid-jwt");
}

#[tokio::test]
async fn rs256_jwks_verifies_the_tokens() {
    let server = server();
    let jwks = get(&server, "/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200);
    let keys = jwks.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    let mut fields: Vec<_> = key.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], PRIMARY_KID);

    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["hasura-auth"]);
    let data = jsonwebtoken::decode::<Value>(token, &decoding, &validation).unwrap();
    assert_eq!(data.claims["sub"], session["user"]["id"]);
    // The committed public PEM agrees.
    let pem = DecodingKey::from_rsa_pem(keys::PRIMARY_PUBLIC_KEY_PEM.as_bytes()).unwrap();
    assert!(jsonwebtoken::decode::<Value>(token, &pem, &validation).is_ok());
    assert_eq!(server.public_key_pem(), Some(keys::PRIMARY_PUBLIC_KEY_PEM));

    let secret: Value = serde_json::from_str(&server.hasura_jwt_secret()).unwrap();
    assert_eq!(
        secret,
        json!({ "type": "RS256", "jwk_url": server.jwks_url() })
    );
    let inline: Value = serde_json::from_str(&server.hasura_jwt_secret_with_key()).unwrap();
    assert_eq!(inline["key"], keys::PRIMARY_PUBLIC_KEY_PEM);
}

#[tokio::test]
async fn hs256_has_no_jwks_and_no_kid() {
    let server = FakeAuthServer::builder()
        .jwt_algorithm(JwtAlgorithm::Hs256)
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    let jwks = get(&server, "/.well-known/jwks.json", None).await;
    assert_eq!(jwks.json, json!({ "keys": null }));
    let session = sign_in(&server).await;
    let token = session["accessToken"].as_str().unwrap();
    let (header, _) = jwt_parts(token);
    assert_eq!(header, json!({ "alg": "HS256", "typ": "JWT" }));
    let key = DecodingKey::from_secret(HS256_SECRET.as_bytes()).unwrap();
    assert!(jsonwebtoken::decode::<Value>(token, &key, &Validation::new(Algorithm::HS256)).is_ok());
    let secret: Value = serde_json::from_str(&server.hasura_jwt_secret()).unwrap();
    assert_eq!(secret, json!({ "type": "HS256", "key": HS256_SECRET }));
    assert!(server.rotate_signing_key().is_none());
    let bearer = format!("Bearer {token}");
    assert_eq!(
        graphql(&server, Some(&bearer), None).await.json["data"]["me"]["email"],
        EMAIL
    );
}

#[tokio::test]
async fn signing_key_rotation_publishes_both_keys() {
    let server = server();
    let before = sign_in(&server).await;
    assert_eq!(server.rotate_signing_key().as_deref(), Some(SECONDARY_KID));
    let jwks = get(&server, "/.well-known/jwks.json", None).await;
    let kids: Vec<_> = jwks.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, [SECONDARY_KID, PRIMARY_KID]);

    let after = refresh(&server, before["refreshToken"].as_str().unwrap()).await;
    let (header, _) = jwt_parts(after.json["accessToken"].as_str().unwrap());
    assert_eq!(header["kid"], SECONDARY_KID);
    assert_eq!(
        server.public_key_pem(),
        Some(keys::SECONDARY_PUBLIC_KEY_PEM)
    );
    for session in [&before, &after.json] {
        let bearer = format!("Bearer {}", session["accessToken"].as_str().unwrap());
        assert!(graphql(&server, Some(&bearer), None).await.json["data"].is_object());
        assert_eq!(
            get(&server, "/user", session["accessToken"].as_str())
                .await
                .status,
            200
        );
    }

    let response = client()
        .post(format!("{}/rotate-signing-key", server.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        Answer::from(response).await.json,
        json!({ "kid": PRIMARY_KID })
    );
}
