//! Names of the Redis keys: `{prefix}:{kind}:{fingerprint}`, never a token.

use nhost_session_core::{ConfigError, TokenFingerprint};

/// Default [`RedisCoordinatorBuilder::key_prefix`](crate::RedisCoordinatorBuilder::key_prefix).
pub const DEFAULT_KEY_PREFIX: &str = "nhost-session";

/// The longest key prefix accepted.
const MAX_PREFIX_LEN: usize = 100;

/// Builds the key names of one coordinator.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// Checks the prefix: 1 to 100 printable ASCII characters, no spaces, and no `*`, `?`,
    /// `[` or `]` (so that `SCAN MATCH {prefix}:*` finds exactly this app's keys).
    pub(crate) fn new(prefix: &str) -> Result<Self, ConfigError> {
        let valid = !prefix.is_empty()
            && prefix.len() <= MAX_PREFIX_LEN
            && prefix
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"*?[]\\".contains(&b));
        if !valid {
            return Err(ConfigError::Invalid(format!(
                "the Redis key prefix {prefix:?} must be 1 to {MAX_PREFIX_LEN} printable ASCII \
                 characters without spaces or glob characters"
            )));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// What is known under a token: a session, its successor, or its death.
    pub(crate) fn session(&self, fp: &TokenFingerprint) -> String {
        format!("{}:s:{fp}", self.prefix)
    }

    /// The refresh lock of a token.
    pub(crate) fn lock(&self, fp: &TokenFingerprint) -> String {
        format!("{}:l:{fp}", self.prefix)
    }

    /// The marker of a refresh of a token that just failed transiently.
    pub(crate) fn failure(&self, fp: &TokenFingerprint) -> String {
        format!("{}:f:{fp}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use nhost_session_core::RefreshToken;

    use super::*;

    #[test]
    fn keys_hold_fingerprints_not_tokens() {
        let keys = Keys::new("app1").unwrap();
        let token = RefreshToken::new("2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24");
        let fp = TokenFingerprint::of(&token);
        let session = keys.session(&fp);
        assert_eq!(session, format!("app1:s:{fp}"));
        assert_eq!(keys.lock(&fp), format!("app1:l:{fp}"));
        assert_eq!(keys.failure(&fp), format!("app1:f:{fp}"));
        assert!(!session.contains("2c35b6f3"));
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for bad in ["", "a b", "a*", "x?", "[x]", "é", &"x".repeat(101), "a\n"] {
            assert!(Keys::new(bad).is_err(), "{bad:?}");
        }
        assert!(Keys::new("my-app:prod").is_ok());
    }
}
