//! A tiny stand-in for Hasura's `POST /v1/graphql`: it checks the bearer JWT the way Hasura
//! does (signature with the published keys, `exp` on the fake clock, no leeway) and answers
//! one query shape, whatever the query text:
//! `{"data":{"me":{"id":...,"email":...,"role":...,"isAnonymous":...}}}`.
//!
//! Failures come as HTTP 200 with Hasura's `errors` array: `invalid-headers` when the header is
//! missing or malformed, `invalid-jwt` (`Could not verify JWT: JWTExpired`,
//! `Could not verify JWT: JWSError JWSInvalidSignature`, ...) when the token is refused, and
//! `access-denied` when `x-hasura-role` names a role the token does not allow.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::jwt::{self, Checker};
use crate::state::App;

fn hasura_error(code: &str, message: &str) -> Response {
    Json(json!({
        "errors": [{ "message": message, "extensions": { "path": "$", "code": code } }]
    }))
    .into_response()
}

/// Handles `POST /v1/graphql`.
pub(crate) async fn handle(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(header) = headers.get(AUTHORIZATION) else {
        return hasura_error(
            "invalid-headers",
            "Missing 'Authorization' or 'Cookie' header in JWT authentication mode",
        );
    };
    let Some(token) = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
    else {
        return hasura_error("invalid-headers", "Malformed Authorization header");
    };
    let claims = match jwt::verify(&app.keys, token, app.now_ms(), Checker::Hasura) {
        Ok(claims) => claims,
        Err(e) => {
            return hasura_error(
                "invalid-jwt",
                &format!("Could not verify JWT: {}", e.hasura_message()),
            );
        }
    };
    let default_role = claims
        .hasura_str("x-hasura-default-role")
        .unwrap_or_default()
        .to_owned();
    let role = match headers.get("x-hasura-role").and_then(|v| v.to_str().ok()) {
        Some(requested) if !claims.allowed_roles().iter().any(|r| r == requested) => {
            return hasura_error(
                "access-denied",
                "Your requested role is not in allowed roles",
            );
        }
        Some(requested) => requested.to_owned(),
        None => default_role,
    };
    let user_id = claims
        .hasura_str("x-hasura-user-id")
        .unwrap_or(&claims.sub)
        .to_owned();
    let email = Uuid::parse_str(&user_id)
        .ok()
        .and_then(|id| app.db().users.get(id).and_then(|u| u.email.clone()))
        .map_or(Value::Null, Value::from);
    Json(json!({
        "data": {
            "me": {
                "id": user_id,
                "email": email,
                "role": role,
                "isAnonymous": claims.is_anonymous(),
            }
        }
    }))
    .into_response()
}
