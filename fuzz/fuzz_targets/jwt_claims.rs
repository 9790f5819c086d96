//! JWT claims: `HasuraClaims::decode_unverified`, the `verify` feature's `JwtVerifier`, and
//! `HasuraJwtSecret::parse` (`HASURA_GRAPHQL_JWT_SECRET`).
//!
//! The input is used three ways:
//! - as a token: decoded unverified and verified (never a panic);
//! - as a JWT payload, in a correctly signed HS256 token, so that the claim checks behind the
//!   signature are reached: the unverified decoding must agree with `from_payload` on the same
//!   JSON, a token the verifier accepts must have the claims the unverified decoding reads, and
//!   no error may quote the token's signature or encoded payload;
//! - as a `HASURA_GRAPHQL_JWT_SECRET` value: parsing, then building a verifier from it and
//!   verifying a token with it must not panic, and `Debug` must not show the key.

#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use nhost_session_core::protocol::HASURA_CLAIMS_NAMESPACE;
use nhost_session_core::verify::{
    Algorithm, HasuraJwtSecret, JwtVerifier, KeySource, MAX_LEEWAY, VerifyError,
};
use nhost_session_core::{FnTransport, HasuraClaims, ManualClock, TransportError};
use nhost_session_fuzz::{HMAC_SECRET, block_on, now, sign_hs256};
use serde_json::Value;

/// HS256 with the shared secret and the largest leeway (the widest arithmetic on times).
static LENIENT: LazyLock<JwtVerifier> = LazyLock::new(|| {
    JwtVerifier::builder(KeySource::hmac_secret(Algorithm::Hs256, HMAC_SECRET).expect("a key"))
        .leeway(MAX_LEEWAY)
        .clock(ManualClock::new(now()))
        .build()
        .expect("a verifier")
});

/// HS256 with issuer and audience checks and a claims path, no leeway.
static STRICT: LazyLock<JwtVerifier> = LazyLock::new(|| {
    JwtVerifier::builder(KeySource::hmac_secret(Algorithm::Hs256, HMAC_SECRET).expect("a key"))
        .issuer("hasura-auth")
        .audience("app")
        .claims_namespace_path("$['https://hasura.io/jwt/claims']")
        .clock(ManualClock::new(now()))
        .build()
        .expect("a verifier")
});

/// A seed token: signed with the shared secret, valid at `now()`.
static TOKEN: LazyLock<String> = LazyLock::new(|| {
    sign_hs256(
        br#"{"sub":"u1","iat":1700000000,"exp":1700000900,"iss":"hasura-auth","aud":"app",
        "https://hasura.io/jwt/claims":{"x-hasura-user-id":"u1","x-hasura-default-role":"user",
        "x-hasura-allowed-roles":["user","me"],"x-hasura-user-is-anonymous":"false"}}"#,
    )
});

/// Verifies `token`; an error must not quote any of `secret_parts` (parts of a token this
/// target made: an HMAC signature, a long base64 payload; the fuzzer controls every other text,
/// so it could put the error's own wording in it).
fn verify(
    verifier: &JwtVerifier,
    token: &str,
    secret_parts: &[&str],
) -> Result<HasuraClaims, VerifyError> {
    let result = block_on(verifier.verify(token));
    if let Err(error) = &result {
        let text = format!("{error} {error:?}");
        for part in secret_parts {
            assert!(
                !text.contains(part),
                "a verification error quotes the token: {text}"
            );
        }
    }
    result
}

/// The parts of a token made by `sign_hs256` that no error may quote.
fn secret_parts(jwt: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = jwt.split('.').skip(1).collect();
    parts.retain(|part| part.len() >= 24);
    parts
}

fn as_token(text: &str) {
    if let Ok(claims) = HasuraClaims::decode_unverified(text) {
        assert!(!claims.user_id.is_empty());
    }
    let _ = verify(&LENIENT, text, &[]);
    let _ = verify(&STRICT, text, &[]);
}

fn as_payload(data: &[u8]) {
    let jwt = sign_hs256(data);
    let unverified = HasuraClaims::decode_unverified(&jwt);
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(payload)) if URL_SAFE_NO_PAD.encode(data).len() < 60_000 => {
            let direct = HasuraClaims::from_payload(&payload, HASURA_CLAIMS_NAMESPACE);
            assert_eq!(
                unverified, direct,
                "decode_unverified and from_payload disagree"
            );
        }
        Ok(_) => assert!(
            unverified.is_err(),
            "a payload that is not an object was read"
        ),
        Err(_) => {}
    }
    let parts = secret_parts(&jwt);
    if let Ok(claims) = verify(&LENIENT, &jwt, &parts) {
        assert_eq!(
            Ok(&claims),
            unverified.as_ref(),
            "verified and unverified claims differ"
        );
    }
    let _ = verify(&STRICT, &jwt, &parts);
}

fn as_hasura_secret(text: &str) {
    let Ok(secret) = HasuraJwtSecret::parse(text) else {
        return;
    };
    // `Debug` must not depend on the key.
    if let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(text) {
        if fields.contains_key("key") {
            let original = HasuraJwtSecret::parse(&Value::Object(fields.clone()).to_string());
            fields.insert("key".into(), Value::String("placeholder".into()));
            let redacted = HasuraJwtSecret::parse(&Value::Object(fields).to_string());
            if let (Ok(original), Ok(redacted)) = (original, redacted) {
                assert_eq!(
                    format!("{original:?}"),
                    format!("{redacted:?}"),
                    "HasuraJwtSecret's Debug shows the key"
                );
            }
        }
    }
    let transport = FnTransport::new(|_request: http::Request<Vec<u8>>| async {
        Ok::<_, TransportError>(http::Response::new(br#"{"keys":null}"#.to_vec()))
    });
    let builder = match secret.verifier_builder_with_transport(transport) {
        Ok(builder) => builder,
        Err(error) => {
            let _ = format!("{error} {error:?}");
            return;
        }
    };
    if let Ok(verifier) = builder.clock(ManualClock::new(now())).build() {
        let _ = verify(&verifier, &TOKEN, &secret_parts(&TOKEN));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    as_token(&text);
    as_payload(data);
    as_hasura_secret(&text);
});
