//! The fake identity provider behind `POST /signin/idtoken`: it accepts ID tokens signed with
//! its own HS256 secret, issued by [`ID_TOKEN_ISSUER`] for [`ID_TOKEN_AUDIENCE`].

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Secret of the fake identity provider (public: ID tokens it signs prove nothing).
pub const ID_TOKEN_SECRET: &str = "nhost-session-testkit-fake-idp-secret";
/// `iss` of the fake identity provider's ID tokens.
pub const ID_TOKEN_ISSUER: &str = "https://idp.nhost-testkit.invalid";
/// `aud` the fake server expects in ID tokens.
pub const ID_TOKEN_AUDIENCE: &str = "nhost-session-testkit";
/// How long made ID tokens live.
const LIFETIME_SECS: i64 = 600;

/// The claims of a fake ID token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct IdClaims {
    pub(crate) iss: String,
    pub(crate) aud: String,
    pub(crate) sub: String,
    pub(crate) email: String,
    pub(crate) email_verified: bool,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
    /// Which provider it pretends to come from.
    pub(crate) provider: String,
}

/// Makes an ID token for `email` at `now_secs`, valid 10 minutes.
pub fn make(provider: &str, email: &str, nonce: Option<&str>, now_secs: i64) -> String {
    let claims = IdClaims {
        iss: ID_TOKEN_ISSUER.to_owned(),
        aud: ID_TOKEN_AUDIENCE.to_owned(),
        sub: format!("{provider}|{}", email.to_lowercase()),
        email: email.to_owned(),
        email_verified: true,
        iat: now_secs,
        exp: now_secs.saturating_add(LIFETIME_SECS),
        nonce: nonce.map(str::to_owned),
        provider: provider.to_owned(),
    };
    EncodingKey::from_secret(ID_TOKEN_SECRET.as_bytes())
        .and_then(|key| jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key))
        .unwrap_or_default()
}

/// Checks an ID token: signature, issuer, audience, provider, expiry on the fake clock and
/// nonce (a token with a nonce needs the same nonce in the request).
pub(crate) fn check(
    token: &str,
    provider: &str,
    nonce: Option<&str>,
    now_secs: i64,
) -> Option<IdClaims> {
    let key = DecodingKey::from_secret(ID_TOKEN_SECRET.as_bytes()).ok()?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.set_audience(&[ID_TOKEN_AUDIENCE]);
    validation.set_issuer(&[ID_TOKEN_ISSUER]);
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .ok()?
        .claims;
    let fresh = now_secs < claims.exp;
    let nonce_ok = claims.nonce.as_deref() == nonce || claims.nonce.is_none();
    (fresh && nonce_ok && claims.provider == provider).then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_tokens_pass_the_check_and_bad_ones_do_not() {
        let token = make("google", "a@example.com", Some("n1"), 1000);
        assert!(check(&token, "google", Some("n1"), 1500).is_some());
        assert!(check(&token, "google", Some("n2"), 1500).is_none());
        assert!(check(&token, "google", None, 1500).is_none());
        assert!(check(&token, "apple", Some("n1"), 1500).is_none());
        assert!(check(&token, "google", Some("n1"), 1600).is_none());
        assert!(check("x.y.z", "google", None, 1500).is_none());
        let plain = make("apple", "b@example.com", None, 1000);
        assert!(check(&plain, "apple", Some("anything"), 1000).is_some());
    }
}
