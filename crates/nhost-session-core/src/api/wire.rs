//! Request bodies, as the server's API description names their fields.

use serde::Serialize;

use crate::protocol::SignUpOptions;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmailPassword<'a> {
    pub(crate) email: &'a str,
    pub(crate) password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) options: Option<&'a SignUpOptions>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Email<'a> {
    pub(crate) email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) options: Option<&'a SignUpOptions>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmailOtp<'a> {
    pub(crate) email: &'a str,
    pub(crate) otp: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Phone<'a> {
    pub(crate) phone_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) options: Option<&'a SignUpOptions>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhoneOtp<'a> {
    pub(crate) phone_number: &'a str,
    pub(crate) otp: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MfaTotp<'a> {
    pub(crate) ticket: &'a str,
    pub(crate) otp: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pat<'a> {
    pub(crate) personal_access_token: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdToken<'a> {
    pub(crate) provider: &'a str,
    pub(crate) id_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) options: Option<&'a SignUpOptions>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshTokenBody<'a> {
    pub(crate) refresh_token: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignOutAll {
    pub(crate) all: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CodeExchange<'a> {
    pub(crate) code: &'a str,
    pub(crate) code_verifier: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatePat<'a> {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) expires_at: time::OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<&'a serde_json::Map<String, serde_json::Value>>,
}
