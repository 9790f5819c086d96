//! Which auth service the examples talk to: the one named by the environment, or the test
//! server started in process with a seeded demo user.

use std::fmt;

use nhost_session_core::AuthUrl;
use nhost_session_testkit::{FakeAuthServer, FakeAuthServerBuilder, SeedUser};

/// The demo user seeded in the embedded server.
pub const DEMO_EMAIL: &str = "demo@example.com";
/// The demo user's password.
pub const DEMO_PASSWORD: &str = "demo-password-1234";
/// The demo user's display name.
pub const DEMO_NAME: &str = "Demo User";

/// The environment variables the examples read.
pub mod env {
    /// The auth service's base URL, such as `https://myapp.auth.eu-central-1.nhost.run/v1`.
    pub const AUTH_URL: &str = "NHOST_AUTH_URL";
    /// The project's subdomain (`local` for the Nhost CLI's local stack).
    pub const SUBDOMAIN: &str = "NHOST_SUBDOMAIN";
    /// The project's region (`local` for the Nhost CLI's local stack).
    pub const REGION: &str = "NHOST_REGION";
    /// The GraphQL endpoint, when it cannot be derived from the above.
    pub const GRAPHQL_URL: &str = "NHOST_GRAPHQL_URL";
}

/// The auth service (and GraphQL endpoint) an example uses.
pub struct Backend {
    /// The auth service's base URL.
    pub auth_url: AuthUrl,
    /// The GraphQL endpoint, when known.
    pub graphql_url: Option<String>,
    /// The embedded server, when there is one (it stops when this is dropped).
    server: Option<FakeAuthServer>,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("auth_url", &self.auth_url)
            .field("graphql_url", &self.graphql_url)
            .field("embedded", &self.server.is_some())
            .finish()
    }
}

/// Why no backend could be chosen.
#[derive(Debug)]
pub struct BackendError(String);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BackendError {}

impl Backend {
    /// The service named by the environment ([`env::AUTH_URL`], or [`env::SUBDOMAIN`] and
    /// [`env::REGION`]), otherwise an embedded test server with the demo user.
    ///
    /// # Errors
    /// When the variables name no usable URL, the URL needs TLS and this build has none, or
    /// the embedded server cannot start.
    pub fn from_env() -> Result<Self, BackendError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// As [`from_env`](Self::from_env), reading variables through `lookup` (for tests).
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, BackendError> {
        let graphql_override = lookup(env::GRAPHQL_URL);
        if let Some(url) = lookup(env::AUTH_URL) {
            let auth_url = AuthUrl::parse(&url)
                .map_err(|e| BackendError(format!("{}: {e}", env::AUTH_URL)))?;
            let graphql_url = graphql_override.or_else(|| graphql_url_for(&auth_url));
            return Self::remote(auth_url, graphql_url);
        }
        if let Some(subdomain) = lookup(env::SUBDOMAIN) {
            let region = match lookup(env::REGION) {
                Some(region) => region,
                None if subdomain == "local" => "local".to_owned(),
                None => {
                    return Err(BackendError(format!(
                        "{} is set but {} is not",
                        env::SUBDOMAIN,
                        env::REGION
                    )));
                }
            };
            let auth_url = AuthUrl::from_subdomain(&subdomain, &region)
                .map_err(|e| BackendError(e.to_string()))?;
            let graphql_url = graphql_override.unwrap_or_else(|| {
                format!("https://{subdomain}.hasura.{region}.nhost.run/v1/graphql")
            });
            return Self::remote(auth_url, Some(graphql_url));
        }
        Self::embedded()
    }

    /// A test server in process, with the demo user seeded.
    ///
    /// # Errors
    /// When the server cannot start.
    pub fn embedded() -> Result<Self, BackendError> {
        Self::embedded_with(FakeAuthServer::builder())
    }

    /// A test server in process with these settings, plus the demo user.
    ///
    /// # Errors
    /// When the server cannot start.
    pub fn embedded_with(builder: FakeAuthServerBuilder) -> Result<Self, BackendError> {
        let server = builder
            .seed_user(SeedUser::new(DEMO_EMAIL, DEMO_PASSWORD).display_name(DEMO_NAME))
            .start()
            .map_err(|e| BackendError(format!("cannot start the embedded test server: {e}")))?;
        let auth_url =
            AuthUrl::parse(&server.base_url()).map_err(|e| BackendError(e.to_string()))?;
        Ok(Self {
            auth_url,
            graphql_url: Some(server.graphql_url()),
            server: Some(server),
        })
    }

    /// A service elsewhere.
    ///
    /// # Errors
    /// When the URL is `https` and this build has no TLS (the `tls` feature).
    pub fn remote(auth_url: AuthUrl, graphql_url: Option<String>) -> Result<Self, BackendError> {
        if auth_url.as_url().scheme() == "https" && !cfg!(feature = "tls") {
            return Err(BackendError(format!(
                "{auth_url} needs TLS, which this build leaves out to stay light; run with \
                 `--features nhost-session-examples/tls`"
            )));
        }
        Ok(Self {
            auth_url,
            graphql_url,
            server: None,
        })
    }

    /// The embedded server, if any.
    pub fn server(&self) -> Option<&FakeAuthServer> {
        self.server.as_ref()
    }

    /// Whether this is the embedded server (where the demo user exists).
    pub fn is_embedded(&self) -> bool {
        self.server.is_some()
    }

    /// One line saying what this is, for the examples' output.
    pub fn describe(&self) -> String {
        if self.is_embedded() {
            format!(
                "{} (embedded test server; demo user {DEMO_EMAIL}; set {} or {}+{} for a real project)",
                self.auth_url,
                env::AUTH_URL,
                env::SUBDOMAIN,
                env::REGION
            )
        } else {
            self.auth_url.to_string()
        }
    }
}

/// Nhost cloud's GraphQL URL for an auth URL of the form `https://{sub}.auth.{region}.nhost.run/v1`.
fn graphql_url_for(auth_url: &AuthUrl) -> Option<String> {
    let host = auth_url.as_url().host_str()?;
    let (subdomain, rest) = host.split_once(".auth.")?;
    let region = rest.strip_suffix(".nhost.run")?;
    Some(format!(
        "{}://{subdomain}.hasura.{region}.nhost.run/v1/graphql",
        auth_url.as_url().scheme()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn derives_the_graphql_url_of_nhost_cloud() {
        let url = AuthUrl::parse("https://abc.auth.eu-central-1.nhost.run/v1").unwrap();
        assert_eq!(
            graphql_url_for(&url).as_deref(),
            Some("https://abc.hasura.eu-central-1.nhost.run/v1/graphql")
        );
        assert_eq!(
            graphql_url_for(&AuthUrl::parse("http://127.0.0.1:1/v1").unwrap()),
            None
        );
    }

    #[test]
    fn reads_the_environment_in_order() {
        let backend = Backend::from_lookup(|name| match name {
            env::AUTH_URL => Some("http://127.0.0.1:4000/v1".into()),
            env::GRAPHQL_URL => Some("http://127.0.0.1:8080/v1/graphql".into()),
            _ => None,
        })
        .unwrap();
        assert!(!backend.is_embedded());
        assert_eq!(backend.auth_url.as_str(), "http://127.0.0.1:4000/v1/");
        assert_eq!(
            backend.graphql_url.as_deref(),
            Some("http://127.0.0.1:8080/v1/graphql")
        );

        let missing_region =
            Backend::from_lookup(|name| (name == env::SUBDOMAIN).then(|| "abc".into()));
        assert!(missing_region.is_err());

        let embedded = Backend::from_lookup(|_| None).unwrap();
        assert!(embedded.is_embedded());
        assert!(
            embedded
                .server()
                .unwrap()
                .user_by_email(DEMO_EMAIL)
                .is_some()
        );
    }
}
