//! Calls that need a bearer token: `GET /user`, TOTP set-up, and personal access tokens.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ok;
use super::request::{bearer_user, required};
use crate::errors::{ApiError, ApiResult, ErrorCode};
use crate::state::App;
use crate::totp;

/// A 1x1 PNG: the fake does not draw real QR codes.
const PLACEHOLDER_QR: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/// The signed-in user, with `activeMfaType` filled.
pub(super) async fn get_user(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    let user = bearer_user(&app, &headers)?;
    Ok(Json(user.to_json(true)).into_response())
}

/// `{imageUrl, totpSecret}`: a new pending secret, active only once `POST /user/mfa` confirms
/// a code.
pub(super) async fn generate_totp(State(app): State<App>, headers: HeaderMap) -> ApiResult {
    let user = bearer_user(&app, &headers)?;
    if user.is_anonymous {
        return Err(app.err(ErrorCode::ForbiddenAnonymous));
    }
    if user.active_mfa_type.as_deref() == Some("totp") {
        return Err(app.err(ErrorCode::TotpAlreadyActive));
    }
    let secret = totp::generate_secret();
    if let Some(stored) = app.db().users.get_mut(user.id) {
        stored.totp_secret = Some(secret.clone());
    }
    Ok(Json(json!({ "imageUrl": PLACEHOLDER_QR, "totpSecret": secret })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MfaRequest {
    code: String,
    #[serde(default)]
    active_mfa_type: Option<String>,
}

/// `{code, activeMfaType:"totp"}` turns TOTP on; `{code, activeMfaType:""}` (or no type)
/// turns it off. Either way the code must be valid now.
pub(super) async fn change_mfa(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let user = bearer_user(&app, &headers)?;
    let request: MfaRequest = required(&headers, &body)?;
    let enable = match request.active_mfa_type.as_deref() {
        Some("totp") => true,
        Some("") | None => false,
        Some(other) => {
            return Err(ApiError::validation(&format!(
                "request body has an error: doesn't match schema: Error at \"/activeMfaType\": value is not one of the allowed values [\"totp\",\"\"]: {other:?}"
            )));
        }
    };
    if enable && user.active_mfa_type.as_deref() == Some("totp") {
        return Err(app.err(ErrorCode::TotpAlreadyActive));
    }
    let secret = user
        .totp_secret
        .clone()
        .ok_or_else(|| app.err(ErrorCode::NoTotpSecret))?;
    let secs = u64::try_from(app.clock.now_secs()).unwrap_or_default();
    if !totp::verify(&secret, &request.code, secs) {
        return Err(app.err(ErrorCode::InvalidTotp));
    }
    if let Some(stored) = app.db().users.get_mut(user.id) {
        if enable {
            stored.active_mfa_type = Some("totp".to_owned());
        } else {
            stored.active_mfa_type = None;
            stored.totp_secret = None;
        }
    }
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatRequest {
    expires_at: String,
    /// Accepted (the schema allows it), not kept.
    #[serde(default, rename = "metadata")]
    _metadata: Option<Value>,
}

/// `{expiresAt, metadata?}` -> `{id, personalAccessToken}`.
pub(super) async fn create_pat(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let user = bearer_user(&app, &headers)?;
    let request: PatRequest = required(&headers, &body)?;
    if user.is_anonymous {
        return Err(app.err(ErrorCode::ForbiddenAnonymous));
    }
    let expires = OffsetDateTime::parse(&request.expires_at, &Rfc3339).map_err(|_| {
        ApiError::validation(
            "request body has an error: doesn't match schema: Error at \"/expiresAt\": string doesn't match the format \"date-time\"",
        )
    })?;
    let expires_ms = i64::try_from(expires.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let (id, token) = app.db().sessions.create_pat(user.id, expires_ms);
    Ok(Json(json!({
        "id": id.to_string(),
        "personalAccessToken": token.to_string(),
    }))
    .into_response())
}
