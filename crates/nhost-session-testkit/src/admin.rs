//! The admin API under `/__admin`, for tests that drive the fake over HTTP (Node, browsers).
//! Admin calls are not counted in the stats and never suffer faults or latency.
//!
//! The routes are listed in the crate documentation.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::SeedUser;
use crate::faults::Fault;
use crate::idtoken;
use crate::lock::lock;
use crate::routes::GRAPHQL_PATH;
use crate::state::App;
use crate::totp;
use crate::users::UserRecord;

/// The admin routes (state supplied by the caller).
pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/__admin/config", get(config))
        .route("/__admin/stats", get(stats))
        .route(
            "/__admin/faults",
            get(list_faults).post(arm_faults).delete(clear_faults),
        )
        .route("/__admin/outbox", get(outbox).delete(clear_outbox))
        .route("/__admin/time", get(time))
        .route("/__admin/time/advance", post(advance))
        .route("/__admin/reset", post(reset))
        .route("/__admin/users", get(users).post(create_user))
        .route("/__admin/totp", get(totp_code))
        .route("/__admin/id-token", post(id_token))
        .route("/__admin/rotate-signing-key", post(rotate_signing_key))
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn config(State(app): State<App>) -> Response {
    let c = &app.config;
    Json(json!({
        "baseUrl": app.api_url(""),
        "graphqlUrl": app.root_url(GRAPHQL_PATH),
        "jwksUrl": app.api_url("/.well-known/jwks.json"),
        "adminUrl": app.root_url("/__admin"),
        "apiPrefix": c.api_prefix,
        "jwtAlgorithm": c.algorithm.name(),
        "hasuraJwtSecret": app.hasura_jwt_secret(),
        "hasuraJwtSecretWithKey": app.hasura_jwt_secret_with_key(),
        "publicKeyPem": app.keys.current_public_pem(),
        "rotation": c.rotation.to_string(),
        "accessTokenTtlSecs": c.access_token_ttl.as_secs(),
        "refreshTokenTtlSecs": c.refresh_token_ttl.as_secs(),
        "concealErrors": c.conceal_errors,
        "anonymousUsers": c.anonymous_users,
        "emailVerificationRequired": c.email_verification_required,
        "clientUrl": c.client_url,
        "latencyMs": u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX),
    }))
    .into_response()
}

async fn stats(State(app): State<App>) -> Response {
    Json(app.stats().clone()).into_response()
}

async fn list_faults(State(app): State<App>) -> Response {
    Json(lock(&app.faults).list()).into_response()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Fault),
    Many(Vec<Fault>),
}

async fn arm_faults(State(app): State<App>, body: Bytes) -> Response {
    let faults = match parse::<OneOrMany>(&body) {
        Ok(OneOrMany::One(fault)) => vec![fault],
        Ok(OneOrMany::Many(faults)) => faults,
        Err(e) => return bad_request(e),
    };
    let armed = faults.len();
    let mut queue = lock(&app.faults);
    for fault in faults {
        queue.arm(fault);
    }
    Json(json!({ "armed": armed })).into_response()
}

async fn clear_faults(State(app): State<App>) -> Response {
    lock(&app.faults).clear();
    Json("OK").into_response()
}

async fn outbox(State(app): State<App>) -> Response {
    Json(lock(&app.outbox).clone()).into_response()
}

async fn clear_outbox(State(app): State<App>) -> Response {
    lock(&app.outbox).clear();
    Json("OK").into_response()
}

fn time_json(app: &App) -> Value {
    json!({
        "now": app.clock.now_secs(),
        "nowMs": app.clock.now_ms(),
        "offsetMs": u64::try_from(app.clock.offset().as_millis()).unwrap_or(u64::MAX),
    })
}

async fn time(State(app): State<App>) -> Response {
    Json(time_json(&app)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    #[serde(default)]
    seconds: Option<u64>,
    #[serde(default)]
    ms: Option<u64>,
}

async fn advance(State(app): State<App>, body: Bytes) -> Response {
    let by = match parse::<Advance>(&body) {
        Ok(Advance {
            seconds: Some(s),
            ms: None,
        }) => Duration::from_secs(s),
        Ok(Advance {
            seconds: None,
            ms: Some(ms),
        }) => Duration::from_millis(ms),
        Ok(_) => return bad_request("give exactly one of `seconds` and `ms`".to_owned()),
        Err(e) => return bad_request(e),
    };
    app.clock.advance(by);
    Json(time_json(&app)).into_response()
}

async fn reset(State(app): State<App>) -> Response {
    app.reset();
    Json("OK").into_response()
}

async fn users(State(app): State<App>) -> Response {
    let users: Vec<_> = app.db().users.all().map(UserRecord::to_public).collect();
    Json(users).into_response()
}

async fn create_user(State(app): State<App>, body: Bytes) -> Response {
    let seed = match parse::<SeedUser>(&body) {
        Ok(seed) => seed,
        Err(e) => return bad_request(e),
    };
    match app.create_user(&seed) {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(_) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "email-already-in-use" })),
        )
            .into_response(),
    }
}

async fn totp_code(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let code = query
        .get("secret")
        .and_then(|secret| totp::code_at_time(secret, app.clock.now()));
    match code {
        Some(code) => Json(json!({ "code": code })).into_response(),
        None => bad_request("`secret` must be a base32 TOTP secret".to_owned()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdTokenRequest {
    provider: String,
    email: String,
    #[serde(default)]
    nonce: Option<String>,
}

async fn id_token(State(app): State<App>, body: Bytes) -> Response {
    match parse::<IdTokenRequest>(&body) {
        Ok(r) => Json(json!({
            "idToken": idtoken::make(&r.provider, &r.email, r.nonce.as_deref(), app.clock.now_secs())
        }))
        .into_response(),
        Err(e) => bad_request(e),
    }
}

async fn rotate_signing_key(State(app): State<App>) -> Response {
    Json(json!({ "kid": app.keys.rotate() })).into_response()
}
