//! `HASURA_GRAPHQL_JWT_SECRET`: the configuration Hasura verifies Nhost tokens with, read so
//! that an API server verifies them the same way.

use std::sync::Arc;

use serde_json::{Map, Value};
use time::Duration;

use super::algorithm::Algorithm;
use super::error::{VerifierConfigError, excerpt};
use super::keys::KeySource;
use super::verifier::{ClaimsLocation, JwtVerifierBuilder};
use crate::protocol::HASURA_CLAIMS_NAMESPACE;
use crate::secret::SecretString;
use crate::transport::HttpTransport;

/// The environment variable Hasura reads its JWT configuration from.
pub const HASURA_JWT_SECRET_ENV: &str = "HASURA_GRAPHQL_JWT_SECRET";

/// Where Hasura's configuration says the token is sent (its `header` field).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenLocation {
    /// `Authorization: Bearer <token>` (the default).
    #[default]
    Authorization,
    /// A cookie with this name.
    Cookie(String),
    /// A request header with this name, holding the bare token.
    CustomHeader(String),
}

/// A parsed `HASURA_GRAPHQL_JWT_SECRET`.
///
/// Supported fields: `type`, `key` (the HMAC secret, or a PEM public key or certificate),
/// `jwk_url`, `claims_namespace`, `claims_namespace_path` (`$`, `$.a.b`, `$['a.b'].c`),
/// `claims_format` (`json` or `stringified_json`, both read), `audience` (a string or a list),
/// `issuer`, `allowed_skew` (seconds) and `header`. `claims_map` is refused with
/// [`VerifierConfigError::UnsupportedField`], and so is any unknown field (a misspelt `issuer`
/// must not silently turn the issuer check off). An `allowed_skew` above
/// [`MAX_LEEWAY`](super::MAX_LEEWAY) is refused when the verifier is built.
///
/// The key is kept in a [`SecretString`]: `Debug` does not print it.
///
/// ```
/// use nhost_session_core::verify::{Algorithm, HasuraJwtSecret};
///
/// let secret = HasuraJwtSecret::parse(
///     r#"{"type":"HS256","key":"a-shared-secret-of-at-least-32-bytes!","issuer":"hasura-auth"}"#,
/// )?;
/// assert_eq!(secret.algorithm(), Some(Algorithm::Hs256));
/// assert_eq!(secret.issuer(), Some("hasura-auth"));
/// assert!(!format!("{secret:?}").contains("a-shared-secret"));
/// let verifier = secret.verifier_builder()?.build()?;
/// # let _ = verifier;
/// # Ok::<(), nhost_session_core::verify::VerifierConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct HasuraJwtSecret {
    algorithm: Option<Algorithm>,
    key: Option<SecretString>,
    jwk_url: Option<String>,
    claims: ClaimsLocation,
    audience: Vec<String>,
    issuer: Option<String>,
    allowed_skew: Option<Duration>,
    token_location: TokenLocation,
}

impl HasuraJwtSecret {
    /// Parses the JSON value of `HASURA_GRAPHQL_JWT_SECRET`.
    pub fn parse(json: &str) -> Result<Self, VerifierConfigError> {
        let value: Value = serde_json::from_str(json).map_err(|e| {
            invalid(format!(
                "not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(fields) = value else {
            return Err(invalid("not a JSON object".into()));
        };
        Self::from_fields(fields)
    }

    /// Reads and parses the `HASURA_GRAPHQL_JWT_SECRET` environment variable.
    pub fn from_env() -> Result<Self, VerifierConfigError> {
        match std::env::var(HASURA_JWT_SECRET_ENV) {
            Ok(json) => Self::parse(&json),
            Err(_) => Err(invalid(format!(
                "the {HASURA_JWT_SECRET_ENV} environment variable is not set or not UTF-8"
            ))),
        }
    }

    fn from_fields(fields: Map<String, Value>) -> Result<Self, VerifierConfigError> {
        let mut secret = Self {
            algorithm: None,
            key: None,
            jwk_url: None,
            claims: ClaimsLocation::Key(HASURA_CLAIMS_NAMESPACE.to_owned()),
            audience: Vec::new(),
            issuer: None,
            allowed_skew: None,
            token_location: TokenLocation::Authorization,
        };
        let mut namespace = None;
        let mut namespace_path = None;
        for (name, value) in fields {
            match name.as_str() {
                "type" => {
                    let name = string_field("type", value)?;
                    let alg = name
                        .parse::<Algorithm>()
                        .map_err(|e| invalid(e.to_string()))?;
                    secret.algorithm = Some(alg);
                }
                "key" => secret.key = Some(SecretString::new(string_field("key", value)?)),
                "jwk_url" => secret.jwk_url = Some(string_field("jwk_url", value)?),
                "claims_namespace" => namespace = Some(string_field("claims_namespace", value)?),
                "claims_namespace_path" => {
                    namespace_path = Some(string_field("claims_namespace_path", value)?)
                }
                "claims_format" => {
                    let format = string_field("claims_format", value)?;
                    if !matches!(format.as_str(), "json" | "stringified_json") {
                        return Err(invalid(format!(
                            "`claims_format` must be `json` or `stringified_json`, not `{}`",
                            excerpt(&format)
                        )));
                    }
                }
                "audience" => {
                    secret.audience = match value {
                        Value::String(aud) => vec![aud],
                        Value::Array(items) => items
                            .into_iter()
                            .map(|item| string_field("audience", item))
                            .collect::<Result<_, _>>()?,
                        _ => return Err(invalid("`audience` must be a string or a list".into())),
                    }
                }
                "issuer" => secret.issuer = Some(string_field("issuer", value)?),
                "allowed_skew" => {
                    let seconds = value.as_u64().ok_or_else(|| {
                        invalid("`allowed_skew` must be whole seconds, 0 or more".into())
                    })?;
                    let seconds = i64::try_from(seconds)
                        .map_err(|_| invalid("`allowed_skew` is too large".into()))?;
                    secret.allowed_skew = Some(Duration::seconds(seconds));
                }
                "header" => secret.token_location = token_location(value)?,
                "claims_map" => return Err(VerifierConfigError::UnsupportedField(name)),
                other => {
                    return Err(invalid(format!("unknown field `{}`", excerpt(other))));
                }
            }
        }
        match (&secret.key, &secret.jwk_url) {
            (Some(_), Some(_)) => {
                return Err(invalid("`key` and `jwk_url` exclude each other".into()));
            }
            (None, None) => return Err(invalid("one of `key` and `jwk_url` is required".into())),
            (Some(_), None) if secret.algorithm.is_none() => {
                return Err(invalid("`type` is required with `key`".into()));
            }
            _ => {}
        }
        secret.claims = match (namespace, namespace_path) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "`claims_namespace` and `claims_namespace_path` exclude each other".into(),
                ));
            }
            (Some(key), None) => ClaimsLocation::Key(key),
            (None, Some(path)) => ClaimsLocation::parse_path(&path).map_err(invalid)?,
            (None, None) => secret.claims,
        };
        Ok(secret)
    }

    /// `type`: the algorithm (required with `key`).
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.algorithm
    }

    /// `jwk_url`, when the keys come from a JWKS.
    pub fn jwk_url(&self) -> Option<&str> {
        self.jwk_url.as_deref()
    }

    /// Whether the configuration holds the key itself (`key`) rather than a `jwk_url`.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// `issuer`.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// `audience` (empty when not set).
    pub fn audience(&self) -> &[String] {
        &self.audience
    }

    /// `allowed_skew`.
    pub fn allowed_skew(&self) -> Option<Duration> {
        self.allowed_skew
    }

    /// `header`: where clients send the token.
    pub fn token_location(&self) -> &TokenLocation {
        &self.token_location
    }

    /// A verifier builder for a configuration with a `key`, with the issuer, audience, skew
    /// and claims namespace set. A `jwk_url` configuration needs a transport:
    /// [`VerifierConfigError::TransportRequired`]; use
    /// [`verifier_builder_with_transport`](Self::verifier_builder_with_transport).
    pub fn verifier_builder(&self) -> Result<JwtVerifierBuilder, VerifierConfigError> {
        match self.key_source(None)? {
            Some(source) => Ok(self.configure(JwtVerifierBuilder::new(source))),
            None => Err(VerifierConfigError::TransportRequired),
        }
    }

    /// A verifier builder for any configuration; the transport fetches the `jwk_url` (it is
    /// not used with a `key`).
    pub fn verifier_builder_with_transport(
        &self,
        transport: impl HttpTransport + 'static,
    ) -> Result<JwtVerifierBuilder, VerifierConfigError> {
        let transport: Arc<dyn HttpTransport> = Arc::new(transport);
        match self.key_source(Some(transport))? {
            Some(source) => Ok(self.configure(JwtVerifierBuilder::new(source))),
            None => Err(VerifierConfigError::TransportRequired),
        }
    }

    fn key_source(
        &self,
        transport: Option<Arc<dyn HttpTransport>>,
    ) -> Result<Option<KeySource>, VerifierConfigError> {
        if let (Some(key), Some(algorithm)) = (&self.key, self.algorithm) {
            let key = key.expose_secret();
            return if algorithm.is_symmetric() {
                KeySource::hmac_secret(algorithm, key.as_bytes()).map(Some)
            } else {
                KeySource::public_key_pem(algorithm, key).map(Some)
            };
        }
        match (&self.jwk_url, transport) {
            (Some(url), Some(transport)) => KeySource::jwks_url_shared(url, transport).map(Some),
            _ => Ok(None),
        }
    }

    fn configure(&self, mut builder: JwtVerifierBuilder) -> JwtVerifierBuilder {
        if let (Some(algorithm), None) = (self.algorithm, &self.key) {
            builder = builder.algorithms([algorithm]);
        }
        if let Some(issuer) = &self.issuer {
            builder = builder.issuer(issuer.clone());
        }
        if !self.audience.is_empty() {
            builder = builder.audiences(self.audience.iter().cloned());
        }
        if let Some(skew) = self.allowed_skew {
            builder = builder.leeway(skew);
        }
        builder.claims_location(self.claims.clone())
    }
}

fn invalid(message: String) -> VerifierConfigError {
    VerifierConfigError::InvalidSecret(message)
}

fn string_field(name: &str, value: Value) -> Result<String, VerifierConfigError> {
    match value {
        Value::String(text) => Ok(text),
        _ => Err(invalid(format!("`{name}` must be a string"))),
    }
}

fn token_location(value: Value) -> Result<TokenLocation, VerifierConfigError> {
    let name = |value: &Value| -> Result<String, VerifierConfigError> {
        value
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid("`header` needs a `name` for this `type`".into()))
    };
    match value.get("type").and_then(Value::as_str) {
        Some("Authorization") => Ok(TokenLocation::Authorization),
        Some("Cookie") => Ok(TokenLocation::Cookie(name(&value)?)),
        Some("CustomHeader") => Ok(TokenLocation::CustomHeader(name(&value)?)),
        _ => Err(invalid(
            "`header.type` must be `Authorization`, `Cookie` or `CustomHeader`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef-hs";

    fn parse(json: &str) -> Result<HasuraJwtSecret, VerifierConfigError> {
        HasuraJwtSecret::parse(json)
    }

    #[test]
    fn reads_every_supported_field() {
        let secret = parse(&format!(
            r#"{{"type":"HS512","key":"{KEY}","issuer":"hasura-auth","audience":["a","b"],
                "allowed_skew":5,"claims_format":"stringified_json",
                "claims_namespace_path":"$.hasura['claims']",
                "header":{{"type":"Cookie","name":"jwt"}}}}"#
        ))
        .unwrap();
        assert_eq!(secret.algorithm(), Some(Algorithm::Hs512));
        assert!(secret.has_key());
        assert_eq!(secret.audience(), ["a", "b"]);
        assert_eq!(secret.allowed_skew(), Some(Duration::seconds(5)));
        assert_eq!(
            secret.token_location(),
            &TokenLocation::Cookie("jwt".into())
        );
        assert!(
            matches!(&secret.claims, ClaimsLocation::Path { segments, .. } if segments == &["hasura", "claims"])
        );
        assert!(!format!("{secret:?}").contains(KEY));
        assert!(secret.verifier_builder().unwrap().build().is_ok());

        let jwks =
            parse(r#"{"jwk_url":"https://x.example/v1/.well-known/jwks.json","type":"RS256"}"#)
                .unwrap();
        assert_eq!(
            jwks.verifier_builder().unwrap_err(),
            VerifierConfigError::TransportRequired
        );
        assert_eq!(
            jwks.jwk_url(),
            Some("https://x.example/v1/.well-known/jwks.json")
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let cases = [
            (
                r#"{"type":"HS256","key":"k","claims_map":{}}"#,
                "unsupported",
            ),
            (r#"{"type":"HS256","key":"k","isuer":"x"}"#, "invalid"),
            (
                r#"{"type":"HS256","key":"k","jwk_url":"https://x"}"#,
                "invalid",
            ),
            (r#"{"type":"HS256"}"#, "invalid"),
            (r#"{"key":"k"}"#, "invalid"),
            (r#"{"type":"none","key":"k"}"#, "invalid"),
            (
                r#"{"type":"HS256","key":"k","claims_namespace":"a","claims_namespace_path":"$"}"#,
                "invalid",
            ),
            (
                r#"{"type":"HS256","key":"k","claims_namespace_path":"hasura"}"#,
                "invalid",
            ),
            (r#"{"type":"HS256","key":"k","allowed_skew":-1}"#, "invalid"),
            (
                r#"{"type":"HS256","key":"k","header":{"type":"Cookie"}}"#,
                "invalid",
            ),
            ("[]", "invalid"),
            ("{", "invalid"),
        ];
        for (json, kind) in cases {
            let error = parse(json).unwrap_err();
            match kind {
                "unsupported" => assert!(
                    matches!(error, VerifierConfigError::UnsupportedField(_)),
                    "{json}"
                ),
                _ => assert!(
                    matches!(error, VerifierConfigError::InvalidSecret(_)),
                    "{json}: {error}"
                ),
            }
        }
        let weak = parse(r#"{"type":"HS256","key":"short-secret"}"#).unwrap();
        assert!(matches!(
            weak.verifier_builder(),
            Err(VerifierConfigError::WeakSecret { .. })
        ));
        let bad_pem = parse(r#"{"type":"RS256","key":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}"#).unwrap();
        assert!(matches!(
            bad_pem.verifier_builder(),
            Err(VerifierConfigError::InvalidKey(_))
        ));
    }
}
