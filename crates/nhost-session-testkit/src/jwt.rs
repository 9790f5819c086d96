//! Access tokens: the claims the real server puts in them, signing, and verification the way
//! the auth server and Hasura check them (no leeway, expiry on the fake clock).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::keys::KeyRing;
use crate::users::UserRecord;

/// The issuer the real server uses by default.
pub(crate) const ISSUER: &str = "hasura-auth";

/// The payload of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub(crate) sub: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) iss: String,
    #[serde(rename = "https://hasura.io/jwt/claims")]
    pub(crate) hasura: Map<String, Value>,
}

impl AccessClaims {
    /// A Hasura claim as a string (they all are).
    pub(crate) fn hasura_str(&self, name: &str) -> Option<&str> {
        self.hasura.get(name).and_then(Value::as_str)
    }

    pub(crate) fn allowed_roles(&self) -> Vec<String> {
        self.hasura
            .get("x-hasura-allowed-roles")
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn is_anonymous(&self) -> bool {
        self.hasura_str("x-hasura-user-is-anonymous") == Some("true")
    }
}

/// Encodes a custom claim value as the real server does (`pgEncode`): strings as they are,
/// arrays as their JSON text with the outer brackets turned into braces (`{"a","b"}`), other
/// values as JSON text.
pub(crate) fn pg_encode(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(_) => {
            let text = value.to_string();
            let inner = text
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or_default();
            format!("{{{inner}}}")
        }
        other => other.to_string(),
    }
}

/// The Hasura claims of a user: the four standard ones, then the custom ones (which may not
/// override them).
pub(crate) fn hasura_claims(user: &UserRecord) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert(
        "x-hasura-allowed-roles".to_owned(),
        Value::from(user.allowed_roles.clone()),
    );
    claims.insert(
        "x-hasura-default-role".to_owned(),
        Value::from(user.default_role.clone()),
    );
    claims.insert(
        "x-hasura-user-id".to_owned(),
        Value::from(user.id.to_string()),
    );
    claims.insert(
        "x-hasura-user-is-anonymous".to_owned(),
        Value::from(user.is_anonymous.to_string()),
    );
    for (name, value) in &user.custom_claims {
        let key = format!("x-hasura-{name}").to_lowercase();
        claims
            .entry(key)
            .or_insert_with(|| Value::from(pg_encode(value)));
    }
    claims
}

/// Signs an access token for `user`, issued at `now_secs`, living `ttl_secs`.
pub(crate) fn issue(
    keys: &KeyRing,
    user: &UserRecord,
    now_secs: i64,
    ttl_secs: i64,
) -> jsonwebtoken::errors::Result<String> {
    let signer = keys.signer();
    let mut header = Header::new(signer.algorithm);
    header.kid = signer.kid.map(str::to_owned);
    let claims = AccessClaims {
        sub: user.id.to_string(),
        iat: now_secs,
        exp: now_secs.saturating_add(ttl_secs),
        iss: ISSUER.to_owned(),
        hasura: hasura_claims(user),
    };
    jsonwebtoken::encode(&header, &claims, signer.key)
}

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum VerifyError {
    /// Not three base64url parts of JSON.
    Malformed(String),
    /// Signed by no published key, or the algorithm does not match.
    InvalidSignature,
    /// `exp` is not after now.
    Expired,
    /// Something else about the claims (missing `exp`, wrong issuer, `iat` in the future).
    Claims(String),
}

impl VerifyError {
    /// The message Hasura would put after `Could not verify JWT: `.
    pub(crate) fn hasura_message(&self) -> String {
        match self {
            Self::Malformed(detail) => format!("JWSError ({detail})"),
            Self::InvalidSignature => "JWSError JWSInvalidSignature".to_owned(),
            Self::Expired => "JWTExpired".to_owned(),
            Self::Claims(detail) => format!("JWTClaimsSetDecodeError {detail:?}"),
        }
    }

    /// A short reason for the auth API's 401.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Malformed(_) => "token is malformed".to_owned(),
            Self::InvalidSignature => "token signature is invalid".to_owned(),
            Self::Expired => "token has invalid claims: token is expired".to_owned(),
            Self::Claims(detail) => format!("token has invalid claims: {detail}"),
        }
    }
}

/// How strictly to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checker {
    /// The auth server: issuer `hasura-auth`, `iat` not in the future.
    AuthServer,
    /// Hasura with the default `HASURA_GRAPHQL_JWT_SECRET`: no issuer or `iat` check.
    Hasura,
}

/// Verifies a token's signature with the published keys and its `exp` against `now_ms`
/// (valid while `now < exp`, no leeway).
pub(crate) fn verify(
    keys: &KeyRing,
    token: &str,
    now_ms: i64,
    checker: Checker,
) -> Result<AccessClaims, VerifyError> {
    let parts = token.split('.').count();
    if parts != 3 {
        return Err(VerifyError::Malformed(format!(
            "CompactDecodeError Invalid number of parts: Expected 3 parts; got {parts}"
        )));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| VerifyError::Malformed(format!("JSONDecodeError {e}")))?;
    let (algorithm, key) = keys
        .verifier(header.kid.as_deref())
        .ok_or(VerifyError::InvalidSignature)?;
    if header.alg != algorithm {
        return Err(VerifyError::InvalidSignature);
    }
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Value>(token, key, &validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => {
                VerifyError::InvalidSignature
            }
            ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_)
            | ErrorKind::InvalidToken => VerifyError::Malformed(format!("JSONDecodeError {e}")),
            _ => VerifyError::Claims(e.to_string()),
        })?;
    let exp = data
        .claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| VerifyError::Claims("token is missing required claim: exp".to_owned()))?;
    if now_ms >= exp.saturating_mul(1000) {
        return Err(VerifyError::Expired);
    }
    let claims: AccessClaims =
        serde_json::from_value(data.claims).map_err(|e| VerifyError::Claims(e.to_string()))?;
    if checker == Checker::AuthServer {
        if claims.iss != ISSUER {
            return Err(VerifyError::Claims("token has invalid issuer".to_owned()));
        }
        if claims.iat.saturating_mul(1000) > now_ms {
            return Err(VerifyError::Claims("token used before issued".to_owned()));
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{Config, JwtAlgorithm};
    use serde_json::json;

    #[test]
    fn pg_encode_matches_the_real_server() {
        assert_eq!(pg_encode(&json!(["a", "b"])), r#"{"a","b"}"#);
        assert_eq!(pg_encode(&json!([])), "{}");
        assert_eq!(pg_encode(&json!("x")), "x");
        assert_eq!(pg_encode(&json!(3)), "3");
        assert_eq!(pg_encode(&json!(true)), "true");
    }

    fn user() -> UserRecord {
        UserRecord::blank(&Config::default(), 0)
    }

    #[test]
    fn tokens_verify_until_exp_and_not_after() {
        for algorithm in [JwtAlgorithm::Hs256, JwtAlgorithm::Rs256] {
            let keys = KeyRing::new(algorithm).unwrap();
            let token = issue(&keys, &user(), 1000, 900).unwrap();
            let claims = verify(&keys, &token, 1_899_999, Checker::AuthServer).unwrap();
            assert_eq!(claims.exp, 1900);
            assert_eq!(
                claims.hasura_str("x-hasura-user-is-anonymous"),
                Some("false")
            );
            assert_eq!(claims.hasura_str("x-hasura-organisation-ids"), Some("{}"));
            assert_eq!(
                verify(&keys, &token, 1_900_000, Checker::Hasura).unwrap_err(),
                VerifyError::Expired
            );
        }
    }

    #[test]
    fn tampering_and_garbage_are_refused() {
        let keys = KeyRing::new(JwtAlgorithm::Rs256).unwrap();
        let token = issue(&keys, &user(), 1000, 900).unwrap();
        // Change the first signature character: any base64url symbol there decodes.
        let dot = token.rfind('.').unwrap();
        let first = &token[dot + 1..dot + 2];
        let tampered = format!(
            "{}{}{}",
            &token[..=dot],
            if first == "A" { "B" } else { "A" },
            &token[dot + 2..]
        );
        assert_eq!(
            verify(&keys, &tampered, 1_000_000, Checker::Hasura).unwrap_err(),
            VerifyError::InvalidSignature
        );
        assert!(matches!(
            verify(&keys, "garbage", 1_000_000, Checker::Hasura).unwrap_err(),
            VerifyError::Malformed(_)
        ));
        let hs = KeyRing::new(JwtAlgorithm::Hs256).unwrap();
        let foreign = issue(&hs, &user(), 1000, 900).unwrap();
        assert_eq!(
            verify(&keys, &foreign, 1_000_000, Checker::Hasura).unwrap_err(),
            VerifyError::InvalidSignature
        );
    }

    #[test]
    fn rotated_keys_keep_old_tokens_valid() {
        let keys = KeyRing::new(JwtAlgorithm::Rs256).unwrap();
        let old = issue(&keys, &user(), 1000, 900).unwrap();
        keys.rotate();
        let new = issue(&keys, &user(), 1000, 900).unwrap();
        assert!(verify(&keys, &old, 1_000_000, Checker::Hasura).is_ok());
        assert!(verify(&keys, &new, 1_000_000, Checker::Hasura).is_ok());
        keys.reset();
        assert_eq!(
            verify(&keys, &new, 1_000_000, Checker::Hasura).unwrap_err(),
            VerifyError::InvalidSignature
        );
    }
}
