use serde::Deserialize;

use super::Session;
use crate::secret::SecretString;

/// The answer of sign-in and sign-up endpoints: `{"session": Session|null, "mfa": {"ticket"}?}`.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "an answer is consumed at once, never stored"
)]
pub enum SignInResponse {
    /// Signed in.
    Session(Session),
    /// The user has TOTP enabled: complete with the ticket and a code at `POST /signin/mfa/totp`.
    MfaRequired(MfaTicket),
    /// No session yet, for example a sign-up that waits for e-mail verification.
    Pending,
}

/// The ticket of an MFA challenge (`mfaTotp:<uuid>`), valid for five minutes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaTicket(pub SecretString);

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    session: Option<Session>,
    #[serde(default)]
    mfa: Option<WireMfa>,
}

#[derive(Deserialize)]
struct WireMfa {
    ticket: SecretString,
}

impl<'de> Deserialize<'de> for SignInResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        Ok(match (wire.session, wire.mfa) {
            (Some(session), _) => Self::Session(session),
            (None, Some(mfa)) => Self::MfaRequired(MfaTicket(mfa.ticket)),
            (None, None) => Self::Pending,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_session_mfa_and_pending_apart() {
        let s = r#"{"session":{"accessToken":"a","accessTokenExpiresIn":900,"refreshToken":"r","refreshTokenId":"i"},"mfa":null}"#;
        assert!(matches!(
            serde_json::from_str(s).unwrap(),
            SignInResponse::Session(_)
        ));
        let m = r#"{"session":null,"mfa":{"ticket":"mfaTotp:abc"}}"#;
        match serde_json::from_str(m).unwrap() {
            SignInResponse::MfaRequired(t) => assert_eq!(t.0.expose_secret(), "mfaTotp:abc"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            serde_json::from_str::<SignInResponse>(r#"{"session":null}"#).unwrap(),
            SignInResponse::Pending
        );
        let broken = r#"{"session":{"accessToken":"a"}}"#;
        assert!(serde_json::from_str::<SignInResponse>(broken).is_err());
    }
}
