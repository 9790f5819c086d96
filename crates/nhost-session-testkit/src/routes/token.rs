//! `POST /token` (refresh, with rotation) and `POST /signout`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

use super::ok;
use super::request::{Bearer, bearer, required, user_of, uuid_field};
use crate::clock::duration_ms;
use crate::errors::{ApiResult, ErrorCode};
use crate::state::App;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

/// Answers a bare `Session`. The check and the rotation happen under one lock, so of several
/// concurrent refreshes with one token exactly one succeeds.
pub(super) async fn refresh(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: RefreshRequest = required(&headers, &body)?;
    let token = uuid_field("refreshToken", &request.refresh_token)?;
    let now = app.now_ms();
    let outcome = {
        let mut db = app.db();
        match db.sessions.peek(token, now) {
            Err(rejected) => Err((rejected.replaced, ErrorCode::InvalidRefreshToken)),
            Ok(user_id) => match db.users.get(user_id).cloned() {
                None => Err((false, ErrorCode::InvalidRefreshToken)),
                Some(user) if user.disabled => Err((false, ErrorCode::DisabledUser)),
                Some(user) => db
                    .sessions
                    .rotate(
                        token,
                        now,
                        duration_ms(app.config.refresh_token_ttl),
                        app.config.rotation,
                    )
                    .map(|refreshed| (user, refreshed))
                    .ok_or((false, ErrorCode::InvalidRefreshToken)),
            },
        }
    };
    let (user, refreshed) = match outcome {
        Ok(done) => done,
        Err((reuse, code)) => {
            if reuse {
                app.stats().reuse_rejections += 1;
            }
            return Err(app.err(code));
        }
    };
    if refreshed.minted {
        app.stats().refresh_tokens_issued += 1;
    }
    let session = app.session_json(&user, refreshed.token, refreshed.device)?;
    Ok(Json(session).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignOutRequest {
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    all: Option<bool>,
}

/// `{refreshToken}` ends that device session (unknown tokens are fine); `{all:true}` with a
/// valid bearer ends every session of the user, and without one is a 400 `invalid-request`.
pub(super) async fn sign_out(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: SignOutRequest = required(&headers, &body)?;
    if request.all == Some(true) {
        let Bearer::Valid(claims) = bearer(&app, &headers) else {
            return Err(app.err(ErrorCode::InvalidRequest));
        };
        let user = user_of(&app, &claims)?;
        app.db().sessions.sign_out_user(user.id);
    } else {
        let token = request
            .refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| app.err(ErrorCode::InvalidRequest))?;
        if let Ok(token) = Uuid::parse_str(&token) {
            app.db().sessions.sign_out(token);
        }
    }
    app.stats().sign_outs += 1;
    Ok(ok())
}
