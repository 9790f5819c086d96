use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

/// A user as the auth service describes it, in sessions and at `GET /user`.
///
/// Every field but `id` tolerates absence; `metadata` is `None` when the server sends `null`
/// (as it does for a plain sign-up); `email` is `None` for anonymous users.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id (a UUID).
    pub id: String,
    /// When the account was created; `None` when absent or not RFC 3339.
    #[serde(
        default,
        deserialize_with = "lenient_time",
        serialize_with = "time::serde::rfc3339::option::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// The display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub display_name: String,
    /// The avatar's URL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub avatar_url: String,
    /// A two-letter locale.
    #[serde(default, deserialize_with = "null_as_default")]
    pub locale: String,
    /// The e-mail address; absent for anonymous users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the e-mail address is verified.
    #[serde(default, deserialize_with = "null_as_default")]
    pub email_verified: bool,
    /// The phone number, when the user has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified.
    #[serde(default, deserialize_with = "null_as_default")]
    pub phone_number_verified: bool,
    /// Whether this is an anonymous user (from `/signin/anonymous`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_anonymous: bool,
    /// The default Hasura role.
    #[serde(default, deserialize_with = "null_as_default")]
    pub default_role: String,
    /// The roles the user may take.
    #[serde(default, deserialize_with = "null_as_default")]
    pub roles: Vec<String>,
    /// Custom metadata; `None` when the server sends `null` or nothing.
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// The active MFA type (`"totp"`); filled by `GET /user` only, `None` in sessions.
    #[serde(default)]
    pub active_mfa_type: Option<String>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn lenient_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<OffsetDateTime>, D::Error> {
    let text = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(text.as_ref().and_then(|v| v.as_str()).and_then(|s| {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_real_servers_user_and_its_quirks() {
        let json = r#"{
            "avatarUrl": "", "createdAt": "2025-01-02T03:04:05.123456Z", "defaultRole": "user",
            "displayName": "a@example.com", "email": "a@example.com", "emailVerified": false,
            "id": "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24", "isAnonymous": false, "locale": "en",
            "metadata": null, "phoneNumberVerified": false, "roles": ["user", "me"],
            "activeMfaType": null, "somethingNew": {"x": 1}
        }"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert_eq!(user.email.as_deref(), Some("a@example.com"));
        assert!(user.metadata.is_none());
        assert!(user.phone_number.is_none());
        assert_eq!(user.roles, ["user", "me"]);
        assert_eq!(user.created_at.map(|t| t.year()), Some(2025));
    }

    #[test]
    fn parses_an_anonymous_user_without_email_and_a_bad_date() {
        let json = r#"{"id":"u","isAnonymous":true,"defaultRole":"anonymous","roles":["anonymous"],
            "createdAt":"yesterday","metadata":{"k":"v"},"displayName":null}"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert!(user.is_anonymous && user.email.is_none() && user.created_at.is_none());
        assert_eq!(user.metadata.unwrap()["k"], "v");
    }

    #[test]
    fn a_user_needs_an_id() {
        assert!(serde_json::from_str::<User>(r#"{"email":"a@b"}"#).is_err());
    }
}
