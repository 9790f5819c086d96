//! Options that sign-up and sign-in requests carry.

use serde::Serialize;

/// Options of `POST /signup/email-password` (and of other sign-ups that create a user).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignUpOptions {
    /// Roles the user may take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_roles: Option<Vec<String>>,
    /// The default role; must be one of `allowed_roles`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    /// The display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A two-letter locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Custom metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Where e-mail links lead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<String>,
}

/// Options of `POST /signin/anonymous`; all optional, an empty body works.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInAnonymousOptions {
    /// The display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A two-letter locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Custom metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Query parameters of `GET /signin/provider/{provider}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderSignInOptions {
    /// Where the auth service redirects at the end (your callback).
    pub redirect_to: Option<String>,
    /// Roles the user may take.
    pub allowed_roles: Option<Vec<String>>,
    /// The default role.
    pub default_role: Option<String>,
    /// The display name for a new user.
    pub display_name: Option<String>,
    /// A two-letter locale for a new user.
    pub locale: Option<String>,
    /// Custom metadata for a new user.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// A PKCE S256 challenge (newer servers): the redirect then carries `?code=` instead of a
    /// refresh token, to be exchanged with the verifier.
    pub code_challenge: Option<String>,
}
