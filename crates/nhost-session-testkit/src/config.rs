//! Server settings: the builder, rotation modes, JWT algorithms and seeded users.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::server::FakeAuthServer;

/// How `POST /token` treats the refresh token it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rotation {
    /// The real server since v0.38: every refresh answers a new refresh token with the same
    /// `refreshTokenId`, and the old token is dead at once.
    #[default]
    Strict,
    /// Servers v0.8 to v0.37: the same refresh token comes back; only its expiry slides.
    None,
    /// Servers before 2022: a new token comes back, and the old one is still accepted for
    /// the given time after the refresh that replaced it.
    Grace(Duration),
}

impl FromStr for Rotation {
    type Err = String;

    /// Parses `strict`, `none` or `grace=SECS`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Self::Strict),
            "none" => Ok(Self::None),
            _ => match s.strip_prefix("grace=") {
                Some(secs) => secs
                    .parse::<u64>()
                    .map(|secs| Self::Grace(Duration::from_secs(secs)))
                    .map_err(|_| format!("`{s}`: the grace window must be whole seconds")),
                None => Err(format!("`{s}`: expected `strict`, `none` or `grace=SECS`")),
            },
        }
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Strict => f.write_str("strict"),
            Self::None => f.write_str("none"),
            Self::Grace(d) => write!(f, "grace={}", d.as_secs()),
        }
    }
}

/// The algorithm that signs access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JwtAlgorithm {
    /// HMAC with the shared secret [`crate::keys::HS256_SECRET`]; JWKS answers `{"keys":null}`.
    Hs256,
    /// RSA with the fixed test keys in [`crate::keys`]; tokens carry a `kid`, JWKS lists the keys.
    #[default]
    Rs256,
}

impl FromStr for JwtAlgorithm {
    type Err = String;

    /// Parses `hs256` or `rs256` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hs256" => Ok(Self::Hs256),
            "rs256" => Ok(Self::Rs256),
            _ => Err(format!("`{s}`: expected `hs256` or `rs256`")),
        }
    }
}

impl JwtAlgorithm {
    /// The `alg` name, as in a JWT header (`HS256`, `RS256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
        }
    }
}

/// A user that exists from the start (and again after every reset).
///
/// Deserialises from the admin API's camelCase JSON:
/// `{"email","password","displayName","metadata","defaultRole","allowedRoles","customClaims",
/// "phoneNumber","emailVerified","locale","disabled","totpSecret"}` (all but `email` optional).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedUser {
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) password: Option<String>,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    #[serde(default)]
    pub(crate) metadata: Option<Value>,
    #[serde(default)]
    pub(crate) default_role: Option<String>,
    #[serde(default)]
    pub(crate) allowed_roles: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) custom_claims: Option<Map<String, Value>>,
    #[serde(default)]
    pub(crate) phone_number: Option<String>,
    #[serde(default = "yes")]
    pub(crate) email_verified: bool,
    #[serde(default)]
    pub(crate) locale: Option<String>,
    #[serde(default)]
    pub(crate) disabled: bool,
    #[serde(default)]
    pub(crate) totp_secret: Option<String>,
}

fn yes() -> bool {
    true
}

impl SeedUser {
    /// A user who signs in with this e-mail and password. Their e-mail counts as verified.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: Some(password.into()),
            display_name: None,
            metadata: None,
            default_role: None,
            allowed_roles: None,
            custom_claims: None,
            phone_number: None,
            email_verified: true,
            locale: None,
            disabled: false,
            totp_secret: None,
        }
    }

    /// The display name (default: the e-mail, as the real server does).
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// The user's metadata object (default: none, sent as `null`).
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The default role (default: the server's, `user`).
    pub fn default_role(mut self, role: impl Into<String>) -> Self {
        self.default_role = Some(role.into());
        self
    }

    /// The allowed roles (default: the server's, `["user","me"]`). The default role is added
    /// when missing.
    pub fn allowed_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// A custom claim, named without the `x-hasura-` prefix, as `AUTH_JWT_CUSTOM_CLAIMS` does.
    /// Strings are sent as they are, arrays Postgres-style (`["a","b"]` becomes `{"a","b"}`),
    /// other values as JSON text. The first call replaces the server's default claims.
    pub fn custom_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom_claims
            .get_or_insert_with(Map::new)
            .insert(name.into(), value.into());
        self
    }

    /// A phone number (default: none, so `phoneNumber` is absent from the user JSON).
    pub fn phone_number(mut self, phone: impl Into<String>) -> Self {
        self.phone_number = Some(phone.into());
        self
    }

    /// Whether the e-mail counts as verified (default: yes).
    pub fn email_verified(mut self, verified: bool) -> Self {
        self.email_verified = verified;
        self
    }

    /// The two-letter locale (default: `en`).
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// A disabled user gets 401 `disabled-user` on sign-in and refresh.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// Turns TOTP MFA on with this base32 secret, so sign-in asks for a code
    /// (see [`crate::totp::code_at`] and [`FakeAuthServer::totp_code`]).
    pub fn totp_secret(mut self, secret: impl Into<String>) -> Self {
        self.totp_secret = Some(secret.into());
        self
    }
}

/// Everything the builder sets.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) rotation: Rotation,
    pub(crate) conceal_errors: bool,
    pub(crate) algorithm: JwtAlgorithm,
    pub(crate) api_prefix: String,
    pub(crate) anonymous_users: bool,
    pub(crate) seed_users: Vec<SeedUser>,
    pub(crate) latency: Duration,
    pub(crate) port: u16,
    pub(crate) client_url: String,
    pub(crate) email_verification_required: bool,
    pub(crate) default_role: String,
    pub(crate) allowed_roles: Vec<String>,
    pub(crate) allowed_locales: Vec<String>,
    pub(crate) default_custom_claims: Map<String, Value>,
    pub(crate) worker_threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        let mut claims = Map::new();
        claims.insert("organisation-ids".to_owned(), Value::Array(Vec::new()));
        Self {
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            rotation: Rotation::Strict,
            conceal_errors: false,
            algorithm: JwtAlgorithm::Rs256,
            api_prefix: "/v1".to_owned(),
            anonymous_users: true,
            seed_users: Vec::new(),
            latency: Duration::ZERO,
            port: 0,
            client_url: "http://localhost:3000".to_owned(),
            email_verification_required: false,
            default_role: "user".to_owned(),
            allowed_roles: vec!["user".to_owned(), "me".to_owned()],
            allowed_locales: vec!["en".to_owned()],
            default_custom_claims: claims,
            worker_threads: 2,
        }
    }
}

/// Settings for a [`FakeAuthServer`]; [`FakeAuthServerBuilder::start`] runs it.
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct FakeAuthServerBuilder {
    pub(crate) config: Config,
    custom_claims_set: bool,
}

impl FakeAuthServerBuilder {
    /// The default settings: RS256, strict rotation, 900 s access tokens, 30-day sliding
    /// refresh tokens, prefix `/v1`, anonymous users on, no seeded users, no latency,
    /// a free port on 127.0.0.1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lifetime of access tokens, also sent as `accessTokenExpiresIn` (default 900 s).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.access_token_ttl = ttl;
        self
    }

    /// Lifetime of refresh tokens, pushed forward by every refresh (default 30 days).
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.refresh_token_ttl = ttl;
        self
    }

    /// How `POST /token` rotates refresh tokens (default [`Rotation::Strict`]).
    pub fn rotation(mut self, rotation: Rotation) -> Self {
        self.config.rotation = rotation;
        self
    }

    /// `AUTH_CONCEAL_ERRORS`: sensitive errors (among them `invalid-refresh-token`,
    /// `invalid-email-password`, `invalid-ticket`, `invalid-totp`, `invalid-pat`) all become
    /// `400 {"status":400,"error":"invalid-request","message":"The request payload is incorrect"}`.
    pub fn conceal_errors(mut self, conceal: bool) -> Self {
        self.config.conceal_errors = conceal;
        self
    }

    /// The JWT signing algorithm (default [`JwtAlgorithm::Rs256`]).
    pub fn jwt_algorithm(mut self, algorithm: JwtAlgorithm) -> Self {
        self.config.algorithm = algorithm;
        self
    }

    /// `AUTH_API_PREFIX` (default `/v1`; `""` serves the API at the root). A trailing slash
    /// is dropped and a leading one added.
    pub fn api_prefix(mut self, prefix: &str) -> Self {
        let trimmed = prefix.trim_matches('/');
        self.config.api_prefix = if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Whether `POST /signin/anonymous` works (default yes; otherwise 409 `disabled-endpoint`).
    pub fn anonymous_users(mut self, enabled: bool) -> Self {
        self.config.anonymous_users = enabled;
        self
    }

    /// A user present from the start and after every reset.
    pub fn seed_user(mut self, user: SeedUser) -> Self {
        self.config.seed_users.push(user);
        self
    }

    /// Extra time every API call waits before it is handled (admin calls excepted).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.config.latency = latency;
        self
    }

    /// The port on 127.0.0.1 (default 0: a free port chosen by the system).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// `AUTH_CLIENT_URL`: where redirects go when a request names no `redirectTo`
    /// (default `http://localhost:3000`).
    pub fn client_url(mut self, url: impl Into<String>) -> Self {
        self.config.client_url = url.into();
        self
    }

    /// `AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED` (default off here): when on, sign-up answers
    /// `{"session":null}` and mails a verification link, and sign-in with an unverified e-mail
    /// gets 401 `unverified-user`.
    pub fn email_verification_required(mut self, required: bool) -> Self {
        self.config.email_verification_required = required;
        self
    }

    /// `AUTH_USER_DEFAULT_ROLE` (default `user`).
    pub fn default_role(mut self, role: impl Into<String>) -> Self {
        self.config.default_role = role.into();
        self
    }

    /// `AUTH_USER_DEFAULT_ALLOWED_ROLES` (default `["user","me"]`): the roles new users get,
    /// and the only ones a sign-up may ask for.
    pub fn allowed_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.allowed_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// `AUTH_LOCALE_ALLOWED_LOCALES` (default `["en"]`).
    pub fn allowed_locales<I, S>(mut self, locales: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.allowed_locales = locales.into_iter().map(Into::into).collect();
        self
    }

    /// A custom claim every user gets unless they have their own (named without the
    /// `x-hasura-` prefix). By default every user has `organisation-ids: []`, sent as
    /// `"x-hasura-organisation-ids": "{}"`. The first call replaces that default.
    pub fn default_custom_claim(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Self {
        if !self.custom_claims_set {
            self.config.default_custom_claims.clear();
            self.custom_claims_set = true;
        }
        self.config
            .default_custom_claims
            .insert(name.into(), value.into());
        self
    }

    /// Worker threads of the server's own tokio runtime: 1 or 2 (default 2).
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.config.worker_threads = threads.clamp(1, 2);
        self
    }

    /// Binds 127.0.0.1, starts the server on a background thread with its own runtime, and
    /// returns once it accepts connections. Works from sync code and from inside any runtime.
    ///
    /// # Errors
    /// When the port cannot be bound or the runtime cannot be built.
    pub fn start(self) -> std::io::Result<FakeAuthServer> {
        FakeAuthServer::start_with(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_parses_the_cli_forms() {
        assert_eq!("strict".parse(), Ok(Rotation::Strict));
        assert_eq!("none".parse(), Ok(Rotation::None));
        assert_eq!(
            "grace=10".parse(),
            Ok(Rotation::Grace(Duration::from_secs(10)))
        );
        assert!("grace=x".parse::<Rotation>().is_err());
        assert!("sometimes".parse::<Rotation>().is_err());
        assert_eq!(
            Rotation::Grace(Duration::from_secs(7)).to_string(),
            "grace=7"
        );
    }

    #[test]
    fn prefix_is_normalised() {
        let b = FakeAuthServerBuilder::new().api_prefix("auth/v1/");
        assert_eq!(b.config.api_prefix, "/auth/v1");
        let b = FakeAuthServerBuilder::new().api_prefix("/");
        assert_eq!(b.config.api_prefix, "");
    }
}
