//! Health, version, JWKS and the answer to unknown routes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::App;

/// `"OK"` (also at `/healthz` outside the prefix).
pub(super) async fn healthz() -> Response {
    super::ok()
}

/// `{"version": "..."}`: the fake names itself.
pub(super) async fn version() -> Response {
    Json(json!({ "version": concat!("nhost-session-testkit-", env!("CARGO_PKG_VERSION")) }))
        .into_response()
}

/// The JWKS: the published RS256 keys, or `{"keys":null}` with HS256.
pub(super) async fn jwks(State(app): State<App>) -> Response {
    Json(app.keys.jwks()).into_response()
}

/// 404 in the error shape.
pub(super) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "status": 404, "error": "route-not-found", "message": "Route not found" })),
    )
        .into_response()
}
