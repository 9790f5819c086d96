//! The error answers of the auth API, in the real server's three shapes.
//!
//! - API errors: `{"status": int, "error": "<code>", "message": "..."}`, concealed as
//!   `400 invalid-request` when `AUTH_CONCEAL_ERRORS` is on and the code is sensitive;
//! - request validation failures: `400 {"error": "error in openapi3filter.RequestError: ..."}`;
//! - rejected bearer tokens: `401 {"error":"unauthorized","reason":"...","securityScheme":"BearerAuth"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error codes the fake answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    DefaultRoleMustBeInAllowedRoles,
    DisabledEndpoint,
    DisabledUser,
    EmailAlreadyInUse,
    ForbiddenAnonymous,
    InternalServerError,
    InvalidEmailPassword,
    InvalidOtp,
    InvalidPat,
    InvalidRefreshToken,
    InvalidRequest,
    InvalidState,
    InvalidTicket,
    InvalidTotp,
    LocaleNotAllowed,
    NoTotpSecret,
    OauthProviderError,
    RoleNotAllowed,
    TotpAlreadyActive,
    UnverifiedUser,
}

impl ErrorCode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::DefaultRoleMustBeInAllowedRoles => "default-role-must-be-in-allowed-roles",
            Self::DisabledEndpoint => "disabled-endpoint",
            Self::DisabledUser => "disabled-user",
            Self::EmailAlreadyInUse => "email-already-in-use",
            Self::ForbiddenAnonymous => "forbidden-anonymous",
            Self::InternalServerError => "internal-server-error",
            Self::InvalidEmailPassword => "invalid-email-password",
            Self::InvalidOtp => "invalid-otp",
            Self::InvalidPat => "invalid-pat",
            Self::InvalidRefreshToken => "invalid-refresh-token",
            Self::InvalidRequest => "invalid-request",
            Self::InvalidState => "invalid-state",
            Self::InvalidTicket => "invalid-ticket",
            Self::InvalidTotp => "invalid-totp",
            Self::LocaleNotAllowed => "locale-not-allowed",
            Self::NoTotpSecret => "no-totp-secret",
            Self::OauthProviderError => "oauth-provider-error",
            Self::RoleNotAllowed => "role-not-allowed",
            Self::TotpAlreadyActive => "totp-already-active",
            Self::UnverifiedUser => "unverified-user",
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::DisabledUser
            | Self::InvalidEmailPassword
            | Self::InvalidPat
            | Self::InvalidRefreshToken
            | Self::InvalidTicket
            | Self::InvalidTotp
            | Self::UnverifiedUser => StatusCode::UNAUTHORIZED,
            Self::ForbiddenAnonymous => StatusCode::FORBIDDEN,
            Self::DisabledEndpoint | Self::EmailAlreadyInUse => StatusCode::CONFLICT,
            Self::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::DefaultRoleMustBeInAllowedRoles
            | Self::InvalidOtp
            | Self::InvalidRequest
            | Self::InvalidState
            | Self::LocaleNotAllowed
            | Self::NoTotpSecret
            | Self::OauthProviderError
            | Self::RoleNotAllowed
            | Self::TotpAlreadyActive => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::DefaultRoleMustBeInAllowedRoles => "Default role must be in allowed roles",
            Self::DisabledEndpoint => "This endpoint is disabled",
            Self::DisabledUser => "User is disabled",
            Self::EmailAlreadyInUse => "Email already in use",
            Self::ForbiddenAnonymous => "Forbidden, user is anonymous.",
            Self::InternalServerError => "Internal server error",
            Self::InvalidEmailPassword => "Incorrect email or password",
            Self::InvalidOtp => "Invalid or expired OTP",
            Self::InvalidPat => "Invalid or expired personal access token",
            Self::InvalidRefreshToken => "Invalid or expired refresh token",
            Self::InvalidRequest => "The request payload is incorrect",
            Self::InvalidState => "Invalid state",
            Self::InvalidTicket => "Invalid ticket",
            Self::InvalidTotp => "Invalid TOTP code",
            Self::LocaleNotAllowed => "Locale not allowed",
            Self::NoTotpSecret => "User does not have a TOTP secret",
            Self::OauthProviderError => "Provider returned an error",
            Self::RoleNotAllowed => "Role not allowed",
            Self::TotpAlreadyActive => "TOTP MFA is already active",
            Self::UnverifiedUser => "User is not verified.",
        }
    }

    /// Whether `AUTH_CONCEAL_ERRORS` hides this code behind `invalid-request` (the real
    /// server's list).
    pub(crate) fn sensitive(self) -> bool {
        matches!(
            self,
            Self::DisabledUser
                | Self::EmailAlreadyInUse
                | Self::ForbiddenAnonymous
                | Self::InvalidEmailPassword
                | Self::InvalidPat
                | Self::RoleNotAllowed
                | Self::UnverifiedUser
                | Self::InvalidRefreshToken
                | Self::InvalidTicket
                | Self::InvalidTotp
                | Self::InvalidOtp
                | Self::NoTotpSecret
        )
    }

    /// The code as sent, after concealment.
    pub(crate) fn effective(self, conceal: bool) -> Self {
        if conceal && self.sensitive() {
            Self::InvalidRequest
        } else {
            self
        }
    }
}

/// A ready error response; handlers return it as the `Err` side.
#[derive(Debug)]
pub(crate) struct ApiError(Box<Response>);

impl ApiError {
    /// `{"status","error","message"}`, concealed when asked and sensitive.
    pub(crate) fn new(code: ErrorCode, conceal: bool) -> Self {
        let code = code.effective(conceal);
        let status = code.status();
        Self(Box::new(
            (
                status,
                Json(json!({
                    "status": status.as_u16(),
                    "error": code.as_str(),
                    "message": code.message(),
                })),
            )
                .into_response(),
        ))
    }

    /// The request-validation shape: `400 {"error":"error in openapi3filter.RequestError: ..."}`.
    pub(crate) fn validation(detail: &str) -> Self {
        Self(Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("error in openapi3filter.RequestError: {detail}") })),
            )
                .into_response(),
        ))
    }

    /// The bearer rejection of newer servers:
    /// `401 {"error":"unauthorized","reason":"...","securityScheme":"BearerAuth"}`.
    pub(crate) fn unauthorized(reason: &str) -> Self {
        Self(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({
                    "error": "unauthorized",
                    "reason": reason,
                    "securityScheme": "BearerAuth",
                })),
            )
                .into_response(),
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// What handlers return.
pub(crate) type ApiResult = Result<Response, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concealment_only_touches_sensitive_codes() {
        assert_eq!(
            ErrorCode::InvalidRefreshToken.effective(true),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            ErrorCode::InvalidRefreshToken.effective(false),
            ErrorCode::InvalidRefreshToken
        );
        assert_eq!(
            ErrorCode::DisabledEndpoint.effective(true),
            ErrorCode::DisabledEndpoint
        );
        assert_eq!(ErrorCode::InvalidRequest.status(), StatusCode::BAD_REQUEST);
    }
}
