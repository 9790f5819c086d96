//! The outbox: every e-mail and SMS the fake "sends", kept for tests to read.

use serde::{Deserialize, Serialize};

/// What kind of message was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MessageKind {
    /// A magic link from `POST /signin/passwordless/email`.
    MagicLink,
    /// An e-mail verification link (when e-mail verification is required).
    EmailVerification,
    /// A one-time code from `POST /signin/otp/email`.
    EmailOtp,
    /// A one-time code from `POST /signin/passwordless/sms`.
    SmsOtp,
}

/// One message in the outbox.
///
/// JSON (admin API): `{"kind":"magicLink","to":"a@example.com","code":null,
/// "link":"http://127.0.0.1:PORT/v1/verify?ticket=...","sentAt":1700000000}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    /// What was sent.
    pub kind: MessageKind,
    /// The e-mail address or phone number it went to.
    pub to: String,
    /// The one-time code, for OTP messages.
    pub code: Option<String>,
    /// The link to follow, for magic links and verification links.
    pub link: Option<String>,
    /// When it was sent, in seconds since the Unix epoch on the fake clock.
    pub sent_at: i64,
}
