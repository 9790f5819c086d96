//! The base URL of an Nhost auth service.

use std::fmt;

use url::Url;

use crate::error::ConfigError;

/// Where the auth service lives, for example `https://myapp.auth.eu-central-1.nhost.run/v1`.
///
/// All endpoint paths are joined onto it, so `/token` becomes `…/v1/token`. A trailing slash is
/// added when missing, and the base must have no query or fragment.
///
/// ```
/// use nhost_session_core::AuthUrl;
///
/// let cloud = AuthUrl::from_subdomain("myapp", "eu-central-1").unwrap();
/// assert_eq!(cloud.as_str(), "https://myapp.auth.eu-central-1.nhost.run/v1/");
///
/// // The Nhost CLI's local stack.
/// let local = AuthUrl::from_subdomain("local", "local").unwrap();
/// assert_eq!(local.endpoint("token").as_str(), "https://local.auth.local.nhost.run/v1/token");
///
/// let own = AuthUrl::parse("http://127.0.0.1:4000/v1").unwrap();
/// assert_eq!(own.endpoint("/signin/anonymous").as_str(), "http://127.0.0.1:4000/v1/signin/anonymous");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AuthUrl(Url);

impl AuthUrl {
    /// Parses a base URL. Only `http` and `https` are accepted.
    pub fn parse(base: &str) -> Result<Self, ConfigError> {
        let url = Url::parse(base.trim()).map_err(|e| ConfigError::InvalidAuthUrl {
            reason: e.to_string(),
        })?;
        Self::from_url(url)
    }

    /// Uses an already parsed URL as the base.
    pub fn from_url(mut url: Url) -> Result<Self, ConfigError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::InvalidAuthUrl {
                reason: format!("scheme `{}` is not http or https", url.scheme()),
            });
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(ConfigError::InvalidAuthUrl {
                reason: "the URL has no host".into(),
            });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::InvalidAuthUrl {
                reason: "the base URL must not have a query or a fragment".into(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::InvalidAuthUrl {
                reason: "the base URL must not carry credentials".into(),
            });
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Self(url))
    }

    /// The Nhost cloud URL of a project: `https://{subdomain}.auth.{region}.nhost.run/v1`.
    /// The Nhost CLI's local stack is subdomain `local`, region `local`.
    pub fn from_subdomain(subdomain: &str, region: &str) -> Result<Self, ConfigError> {
        let valid = |part: &str| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if !valid(subdomain) || !valid(region) {
            return Err(ConfigError::InvalidAuthUrl {
                reason:
                    "subdomain and region must be non-empty and made of letters, digits and `-`"
                        .into(),
            });
        }
        Self::parse(&format!("https://{subdomain}.auth.{region}.nhost.run/v1/"))
    }

    /// The full URL of an endpoint path such as `token` or `/signin/email-password`.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let joined = format!("{}{}", self.0.path(), path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    /// The base URL as a string (always ending in `/`).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The base URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Debug for AuthUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthUrl").field(&self.0.as_str()).finish()
    }
}

impl fmt::Display for AuthUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl std::str::FromStr for AuthUrl {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_cannot_be_an_auth_base() {
        for bad in [
            "",
            "not a url",
            "ftp://x/v1",
            "mailto:a@b",
            "http://x/v1?q=1",
            "http://x/v1#f",
            "http://user:pw@x/v1",
        ] {
            assert!(AuthUrl::parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(AuthUrl::from_subdomain("a.b", "eu").is_err());
        assert!(AuthUrl::from_subdomain("", "eu").is_err());
        assert!(AuthUrl::from_subdomain("x", "eu/../../").is_err());
    }

    #[test]
    fn joins_paths_with_or_without_slashes() {
        let base = AuthUrl::parse("http://localhost:1337/v1/").unwrap();
        assert_eq!(
            base.endpoint("token").as_str(),
            "http://localhost:1337/v1/token"
        );
        assert_eq!(
            base.endpoint("/token").as_str(),
            "http://localhost:1337/v1/token"
        );
        let root = AuthUrl::parse("http://localhost:1337").unwrap();
        assert_eq!(
            root.endpoint("/user").as_str(),
            "http://localhost:1337/user"
        );
    }
}
