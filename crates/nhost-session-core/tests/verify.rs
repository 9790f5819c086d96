//! Verification of bearer JWTs against the testkit's fake auth server, in RS256 (JWKS) and
//! HS256 (shared secret) modes: valid tokens, every way a token can be bad, key rotation, and
//! a JWKS endpoint that is down.
#![cfg(feature = "verify")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use nhost_session_core::verify::{
    Algorithm, HasuraJwtSecret, JwksError, JwtVerifier, JwtVerifierBuilder, KeySource,
    VerifierConfigError, VerifyError,
};
use nhost_session_core::{
    AuthApi, AuthUrl, ClaimsError, Clock, HttpTransport, SignInResponse, TransportError,
    TransportErrorKind,
};
use nhost_session_testkit::{FakeAuthServer, FakeClock, Fault, JwtAlgorithm, keys};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// Harness: a reqwest transport that counts JWKS fetches, the testkit's clock, sign-in, forging.

#[derive(Clone)]
struct Transport {
    client: reqwest::Client,
    jwks_calls: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl HttpTransport for Transport {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        if request.uri().path().ends_with("/.well-known/jwks.json") {
            self.jwks_calls.fetch_add(1, Ordering::SeqCst);
        }
        let request = reqwest::Request::try_from(request)
            .map_err(|e| TransportError::with_source(TransportErrorKind::Other, e))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| TransportError::with_source(TransportErrorKind::Connect, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| TransportError::with_source(TransportErrorKind::Io, e))?;
        let mut answer = http::Response::new(body.to_vec());
        *answer.status_mut() = status;
        Ok(answer)
    }
}

/// The testkit's fake clock as the verifier's clock, so that both agree on "now".
struct KitClock(FakeClock);

impl Clock for KitClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.0.now())
    }
}

struct Kit {
    server: FakeAuthServer,
    transport: Transport,
}

impl Kit {
    fn start(algorithm: JwtAlgorithm) -> Self {
        let server = FakeAuthServer::builder()
            .jwt_algorithm(algorithm)
            .start()
            .unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Self {
            server,
            transport: Transport {
                client,
                jwks_calls: Arc::new(AtomicUsize::new(0)),
            },
        }
    }

    fn auth_url(&self) -> AuthUrl {
        AuthUrl::parse(&self.server.base_url()).unwrap()
    }

    fn jwks_calls(&self) -> usize {
        self.transport.jwks_calls.load(Ordering::SeqCst)
    }

    fn clock(&self) -> KitClock {
        KitClock(self.server.clock())
    }

    /// A fresh access token from the server.
    async fn token(&self) -> String {
        let api = AuthApi::new(self.auth_url(), self.transport.clone());
        match api.sign_in_anonymous(None).await.unwrap() {
            SignInResponse::Session(session) => session.access_token.expose_secret().to_owned(),
            other => panic!("no session: {other:?}"),
        }
    }

    /// RS256 mode: keys from the JWKS, issuer `hasura-auth`.
    fn jwks_builder(&self) -> JwtVerifierBuilder {
        JwtVerifier::builder(KeySource::jwks(&self.auth_url(), self.transport.clone()))
            .issuer("hasura-auth")
            .clock(self.clock())
    }

    /// From the server's `HASURA_GRAPHQL_JWT_SECRET` (HS256 key, or RS256 `jwk_url`).
    fn hasura_builder(&self) -> JwtVerifierBuilder {
        HasuraJwtSecret::parse(&self.server.hasura_jwt_secret())
            .unwrap()
            .verifier_builder_with_transport(self.transport.clone())
            .unwrap()
            .issuer("hasura-auth")
            .clock(self.clock())
    }

    /// The verifier of this server's mode.
    fn verifier(&self) -> JwtVerifier {
        match self.server.jwt_algorithm() {
            JwtAlgorithm::Rs256 => self.jwks_builder().build().unwrap(),
            JwtAlgorithm::Hs256 => self.hasura_builder().build().unwrap(),
        }
    }

    fn now_secs(&self) -> i64 {
        self.clock().now().unix_timestamp()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn split(token: &str) -> (Value, Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let json = |part: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
    (json(parts[0]), json(parts[1]), parts[2].to_owned())
}

fn join(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

/// Signs header and payload as given, with jsonwebtoken (the header's `alg` is not checked
/// against `alg`: that is how confusion attacks are forged).
fn forge(
    header: &Value,
    payload: &Value,
    key: &EncodingKey,
    alg: jsonwebtoken::Algorithm,
) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// A token signed the way this server signs, with the payload changed by `edit`.
fn resign(kit: &Kit, token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (header, mut payload, _) = split(token);
    edit(&mut payload);
    match kit.server.jwt_algorithm() {
        JwtAlgorithm::Hs256 => forge(
            &header,
            &payload,
            &EncodingKey::from_secret(keys::HS256_SECRET.as_bytes()).unwrap(),
            jsonwebtoken::Algorithm::HS256,
        ),
        JwtAlgorithm::Rs256 => {
            let (pem, kid) = if header["kid"] == keys::SECONDARY_KID {
                (keys::SECONDARY_PRIVATE_KEY_PEM, keys::SECONDARY_KID)
            } else {
                (keys::PRIMARY_PRIVATE_KEY_PEM, keys::PRIMARY_KID)
            };
            let mut header = header;
            header["kid"] = json!(kid);
            forge(
                &header,
                &payload,
                &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
                jsonwebtoken::Algorithm::RS256,
            )
        }
    }
}

/// Verifies and returns the error, checking that it quotes no part of the token.
async fn refused(verifier: &JwtVerifier, token: &str) -> VerifyError {
    let error = match verifier.verify(token).await {
        Ok(claims) => panic!("accepted a bad token: {claims:?}"),
        Err(error) => error,
    };
    let shown = format!("{error} / {error:?}");
    for part in token.split('.').filter(|p| p.len() > 12) {
        assert!(!shown.contains(part), "the error quotes the token: {shown}");
    }
    error
}

const MODES: [JwtAlgorithm; 2] = [JwtAlgorithm::Rs256, JwtAlgorithm::Hs256];

// ---------------------------------------------------------------------------------------------
// Valid tokens.

#[tokio::test]
async fn valid_tokens_give_typed_claims_in_both_modes() {
    for mode in MODES {
        let kit = Kit::start(mode);
        let token = kit.token().await;
        let verifier = kit.verifier();
        let verified = verifier.verify_token(&token).await.unwrap();
        let claims = &verified.claims;
        assert!(!claims.user_id.is_empty(), "{mode:?}");
        assert_eq!(claims.subject.as_deref(), Some(claims.user_id.as_str()));
        assert_eq!(claims.issuer.as_deref(), Some("hasura-auth"));
        assert!(claims.is_anonymous);
        assert_eq!(claims.default_role, "anonymous");
        assert_eq!(verified.algorithm.name(), mode.name());
        match mode {
            JwtAlgorithm::Rs256 => {
                assert_eq!(verified.key_id.as_deref(), Some(keys::PRIMARY_KID));
                assert_eq!(kit.jwks_calls(), 1);
            }
            JwtAlgorithm::Hs256 => {
                assert_eq!(verified.key_id, None);
                assert_eq!(kit.jwks_calls(), 0);
            }
        }
        // The cache serves the next ones.
        verifier.verify(&kit.token().await).await.unwrap();
        assert_eq!(kit.jwks_calls(), usize::from(mode == JwtAlgorithm::Rs256));
    }
}

#[tokio::test]
async fn rs256_also_verifies_through_hasura_jwk_url_and_inline_pem() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let token = kit.token().await;
    let via_jwk_url = kit.hasura_builder().build().unwrap();
    assert_eq!(
        via_jwk_url.verify(&token).await.unwrap().issuer.as_deref(),
        Some("hasura-auth")
    );

    let inline = HasuraJwtSecret::parse(&kit.server.hasura_jwt_secret_with_key()).unwrap();
    let verifier = inline
        .verifier_builder()
        .unwrap()
        .clock(kit.clock())
        .build()
        .unwrap();
    assert_eq!(verifier.algorithms(), [Algorithm::Rs256]);
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn the_verifier_is_shareable() {
    fn shareable<T: Clone + Send + Sync + 'static>(_: &T) {}
    fn send<F: Send>(_: &F) {}
    let kit = Kit::start(JwtAlgorithm::Hs256);
    let verifier = kit.verifier();
    shareable(&verifier);
    let future = verifier.verify("a.b.c");
    send(&future);
    drop(future);
}

// ---------------------------------------------------------------------------------------------
// Time: expired, not yet valid, leeway.

#[tokio::test]
async fn expired_tokens_are_refused_in_both_modes() {
    for mode in MODES {
        let kit = Kit::start(mode);
        let token = kit.token().await;
        let verifier = kit.verifier();
        let exp = split(&token).1["exp"].as_i64().unwrap();
        verifier.verify(&token).await.unwrap();

        kit.server.advance(StdDuration::from_secs(901));
        match refused(&verifier, &token).await {
            VerifyError::Expired { expired_at } => assert_eq!(expired_at.unix_timestamp(), exp),
            other => panic!("{mode:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_leeway_is_configurable_and_small() {
    let kit = Kit::start(JwtAlgorithm::Hs256);
    let token = kit.token().await;
    kit.server.advance(StdDuration::from_secs(905));
    let strict = kit.verifier();
    assert!(matches!(
        refused(&strict, &token).await,
        VerifyError::Expired { .. }
    ));
    let lenient = kit
        .hasura_builder()
        .leeway(Duration::seconds(30))
        .build()
        .unwrap();
    lenient.verify(&token).await.unwrap();

    let too_lenient = kit.hasura_builder().leeway(Duration::hours(1)).build();
    assert!(matches!(
        too_lenient,
        Err(VerifierConfigError::InvalidSetting(_))
    ));
}

#[tokio::test]
async fn tokens_not_yet_valid_are_refused_in_both_modes() {
    for mode in MODES {
        let kit = Kit::start(mode);
        let token = kit.token().await;
        let verifier = kit.verifier();
        let now = kit.now_secs();

        // `nbf` ten minutes ahead, properly signed.
        let early = resign(&kit, &token, |p| p["nbf"] = json!(now + 600));
        match refused(&verifier, &early).await {
            VerifyError::NotYetValid { valid_from } => {
                assert_eq!(valid_from.unix_timestamp(), now + 600);
            }
            other => panic!("{mode:?}: {other:?}"),
        }
        // A leeway covers a few seconds, not ten minutes.
        let lenient = match mode {
            JwtAlgorithm::Rs256 => kit.jwks_builder(),
            JwtAlgorithm::Hs256 => kit.hasura_builder(),
        }
        .leeway(Duration::seconds(5))
        .build()
        .unwrap();
        let soon = resign(&kit, &token, |p| p["nbf"] = json!(now + 3));
        lenient.verify(&soon).await.unwrap();
        assert!(matches!(
            refused(&lenient, &early).await,
            VerifyError::NotYetValid { .. }
        ));

        // A real token checked by a verifier whose clock is an hour behind the server's: its
        // `iat` is in the future.
        kit.server.advance(StdDuration::from_secs(3600));
        let future_token = kit.token().await;
        let behind = match mode {
            JwtAlgorithm::Rs256 => {
                JwtVerifier::builder(KeySource::jwks(&kit.auth_url(), kit.transport.clone()))
                    .build()
                    .unwrap()
            }
            JwtAlgorithm::Hs256 => HasuraJwtSecret::parse(&kit.server.hasura_jwt_secret())
                .unwrap()
                .verifier_builder()
                .unwrap()
                .build()
                .unwrap(),
        };
        assert!(matches!(
            refused(&behind, &future_token).await,
            VerifyError::NotYetValid { .. }
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Issuer, audience, claims.

#[tokio::test]
async fn wrong_issuers_are_refused_in_both_modes() {
    for mode in MODES {
        let kit = Kit::start(mode);
        let token = kit.token().await;

        // A real token, but this verifier expects another issuer.
        let other = match mode {
            JwtAlgorithm::Rs256 => {
                JwtVerifier::builder(KeySource::jwks(&kit.auth_url(), kit.transport.clone()))
            }
            JwtAlgorithm::Hs256 => HasuraJwtSecret::parse(&kit.server.hasura_jwt_secret())
                .unwrap()
                .verifier_builder()
                .unwrap(),
        }
        .issuer("https://auth.other.example")
        .clock(kit.clock())
        .build()
        .unwrap();
        match refused(&other, &token).await {
            VerifyError::IssuerMismatch { found } => {
                assert_eq!(found.as_deref(), Some("hasura-auth"))
            }
            e => panic!("{mode:?}: {e:?}"),
        }

        // Properly signed tokens with a wrong or no issuer.
        let verifier = kit.verifier();
        let evil = resign(&kit, &token, |p| p["iss"] = json!("evil"));
        assert!(matches!(
            refused(&verifier, &evil).await,
            VerifyError::IssuerMismatch { found: Some(f) } if f == "evil"
        ));
        let none = resign(&kit, &token, |p| {
            p.as_object_mut().unwrap().remove("iss");
        });
        assert!(matches!(
            refused(&verifier, &none).await,
            VerifyError::IssuerMismatch { found: None }
        ));
    }
}

#[tokio::test]
async fn audience_exp_and_hasura_claims_are_checked() {
    let kit = Kit::start(JwtAlgorithm::Hs256);
    let token = kit.token().await;
    let secret = format!(
        r#"{{"type":"HS256","key":"{}","audience":["api","web"],"issuer":"hasura-auth"}}"#,
        keys::HS256_SECRET
    );
    let verifier = HasuraJwtSecret::parse(&secret)
        .unwrap()
        .verifier_builder()
        .unwrap()
        .clock(kit.clock())
        .build()
        .unwrap();
    assert!(matches!(
        refused(&verifier, &token).await,
        VerifyError::AudienceMismatch
    ));
    let api = resign(&kit, &token, |p| p["aud"] = json!(["other", "api"]));
    verifier.verify(&api).await.unwrap();
    let wrong = resign(&kit, &token, |p| p["aud"] = json!("other"));
    assert!(matches!(
        refused(&verifier, &wrong).await,
        VerifyError::AudienceMismatch
    ));

    let plain = kit.verifier();
    let no_exp = resign(&kit, &token, |p| {
        p.as_object_mut().unwrap().remove("exp");
    });
    assert!(matches!(
        refused(&plain, &no_exp).await,
        VerifyError::MissingClaim("exp")
    ));
    let text_exp = resign(&kit, &token, |p| p["exp"] = json!("tomorrow"));
    assert!(matches!(
        refused(&plain, &text_exp).await,
        VerifyError::Malformed(_)
    ));
    let no_claims = resign(&kit, &token, |p| {
        p.as_object_mut()
            .unwrap()
            .remove("https://hasura.io/jwt/claims");
    });
    assert!(matches!(
        refused(&plain, &no_claims).await,
        VerifyError::Claims(ClaimsError::MissingNamespace(_))
    ));

    // Claims under another namespace, found through `claims_namespace_path`.
    let moved = resign(&kit, &token, |p| {
        let claims = p
            .as_object_mut()
            .unwrap()
            .remove("https://hasura.io/jwt/claims")
            .unwrap();
        p["hasura"] = json!({ "claims": claims });
    });
    let by_path = kit
        .hasura_builder()
        .claims_namespace_path("$.hasura.claims")
        .build()
        .unwrap();
    assert!(by_path.verify(&moved).await.unwrap().is_anonymous);
}

// ---------------------------------------------------------------------------------------------
// Forgeries: tampering, `alg: none`, algorithm confusion.

#[tokio::test]
async fn tampered_payloads_and_signatures_are_refused_in_both_modes() {
    for mode in MODES {
        let kit = Kit::start(mode);
        let token = kit.token().await;
        let verifier = kit.verifier();
        let (header, mut payload, signature) = split(&token);

        payload["https://hasura.io/jwt/claims"]["x-hasura-default-role"] = json!("admin");
        let escalated = join(&header, &payload, &signature);
        assert!(
            matches!(
                refused(&verifier, &escalated).await,
                VerifyError::BadSignature
            ),
            "{mode:?}"
        );

        // One character in the middle of the signature changed.
        let mut bytes = signature.into_bytes();
        let middle = bytes.len() / 2;
        bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
        let (header_part, rest) = token.split_once('.').unwrap();
        let payload_part = rest.split_once('.').unwrap().0;
        let flipped = format!(
            "{header_part}.{payload_part}.{}",
            String::from_utf8(bytes).unwrap()
        );
        assert!(
            matches!(
                refused(&verifier, &flipped).await,
                VerifyError::BadSignature
            ),
            "{mode:?}"
        );

        // No signature at all.
        let unsigned = format!("{header_part}.{payload_part}.");
        assert!(matches!(
            refused(&verifier, &unsigned).await,
            VerifyError::BadSignature
        ));
        verifier.verify(&token).await.unwrap();
    }
}

#[tokio::test]
async fn alg_none_is_never_accepted_in_both_modes() {
    for mode in MODES {
        let kit = Kit::start(mode);
        let token = kit.token().await;
        let verifier = kit.verifier();
        let (mut header, payload, signature) = split(&token);
        for none in ["none", "None", "NONE"] {
            header["alg"] = json!(none);
            for sig in ["", signature.as_str()] {
                let forged = join(&header, &payload, sig);
                match refused(&verifier, &forged).await {
                    VerifyError::AlgorithmNotAllowed(alg) => assert_eq!(alg, none),
                    other => panic!("{mode:?}: {other:?}"),
                }
            }
        }
    }
}

#[tokio::test]
async fn an_rs256_public_key_used_as_an_hs256_secret_is_refused() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let token = kit.token().await;
    let (mut header, payload, _) = split(&token);
    header["alg"] = json!("HS256");
    // The classic confusion attack: HMAC keyed with the public key, as PEM and as the JWK.
    let pem = kit.server.public_key_pem().unwrap();
    let jwks: Value = serde_json::from_slice(
        &kit.transport
            .send(
                http::Request::get(kit.server.jwks_url())
                    .body(Vec::new())
                    .unwrap(),
            )
            .await
            .unwrap()
            .into_body(),
    )
    .unwrap();
    let jwk_text = jwks["keys"][0].to_string();
    for secret in [pem.as_bytes(), pem.trim().as_bytes(), jwk_text.as_bytes()] {
        let forged = forge(
            &header,
            &payload,
            &EncodingKey::from_secret(secret).unwrap(),
            jsonwebtoken::Algorithm::HS256,
        );
        // Against the JWKS, against the inline PEM, and with RS256 explicitly allowed only.
        let jwks_verifier = kit.verifier();
        let pem_verifier = HasuraJwtSecret::parse(&kit.server.hasura_jwt_secret_with_key())
            .unwrap()
            .verifier_builder()
            .unwrap()
            .clock(kit.clock())
            .build()
            .unwrap();
        let rs_only = kit
            .jwks_builder()
            .algorithms([Algorithm::Rs256])
            .build()
            .unwrap();
        for verifier in [&jwks_verifier, &pem_verifier, &rs_only] {
            match refused(verifier, &forged).await {
                VerifyError::AlgorithmNotAllowed(alg) => assert_eq!(alg, "HS256"),
                other => panic!("{other:?}"),
            }
        }
    }
    // And a JWKS verifier cannot even be told to accept HS256.
    assert!(matches!(
        kit.jwks_builder()
            .algorithms([Algorithm::Rs256, Algorithm::Hs256])
            .build(),
        Err(VerifierConfigError::Algorithms(_))
    ));
}

#[tokio::test]
async fn hs256_tokens_are_refused_by_a_jwks_verifier_and_rs256_by_an_hs256_one() {
    let hs = Kit::start(JwtAlgorithm::Hs256);
    let rs = Kit::start(JwtAlgorithm::Rs256);
    let hs_token = hs.token().await;
    let rs_token = rs.token().await;
    // The HS256 server's JWKS is `{"keys": null}`; the JWKS verifier refuses HS256 outright.
    let jwks_verifier = hs.jwks_builder().build().unwrap();
    assert!(matches!(
        refused(&jwks_verifier, &hs_token).await,
        VerifyError::AlgorithmNotAllowed(alg) if alg == "HS256"
    ));
    assert!(matches!(
        refused(&hs.verifier(), &rs_token).await,
        VerifyError::AlgorithmNotAllowed(alg) if alg == "RS256"
    ));
}

#[tokio::test]
async fn malformed_and_oversized_tokens_are_refused_early() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let verifier = kit.jwks_builder().max_token_len(4096).build().unwrap();
    for garbage in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        "e30.e30.sig",
        "W10.e30.sig",
    ] {
        assert!(
            matches!(refused(&verifier, garbage).await, VerifyError::Malformed(_)),
            "{garbage:?}"
        );
    }
    let huge = format!("{}.{}.sig", "a".repeat(10), "b".repeat(5000));
    assert!(matches!(
        refused(&verifier, &huge).await,
        VerifyError::TooLarge {
            len: 5015,
            max: 4096
        }
    ));
    // Nothing above needed the keys.
    assert_eq!(kit.jwks_calls(), 0);
}

// ---------------------------------------------------------------------------------------------
// JWKS: rotation, the refetch floor, single flight, the endpoint down.

#[tokio::test]
async fn a_key_rotation_is_picked_up_with_one_refetch() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let verifier = kit.verifier();
    let old = kit.token().await;
    verifier.verify(&old).await.unwrap();
    assert_eq!(kit.jwks_calls(), 1);

    kit.server.advance(StdDuration::from_secs(60));
    let kid = kit.server.rotate_signing_key().unwrap();
    assert_eq!(kid, keys::SECONDARY_KID);
    let new = kit.token().await;
    let verified = verifier.verify_token(&new).await.unwrap();
    assert_eq!(verified.key_id.as_deref(), Some(keys::SECONDARY_KID));
    assert_eq!(kit.jwks_calls(), 2, "refetched once");

    // Both keys are now cached: no more fetches.
    verifier.verify(&new).await.unwrap();
    verifier.verify(&old).await.unwrap();
    verifier.verify(&kit.token().await).await.unwrap();
    assert_eq!(kit.jwks_calls(), 2);
}

#[tokio::test]
async fn unknown_kids_refetch_no_more_often_than_the_floor() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let verifier = kit.verifier();
    verifier.verify(&kit.token().await).await.unwrap();
    assert_eq!(kit.jwks_calls(), 1);

    // Rotation right after the first fetch: within the floor, no refetch.
    kit.server.rotate_signing_key().unwrap();
    let new = kit.token().await;
    match refused(&verifier, &new).await {
        VerifyError::UnknownKey { kid } => assert_eq!(kid.as_deref(), Some(keys::SECONDARY_KID)),
        other => panic!("{other:?}"),
    }
    assert_eq!(kit.jwks_calls(), 1);

    // Past the floor, one refetch and the new key verifies.
    kit.server.advance(StdDuration::from_secs(31));
    verifier.verify(&new).await.unwrap();
    assert_eq!(kit.jwks_calls(), 2);

    // Made-up kids: one refetch per floor period at most.
    let (mut header, payload, _) = split(&new);
    let pem = EncodingKey::from_rsa_pem(keys::SECONDARY_PRIVATE_KEY_PEM.as_bytes()).unwrap();
    for i in 0..5 {
        header["kid"] = json!(format!("made-up-{i}"));
        let forged = forge(&header, &payload, &pem, jsonwebtoken::Algorithm::RS256);
        assert!(matches!(
            refused(&verifier, &forged).await,
            VerifyError::UnknownKey { .. }
        ));
    }
    assert_eq!(kit.jwks_calls(), 2);
    kit.server.advance(StdDuration::from_secs(31));
    header["kid"] = json!("made-up-again");
    let forged = forge(&header, &payload, &pem, jsonwebtoken::Algorithm::RS256);
    assert!(matches!(
        refused(&verifier, &forged).await,
        VerifyError::UnknownKey { .. }
    ));
    assert_eq!(kit.jwks_calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifications_with_a_new_kid_fetch_once() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let verifier = kit.verifier();
    verifier.verify(&kit.token().await).await.unwrap();
    kit.server.advance(StdDuration::from_secs(60));
    kit.server.rotate_signing_key().unwrap();
    let new = kit.token().await;
    assert_eq!(kit.jwks_calls(), 1);

    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let verifier = verifier.clone();
            let token = new.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        kit.jwks_calls(),
        2,
        "one fetch for 32 concurrent verifications"
    );

    // A cold verifier: concurrent first verifications share one fetch too.
    let cold = kit.verifier();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let verifier = cold.clone();
            let token = new.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(kit.jwks_calls(), 3);
}

#[tokio::test]
async fn a_jwks_endpoint_that_is_down_leaves_cached_keys_working() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let verifier = kit.verifier();
    verifier.verify(&kit.token().await).await.unwrap();
    assert_eq!(kit.jwks_calls(), 1);

    kit.server
        .inject(Fault::on("/.well-known/jwks.json").status(503).times(1000));
    // Past the cache's maximum age: a refresh is attempted, fails, and the cached key serves.
    kit.server.advance(StdDuration::from_secs(11 * 60));
    let token = kit.token().await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(kit.jwks_calls(), 2);
    // The failed refresh is not retried before the floor.
    verifier.verify(&token).await.unwrap();
    assert_eq!(kit.jwks_calls(), 2);

    // A new key while the endpoint is down: a clear, transient error.
    kit.server.advance(StdDuration::from_secs(60));
    kit.server.rotate_signing_key().unwrap();
    let rotated = kit.token().await;
    let error = refused(&verifier, &rotated).await;
    assert!(
        matches!(error, VerifyError::JwksUnavailable(JwksError::Status(503))),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(kit.jwks_calls(), 3);
    // The old key still verifies.
    verifier.verify(&token).await.unwrap();

    // Back up: after the floor, the new key is fetched.
    kit.server.clear_faults();
    kit.server.advance(StdDuration::from_secs(31));
    verifier.verify(&rotated).await.unwrap();
    assert_eq!(kit.jwks_calls(), 4);
}

#[tokio::test]
async fn a_jwks_endpoint_that_is_down_without_cached_keys_is_a_clear_error() {
    let kit = Kit::start(JwtAlgorithm::Rs256);
    let token = kit.token().await;
    let verifier = kit.verifier();

    kit.server
        .inject(Fault::on("/.well-known/jwks.json").status(503).times(1000));
    let error = refused(&verifier, &token).await;
    assert!(
        matches!(error, VerifyError::JwksUnavailable(JwksError::Status(503))),
        "{error:?}"
    );
    assert!(error.to_string().contains("503"));
    assert!(error.is_transient());
    assert_eq!(kit.jwks_calls(), 1);
    // Within the floor: the same error, no new request.
    assert!(matches!(
        refused(&verifier, &token).await,
        VerifyError::JwksUnavailable(_)
    ));
    assert_eq!(kit.jwks_calls(), 1);

    // No answer at all (the connection is dropped): a transport error.
    kit.server.clear_faults();
    kit.server.inject(
        Fault::on("/.well-known/jwks.json")
            .drop_connection()
            .times(1000),
    );
    kit.server.advance(StdDuration::from_secs(31));
    let fresh = kit.token().await;
    assert!(matches!(
        refused(&verifier, &fresh).await,
        VerifyError::JwksUnavailable(JwksError::Transport(_))
    ));
    assert!(matches!(
        verifier.prefetch_keys().await,
        Err(VerifyError::JwksUnavailable(_))
    ));

    // Garbage instead of a JWKS.
    kit.server.clear_faults();
    kit.server.inject(
        Fault::on("/.well-known/jwks.json")
            .respond(200, "<html>maintenance</html>")
            .content_type("text/html")
            .times(1000),
    );
    kit.server.advance(StdDuration::from_secs(31));
    assert!(matches!(
        refused(&verifier, &fresh).await,
        VerifyError::JwksUnavailable(JwksError::Invalid(_))
    ));

    // Back up.
    kit.server.clear_faults();
    kit.server.advance(StdDuration::from_secs(31));
    verifier.prefetch_keys().await.unwrap();
    verifier.verify(&fresh).await.unwrap();
}
