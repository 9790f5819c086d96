//! Reading requests the way the real server's OpenAPI validator does: JSON bodies with
//! `additionalProperties: false`, UUID and e-mail formats, and bearer tokens.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::errors::{ApiError, ErrorCode};
use crate::jwt::{self, AccessClaims, Checker, VerifyError};
use crate::state::App;
use crate::users::UserRecord;

const UUID_PATTERN: &str = r"\b[0-9a-f]{8}\b-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-\b[0-9a-f]{12}\b";

/// Parses a JSON body. An empty body is `None` when the body is optional, a validation error
/// when required.
pub(crate) fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    required: bool,
) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::validation(
                "request body has an error: value is required but missing",
            ))
        } else {
            Ok(None)
        };
    }
    match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => {
            return Err(ApiError::validation(
                "request body has an error: header Content-Type is required",
            ));
        }
        Some(ct) if !is_json(ct) => {
            return Err(ApiError::validation(&format!(
                "request body has an error: header Content-Type has unexpected value: {ct:?}"
            )));
        }
        Some(_) => {}
    }
    serde_json::from_slice(body).map(Some).map_err(|e| {
        ApiError::validation(&format!(
            "request body has an error: doesn't match schema: {e}"
        ))
    })
}

/// A required JSON body.
pub(crate) fn required<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    json_body(headers, body, true)?.ok_or_else(|| {
        ApiError::validation("request body has an error: value is required but missing")
    })
}

fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// A field that the schema types as a UUID (`refreshToken`, `personalAccessToken`): the
/// canonical lower-case form, or a validation error naming the field.
pub(crate) fn uuid_field(field: &str, value: &str) -> Result<Uuid, ApiError> {
    let canonical = value.len() == 36
        && value
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c));
    match Uuid::parse_str(value) {
        Ok(uuid) if canonical && uuid.hyphenated().to_string() == value => Ok(uuid),
        _ => Err(ApiError::validation(&format!(
            "request body has an error: doesn't match schema: Error at \"/{field}\": string doesn't match the regular expression \"{UUID_PATTERN}\""
        ))),
    }
}

/// A field with `format: email`.
pub(crate) fn email_field(field: &str, value: &str) -> Result<(), ApiError> {
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.is_empty()
            && !domain.contains(['@', '<', '>', '"', ','])
            && !value.chars().any(char::is_whitespace)
    });
    if valid {
        Ok(())
    } else {
        Err(ApiError::validation(&format!(
            "request body has an error: doesn't match schema: Error at \"/{field}\": string doesn't match the format \"email\""
        )))
    }
}

/// A password within the schema's 3 to 50 characters.
pub(crate) fn password_field(value: &str) -> Result<(), ApiError> {
    let len = value.chars().count();
    if len < 3 {
        Err(ApiError::validation(
            "request body has an error: doesn't match schema: Error at \"/password\": minimum string length is 3",
        ))
    } else if len > 50 {
        Err(ApiError::validation(
            "request body has an error: doesn't match schema: Error at \"/password\": maximum string length is 50",
        ))
    } else {
        Ok(())
    }
}

/// What the `Authorization` header holds.
pub(crate) enum Bearer {
    /// No header, or not `Bearer <token>`.
    Missing,
    /// A token that does not verify.
    Invalid(VerifyError),
    /// A valid token.
    Valid(AccessClaims),
}

/// Reads and checks the bearer token as the auth server does.
pub(crate) fn bearer(app: &App, headers: &HeaderMap) -> Bearer {
    let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty() && !t.contains(' '))
    else {
        return Bearer::Missing;
    };
    match jwt::verify(&app.keys, token, app.now_ms(), Checker::AuthServer) {
        Ok(claims) => Bearer::Valid(claims),
        Err(e) => Bearer::Invalid(e),
    }
}

/// The user behind a required bearer token. A missing header fails request validation (400);
/// a bad or expired token gets the 401 `unauthorized` shape.
pub(crate) fn bearer_user(app: &App, headers: &HeaderMap) -> Result<UserRecord, ApiError> {
    match bearer(app, headers) {
        Bearer::Missing => Err(ApiError::validation(
            "security requirements failed: invalid authorization header",
        )),
        Bearer::Invalid(e) => Err(ApiError::unauthorized(&e.reason())),
        Bearer::Valid(claims) => user_of(app, &claims),
    }
}

/// The user a valid token names: gone users are an `invalid-request`, disabled ones a
/// `disabled-user`.
pub(crate) fn user_of(app: &App, claims: &AccessClaims) -> Result<UserRecord, ApiError> {
    let user = Uuid::parse_str(&claims.sub)
        .ok()
        .and_then(|id| app.db().users.get(id).cloned())
        .ok_or_else(|| app.err(ErrorCode::InvalidRequest))?;
    if user.disabled {
        return Err(app.err(ErrorCode::DisabledUser));
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_fields_must_be_canonical_lower_case() {
        assert!(uuid_field("refreshToken", "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24").is_ok());
        assert!(uuid_field("refreshToken", "2C35B6F3-C4B9-48E3-978A-D4D0F1D42E24").is_err());
        assert!(uuid_field("refreshToken", "2c35b6f3c4b948e3978ad4d0f1d42e24").is_err());
        assert!(uuid_field("refreshToken", "not-a-uuid").is_err());
    }

    #[test]
    fn email_format() {
        assert!(email_field("email", "a@example.com").is_ok());
        assert!(email_field("email", "a@b@c").is_err());
        assert!(email_field("email", "nobody").is_err());
        assert!(email_field("email", "a b@c.d").is_err());
    }
}
