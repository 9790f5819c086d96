//! Newtypes for the secrets of a session.
//!
//! Access tokens, refresh tokens and other credentials are wrapped so that no `Debug`, `Display`
//! or log line can print them by accident: both formatting traits print `[redacted]`. The value
//! is reachable only through an explicit [`expose_secret`](AccessToken::expose_secret) call,
//! which makes every place that handles the raw value easy to find in a review.
//!
//! The tokens are reference counted (`Arc<str>`), so cloning one, which the hot path of
//! [`AuthClient::access_token`](crate::AuthClient::access_token) does, costs a reference-count
//! bump and no allocation.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const REDACTED: &str = "[redacted]";

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: impl Into<Arc<str>>) -> Self {
                Self(value.into())
            }

            /// The raw value. Call this only where the value must leave the program (an HTTP
            /// body, a header, a store), never to log or display it.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// Whether the two values are the same, compared in constant time so that the
            /// comparison leaks nothing about where they differ.
            pub fn ct_eq(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), REDACTED)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            /// Refuses an empty string: a session without a token is an error, not a session.
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                if value.trim().is_empty() {
                    return Err(serde::de::Error::custom(concat!(
                        stringify!($name),
                        " is empty"
                    )));
                }
                Ok(Self(value.into()))
            }
        }
    };
}

secret_type!(
    /// The access token: a JWT that authenticates calls to Hasura, storage and functions.
    /// Lives 15 minutes by default.
    AccessToken
);

secret_type!(
    /// The refresh token: a UUID that buys a new session at `POST /token`. Every successful
    /// refresh replaces it; the old value is dead at once.
    RefreshToken
);

secret_type!(
    /// Any other credential: a password, a one-time code, a personal access token, a PKCE
    /// verifier, a ticket.
    SecretString
);

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let token = RefreshToken::new("2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24");
        assert_eq!(format!("{token:?}"), "RefreshToken([redacted])");
        assert_eq!(format!("{token}"), "[redacted]");
        assert_eq!(
            format!("{:#?}", Some(&token)),
            "Some(\n    RefreshToken([redacted]),\n)"
        );
    }

    #[test]
    fn serde_round_trips_the_raw_value_and_refuses_empty() {
        let token: AccessToken = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(token.expose_secret(), "abc");
        assert_eq!(serde_json::to_string(&token).unwrap(), "\"abc\"");
        assert!(serde_json::from_str::<AccessToken>("\"\"").is_err());
        assert!(serde_json::from_str::<AccessToken>("\"  \"").is_err());
    }

    #[test]
    fn constant_time_comparison_matches_equality() {
        let a = RefreshToken::new("abc");
        assert!(a.ct_eq(&RefreshToken::new("abc")));
        assert!(!a.ct_eq(&RefreshToken::new("abd")));
        assert!(!a.ct_eq(&RefreshToken::new("ab")));
    }
}
