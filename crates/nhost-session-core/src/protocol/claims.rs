//! Hasura claims read from a JWT's payload.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// The claim that holds Hasura's claims in Nhost JWTs.
pub const HASURA_CLAIMS_NAMESPACE: &str = "https://hasura.io/jwt/claims";

/// A JWT payload is never this large; refusing early bounds the work on hostile input.
const MAX_JWT_LEN: usize = 64 * 1024;

/// The claims of an Nhost access token, typed.
///
/// Nhost writes `x-hasura-user-is-anonymous` as the string `"true"`/`"false"` and custom array
/// claims Postgres-style (`"{a,b}"`); both are decoded here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HasuraClaims {
    /// `sub`: the user id.
    pub subject: Option<String>,
    /// `iss`: `hasura-auth` by default.
    pub issuer: Option<String>,
    /// `iat`.
    pub issued_at: Option<OffsetDateTime>,
    /// `exp`, as the server's clock sees it. The client keeps its own expiry (time of receipt
    /// plus the lifetime), because clocks differ.
    pub expires_at: Option<OffsetDateTime>,
    /// `x-hasura-user-id`.
    pub user_id: String,
    /// `x-hasura-default-role`.
    pub default_role: String,
    /// `x-hasura-allowed-roles`.
    pub allowed_roles: Vec<String>,
    /// `x-hasura-user-is-anonymous`.
    pub is_anonymous: bool,
    /// Every other `x-hasura-*` claim, keyed by its lower-case name.
    pub custom: BTreeMap<String, ClaimValue>,
}

/// The value of a custom claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimValue {
    /// A plain string.
    Text(String),
    /// A list: a JSON array, or a string in Postgres array syntax (`{a,b}`).
    List(Vec<String>),
    /// Anything else (numbers, booleans, objects), as JSON.
    Json(Value),
}

/// Why a JWT's claims could not be read. Never quotes the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// Not three dot-separated parts, too long, or not base64url.
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    /// The payload is not a JSON object.
    #[error("the JWT payload is not a JSON object")]
    NotJson,
    /// The payload has no Hasura claims namespace.
    #[error("the JWT has no `{0}` claims")]
    MissingNamespace(String),
    /// A required Hasura claim is missing or has the wrong type.
    #[error("the JWT's Hasura claim `{0}` is missing or invalid")]
    InvalidClaim(&'static str),
}

impl HasuraClaims {
    /// Reads the claims from a JWT WITHOUT verifying its signature. Use this only on a token
    /// the program got from the auth service itself (as an SSR app does); a token received from
    /// a client must be verified first.
    pub fn decode_unverified(jwt: &str) -> Result<Self, ClaimsError> {
        let payload = decode_payload(jwt)?;
        Self::from_payload(&payload, HASURA_CLAIMS_NAMESPACE)
    }

    /// Reads the claims from a decoded JWT payload, with the Hasura claims under `namespace`.
    pub fn from_payload(
        payload: &Map<String, Value>,
        namespace: &str,
    ) -> Result<Self, ClaimsError> {
        let hasura = match payload.get(namespace) {
            Some(Value::Object(map)) => map.clone(),
            // Hasura's `claims_format: stringified_json` puts the object in a string.
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                _ => return Err(ClaimsError::MissingNamespace(namespace.to_owned())),
            },
            _ => return Err(ClaimsError::MissingNamespace(namespace.to_owned())),
        };
        let mut claims = Self {
            subject: string_claim(payload.get("sub")),
            issuer: string_claim(payload.get("iss")),
            issued_at: time_claim(payload.get("iat")),
            expires_at: time_claim(payload.get("exp")),
            user_id: String::new(),
            default_role: String::new(),
            allowed_roles: Vec::new(),
            is_anonymous: false,
            custom: BTreeMap::new(),
        };
        for (name, value) in hasura {
            match name.to_ascii_lowercase().as_str() {
                "x-hasura-user-id" => {
                    claims.user_id = string_claim(Some(&value))
                        .ok_or(ClaimsError::InvalidClaim("x-hasura-user-id"))?
                }
                "x-hasura-default-role" => {
                    claims.default_role = string_claim(Some(&value))
                        .ok_or(ClaimsError::InvalidClaim("x-hasura-default-role"))?
                }
                "x-hasura-allowed-roles" => match ClaimValue::from_json(value) {
                    ClaimValue::List(roles) => claims.allowed_roles = roles,
                    ClaimValue::Text(role) => claims.allowed_roles = vec![role],
                    ClaimValue::Json(_) => {
                        return Err(ClaimsError::InvalidClaim("x-hasura-allowed-roles"));
                    }
                },
                "x-hasura-user-is-anonymous" => {
                    claims.is_anonymous = match value {
                        Value::Bool(b) => b,
                        Value::String(s) => s.eq_ignore_ascii_case("true"),
                        _ => return Err(ClaimsError::InvalidClaim("x-hasura-user-is-anonymous")),
                    }
                }
                other => {
                    claims
                        .custom
                        .insert(other.to_owned(), ClaimValue::from_json(value));
                }
            }
        }
        if claims.user_id.is_empty() {
            claims.user_id = claims.subject.clone().unwrap_or_default();
        }
        if claims.user_id.is_empty() {
            return Err(ClaimsError::InvalidClaim("x-hasura-user-id"));
        }
        Ok(claims)
    }

    /// A custom claim by name (`x-hasura-…`, any case).
    pub fn get(&self, name: &str) -> Option<&ClaimValue> {
        self.custom.get(&name.to_ascii_lowercase())
    }
}

impl ClaimValue {
    /// Decodes a claim as Nhost writes it: Postgres array strings become lists.
    pub fn from_json(value: Value) -> Self {
        match value {
            Value::String(text) => match parse_postgres_array(&text) {
                Some(list) => Self::List(list),
                None => Self::Text(text),
            },
            Value::Array(items) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        _ => None,
                    })
                    .collect();
                match strings {
                    Some(list) => Self::List(list),
                    None => Self::Json(Value::Array(items)),
                }
            }
            other => Self::Json(other),
        }
    }
}

/// Decodes the payload part of a JWT into a JSON object, without any verification.
pub(crate) fn decode_payload(jwt: &str) -> Result<Map<String, Value>, ClaimsError> {
    if jwt.len() > MAX_JWT_LEN {
        return Err(ClaimsError::Malformed("longer than 64 KiB"));
    }
    let mut parts = jwt.trim().split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimsError::Malformed("not three dot-separated parts"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ClaimsError::Malformed("the payload is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ClaimsError::NotJson),
    }
}

fn string_claim(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn time_claim(value: Option<&Value>) -> Option<OffsetDateTime> {
    let seconds = value?.as_f64()?;
    if !seconds.is_finite() {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(seconds.trunc() as i64).ok()
}

/// Parses Postgres array syntax (`{a,"b c",d}`) into its elements. `None` when the text is not
/// such an array, so that it stays a plain string.
fn parse_postgres_array(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => item.push(chars.next()?),
                    '"' => break,
                    c => item.push(c),
                }
            }
            match chars.next() {
                None => {
                    items.push(item);
                    return Some(items);
                }
                Some(',') => items.push(item),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        items.push(item.trim().to_owned());
                        return Some(items);
                    }
                    Some(',') => break,
                    Some('"' | '{' | '}') => return None,
                    Some(c) => item.push(c),
                }
            }
            items.push(item.trim().to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(payload: &Value) -> String {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!(
            "{}.{}.sig",
            enc(&json!({"alg":"RS256","typ":"JWT"})),
            enc(payload)
        )
    }

    #[test]
    fn decodes_nhost_claims_with_their_quirks() {
        let token = jwt(&json!({
            "sub": "u1", "iat": 1_700_000_000, "exp": 1_700_000_900, "iss": "hasura-auth",
            HASURA_CLAIMS_NAMESPACE: {
                "x-hasura-user-id": "u1",
                "x-hasura-default-role": "user",
                "x-hasura-allowed-roles": ["user", "me"],
                "x-hasura-user-is-anonymous": "false",
                "x-hasura-Org-Ids": "{a,\"b,c\",d}",
                "x-hasura-tier": "gold",
                "x-hasura-empty": "{}"
            }
        }));
        let claims = HasuraClaims::decode_unverified(&token).unwrap();
        assert_eq!(claims.user_id, "u1");
        assert_eq!(claims.allowed_roles, ["user", "me"]);
        assert!(!claims.is_anonymous);
        assert_eq!(claims.issuer.as_deref(), Some("hasura-auth"));
        assert_eq!(claims.expires_at.unwrap().unix_timestamp(), 1_700_000_900);
        assert_eq!(
            claims.get("X-Hasura-Org-Ids"),
            Some(&ClaimValue::List(vec![
                "a".into(),
                "b,c".into(),
                "d".into()
            ]))
        );
        assert_eq!(
            claims.get("x-hasura-tier"),
            Some(&ClaimValue::Text("gold".into()))
        );
        assert_eq!(
            claims.get("x-hasura-empty"),
            Some(&ClaimValue::List(vec![]))
        );
    }

    #[test]
    fn anonymous_is_a_string_boolean() {
        let token = jwt(&json!({ HASURA_CLAIMS_NAMESPACE: {
            "x-hasura-user-id": "u", "x-hasura-default-role": "anonymous",
            "x-hasura-allowed-roles": ["anonymous"], "x-hasura-user-is-anonymous": "true" }}));
        assert!(
            HasuraClaims::decode_unverified(&token)
                .unwrap()
                .is_anonymous
        );
    }

    #[test]
    fn bad_tokens_give_typed_errors() {
        assert!(matches!(
            HasuraClaims::decode_unverified(""),
            Err(ClaimsError::Malformed(_))
        ));
        assert!(matches!(
            HasuraClaims::decode_unverified("a.b"),
            Err(ClaimsError::Malformed(_))
        ));
        assert!(matches!(
            HasuraClaims::decode_unverified("a.!!!.c"),
            Err(ClaimsError::Malformed(_))
        ));
        assert!(matches!(
            HasuraClaims::decode_unverified("a.W10.c"),
            Err(ClaimsError::NotJson)
        ));
        let no_ns = jwt(&json!({"sub": "x"}));
        assert!(matches!(
            HasuraClaims::decode_unverified(&no_ns),
            Err(ClaimsError::MissingNamespace(_))
        ));
        let bad_role = jwt(
            &json!({ HASURA_CLAIMS_NAMESPACE: {"x-hasura-user-id": "u", "x-hasura-default-role": true}}),
        );
        assert_eq!(
            HasuraClaims::decode_unverified(&bad_role),
            Err(ClaimsError::InvalidClaim("x-hasura-default-role"))
        );
    }

    #[test]
    fn postgres_arrays() {
        assert_eq!(
            parse_postgres_array("{a,b}"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse_postgres_array("{\"a\\\"b\"}"),
            Some(vec!["a\"b".into()])
        );
        assert_eq!(parse_postgres_array("{a"), None);
        assert_eq!(parse_postgres_array("{\"a\"x}"), None);
        assert_eq!(parse_postgres_array("{\"a}"), None);
        assert_eq!(parse_postgres_array("plain"), None);
    }
}
