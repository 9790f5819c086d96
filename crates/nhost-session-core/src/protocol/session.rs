use serde::{Deserialize, Serialize};

use super::User;
use crate::secret::{AccessToken, RefreshToken};

/// A session as the auth service hands it out: `POST /token` answers one bare, sign-in and
/// sign-up answers wrap it in `{"session": …}`.
///
/// `access_token_expires_in` is the token's full lifetime in seconds (900 by default), not the
/// time remaining; the client computes the local expiry as the time of receipt plus this value,
/// so that a skewed local clock does not matter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The JWT.
    pub access_token: AccessToken,
    /// The JWT's lifetime in seconds.
    pub access_token_expires_in: u64,
    /// The refresh token; replaced by every successful refresh.
    pub refresh_token: RefreshToken,
    /// The id of the device session; stays the same across refreshes. Older servers may omit
    /// it, in which case it is empty.
    #[serde(default)]
    pub refresh_token_id: String,
    /// The signed-in user; the server always sends it, but a missing one is tolerated.
    #[serde(default)]
    pub user: Option<User>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_needs_both_tokens() {
        let ok = r#"{"accessToken":"a.b.c","accessTokenExpiresIn":900,"refreshToken":"r","refreshTokenId":"i","user":null}"#;
        let session: Session = serde_json::from_str(ok).unwrap();
        assert_eq!(session.access_token_expires_in, 900);
        assert!(session.user.is_none());
        for bad in [
            r#"{"accessTokenExpiresIn":900,"refreshToken":"r","refreshTokenId":"i"}"#,
            r#"{"accessToken":"a","accessTokenExpiresIn":900,"refreshTokenId":"i"}"#,
            r#"{"accessToken":"","accessTokenExpiresIn":900,"refreshToken":"r"}"#,
            r#"{"accessToken":"a","accessTokenExpiresIn":-1,"refreshToken":"r"}"#,
            r#"{"accessToken":"a","refreshToken":"r"}"#,
        ] {
            assert!(serde_json::from_str::<Session>(bad).is_err(), "{bad}");
        }
    }
}
