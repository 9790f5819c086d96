//! The user table, the user JSON and the sign-up options every sign-up path shares.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::config::{Config, SeedUser};
use crate::errors::{ApiError, ErrorCode};

/// One user, as the fake stores it.
#[derive(Clone, Debug)]
pub(crate) struct UserRecord {
    pub(crate) id: Uuid,
    pub(crate) created_at_ms: i64,
    pub(crate) email: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) display_name: String,
    pub(crate) avatar_url: String,
    pub(crate) locale: String,
    pub(crate) email_verified: bool,
    pub(crate) phone_number: Option<String>,
    pub(crate) phone_number_verified: bool,
    pub(crate) is_anonymous: bool,
    pub(crate) default_role: String,
    pub(crate) allowed_roles: Vec<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) disabled: bool,
    pub(crate) totp_secret: Option<String>,
    pub(crate) active_mfa_type: Option<String>,
    pub(crate) custom_claims: Map<String, Value>,
}

impl UserRecord {
    /// A blank regular user with the server's default roles, locale and claims.
    pub(crate) fn blank(config: &Config, now_ms: i64) -> Self {
        Self {
            id: Uuid::new_v4(),
            created_at_ms: now_ms,
            email: None,
            password: None,
            display_name: String::new(),
            avatar_url: String::new(),
            locale: config
                .allowed_locales
                .first()
                .cloned()
                .unwrap_or_else(|| "en".to_owned()),
            email_verified: false,
            phone_number: None,
            phone_number_verified: false,
            is_anonymous: false,
            default_role: config.default_role.clone(),
            allowed_roles: config.allowed_roles.clone(),
            metadata: None,
            disabled: false,
            totp_secret: None,
            active_mfa_type: None,
            custom_claims: config.default_custom_claims.clone(),
        }
    }

    /// A user from the builder's or the admin API's description (no role checks: tests may
    /// give seeded users any roles).
    pub(crate) fn from_seed(seed: &SeedUser, config: &Config, now_ms: i64) -> Self {
        let mut user = Self::blank(config, now_ms);
        user.email = Some(seed.email.clone());
        user.password.clone_from(&seed.password);
        user.display_name = seed
            .display_name
            .clone()
            .unwrap_or_else(|| seed.email.clone());
        if let Some(locale) = &seed.locale {
            user.locale.clone_from(locale);
        }
        user.email_verified = seed.email_verified;
        user.phone_number.clone_from(&seed.phone_number);
        user.phone_number_verified = seed.phone_number.is_some();
        if let Some(role) = &seed.default_role {
            user.default_role.clone_from(role);
        }
        if let Some(roles) = &seed.allowed_roles {
            user.allowed_roles.clone_from(roles);
        }
        if !user.allowed_roles.contains(&user.default_role) {
            user.allowed_roles.push(user.default_role.clone());
        }
        user.metadata.clone_from(&seed.metadata);
        user.disabled = seed.disabled;
        if let Some(secret) = &seed.totp_secret {
            user.totp_secret = Some(secret.clone());
            user.active_mfa_type = Some("totp".to_owned());
        }
        if let Some(claims) = &seed.custom_claims {
            user.custom_claims.clone_from(claims);
        }
        user
    }

    /// The `User` JSON. `activeMfaType` is `null` inside sessions and filled by `GET /user`.
    pub(crate) fn to_json(&self, with_mfa: bool) -> Value {
        let mut user = json!({
            "id": self.id.to_string(),
            "createdAt": rfc3339(self.created_at_ms),
            "displayName": self.display_name,
            "avatarUrl": self.avatar_url,
            "locale": self.locale,
            "emailVerified": self.email_verified,
            "phoneNumberVerified": self.phone_number_verified,
            "isAnonymous": self.is_anonymous,
            "defaultRole": self.default_role,
            "roles": self.allowed_roles,
            "metadata": self.metadata.clone().unwrap_or(Value::Null),
            "activeMfaType": if with_mfa { json!(self.active_mfa_type) } else { Value::Null },
        });
        if let Some(map) = user.as_object_mut() {
            if let Some(email) = &self.email {
                map.insert("email".to_owned(), json!(email));
            }
            if let Some(phone) = &self.phone_number {
                map.insert("phoneNumber".to_owned(), json!(phone));
            }
        }
        user
    }

    /// The public snapshot handed to tests.
    pub(crate) fn to_public(&self) -> FakeUser {
        FakeUser {
            id: self.id.to_string(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            phone_number: self.phone_number.clone(),
            is_anonymous: self.is_anonymous,
            email_verified: self.email_verified,
            default_role: self.default_role.clone(),
            roles: self.allowed_roles.clone(),
            metadata: self.metadata.clone(),
            active_mfa_type: self.active_mfa_type.clone(),
            totp_secret: self.totp_secret.clone(),
            disabled: self.disabled,
        }
    }
}

/// Formats epoch milliseconds as RFC 3339 (`2024-01-15T12:34:56.789Z`).
pub(crate) fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A snapshot of one user of the fake, for assertions in tests.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FakeUser {
    /// The user id (a UUID), also the JWT `sub`.
    pub id: String,
    /// The e-mail; `None` for anonymous and phone-only users.
    pub email: Option<String>,
    /// The display name.
    pub display_name: String,
    /// The phone number, if any.
    pub phone_number: Option<String>,
    /// Whether the user signed in anonymously.
    pub is_anonymous: bool,
    /// Whether the e-mail counts as verified.
    pub email_verified: bool,
    /// The default role.
    pub default_role: String,
    /// The allowed roles.
    pub roles: Vec<String>,
    /// The metadata object, if any.
    pub metadata: Option<Value>,
    /// `Some("totp")` once TOTP MFA is on.
    pub active_mfa_type: Option<String>,
    /// The TOTP secret, once generated (pending or active).
    pub totp_secret: Option<String>,
    /// Whether the user is disabled.
    pub disabled: bool,
}

/// The user table with its e-mail and phone indexes (e-mails compare case-insensitively,
/// like the real `citext` column).
#[derive(Default)]
pub(crate) struct Users {
    by_id: HashMap<Uuid, UserRecord>,
    by_email: HashMap<String, Uuid>,
    by_phone: HashMap<String, Uuid>,
}

impl Users {
    /// Adds a user; a taken e-mail is refused with `email-already-in-use`.
    pub(crate) fn insert(&mut self, user: UserRecord) -> Result<Uuid, ErrorCode> {
        if let Some(email) = &user.email {
            if self.by_email.contains_key(&email.to_lowercase()) {
                return Err(ErrorCode::EmailAlreadyInUse);
            }
            self.by_email.insert(email.to_lowercase(), user.id);
        }
        if let Some(phone) = &user.phone_number {
            self.by_phone.insert(phone.clone(), user.id);
        }
        let id = user.id;
        self.by_id.insert(id, user);
        Ok(id)
    }

    pub(crate) fn get(&self, id: Uuid) -> Option<&UserRecord> {
        self.by_id.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: Uuid) -> Option<&mut UserRecord> {
        self.by_id.get_mut(&id)
    }

    pub(crate) fn by_email(&self, email: &str) -> Option<&UserRecord> {
        self.by_email
            .get(&email.to_lowercase())
            .and_then(|id| self.by_id.get(id))
    }

    pub(crate) fn by_phone(&self, phone: &str) -> Option<&UserRecord> {
        self.by_phone.get(phone).and_then(|id| self.by_id.get(id))
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &UserRecord> {
        self.by_id.values()
    }
}

/// `options` of the sign-up and passwordless requests (`SignUpOptions` in the OpenAPI file).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SignUpOptions {
    #[serde(default)]
    pub(crate) allowed_roles: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) default_role: Option<String>,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    #[serde(default)]
    pub(crate) locale: Option<String>,
    #[serde(default)]
    pub(crate) metadata: Option<Value>,
    #[serde(default)]
    pub(crate) redirect_to: Option<String>,
}

impl SignUpOptions {
    /// Applies the options to a new user, with the real server's checks: schema limits
    /// (validation errors), allowed roles and locales (API errors).
    pub(crate) fn apply(
        &self,
        user: &mut UserRecord,
        config: &Config,
        conceal: bool,
    ) -> Result<(), ApiError> {
        if let Some(name) = &self.display_name {
            if name.chars().count() > 32 {
                return Err(ApiError::validation(
                    "request body has an error: doesn't match schema: Error at \"/options/displayName\": maximum string length is 32",
                ));
            }
            user.display_name.clone_from(name);
        }
        if let Some(locale) = &self.locale {
            if locale.chars().count() != 2 {
                return Err(ApiError::validation(
                    "request body has an error: doesn't match schema: Error at \"/options/locale\": string length must be 2",
                ));
            }
            if !config.allowed_locales.contains(locale) {
                return Err(ApiError::new(ErrorCode::LocaleNotAllowed, conceal));
            }
            user.locale.clone_from(locale);
        }
        if let Some(metadata) = &self.metadata {
            if !metadata.is_object() {
                return Err(ApiError::validation(
                    "request body has an error: doesn't match schema: Error at \"/options/metadata\": value must be an object",
                ));
            }
            user.metadata = Some(metadata.clone());
        }
        if let Some(roles) = &self.allowed_roles {
            if roles.iter().any(|r| !config.allowed_roles.contains(r)) {
                return Err(ApiError::new(ErrorCode::RoleNotAllowed, conceal));
            }
            user.allowed_roles.clone_from(roles);
        }
        if let Some(role) = &self.default_role {
            user.default_role.clone_from(role);
        }
        if !user.allowed_roles.contains(&user.default_role) {
            return Err(ApiError::new(
                ErrorCode::DefaultRoleMustBeInAllowedRoles,
                conceal,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_json_has_the_real_shape() {
        let config = Config::default();
        let mut user = UserRecord::blank(&config, 1_700_000_000_123);
        user.email = Some("a@example.com".to_owned());
        let json = user.to_json(false);
        assert_eq!(json["createdAt"], "2023-11-14T22:13:20.123Z");
        assert_eq!(json["email"], "a@example.com");
        assert!(json.get("phoneNumber").is_none());
        assert_eq!(json["metadata"], Value::Null);
        assert_eq!(json["activeMfaType"], Value::Null);
        assert_eq!(json["roles"], json!(["user", "me"]));
    }

    #[test]
    fn emails_are_unique_case_insensitively() {
        let config = Config::default();
        let mut users = Users::default();
        let mut a = UserRecord::blank(&config, 0);
        a.email = Some("A@example.com".to_owned());
        let mut b = UserRecord::blank(&config, 0);
        b.email = Some("a@EXAMPLE.com".to_owned());
        assert!(users.insert(a).is_ok());
        assert_eq!(users.insert(b), Err(ErrorCode::EmailAlreadyInUse));
        assert!(users.by_email("a@example.COM").is_some());
    }
}
