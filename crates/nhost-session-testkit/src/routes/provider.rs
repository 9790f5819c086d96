//! OAuth sign-in through a fake provider served by this same server, and the PKCE code
//! exchange.
//!
//! `GET {base}/signin/provider/{provider}?redirectTo=...` redirects to
//! `/__provider/{provider}/authorize`, which approves at once and redirects to
//! `{base}/signin/provider/{provider}/callback?code=...&state=...`, which ends with a redirect
//! to `redirectTo?refreshToken=<uuid>`, or `redirectTo?code=<code>` when the sign-in carried
//! `codeChallenge` (S256). The user is `{provider}-user@example.com`, or the e-mail given as
//! `login_hint` to the sign-in or the authorize URL. `provider_error=<text>` (on either) makes
//! the provider refuse, which ends in `redirectTo?error=oauth-provider-error&errorDescription=...`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::request::required;
use super::signin::find_or_create_by_email;
use super::{add_query, redirect, redirect_error, wrapped};
use crate::errors::{ApiError, ApiResult, ErrorCode};
use crate::random;
use crate::state::App;
use crate::tickets::{AuthCode, OAUTH_MS, OAuthState};
use crate::users::SignUpOptions;

/// The fake provider's authorization page (outside the API prefix).
pub(crate) const AUTHORIZE_PATH: &str = "/__provider/{provider}/authorize";

/// The providers the real server's OpenAPI description allows.
const PROVIDERS: &[&str] = &[
    "apple",
    "github",
    "google",
    "linkedin",
    "discord",
    "spotify",
    "twitch",
    "gitlab",
    "bitbucket",
    "workos",
    "azuread",
    "entraid",
    "strava",
    "facebook",
    "windowslive",
    "twitter",
];

fn check_provider(provider: &str) -> Result<(), ApiError> {
    if PROVIDERS.contains(&provider) {
        Ok(())
    } else {
        Err(ApiError::validation(&format!(
            "parameter \"provider\" in path has an error: value is not one of the allowed values {PROVIDERS:?}"
        )))
    }
}

/// Starts the flow: remembers the request under a random state, redirects to the provider.
pub(super) async fn start(
    State(app): State<App>,
    Path(provider): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    check_provider(&provider)?;
    let redirect_to = query
        .get("redirectTo")
        .cloned()
        .unwrap_or_else(|| app.config.client_url.clone());
    if url::Url::parse(&redirect_to).is_err() {
        return Err(ApiError::validation(
            "parameter \"redirectTo\" in query has an error: must be a URI",
        ));
    }
    if query
        .get("codeChallengeMethod")
        .is_some_and(|method| method != "S256")
    {
        return Err(ApiError::validation(
            "parameter \"codeChallengeMethod\" in query has an error: value is not one of the allowed values [\"S256\"]",
        ));
    }
    let metadata = match query.get("metadata") {
        Some(text) => Some(serde_json::from_str::<Value>(text).map_err(|_| {
            ApiError::validation(
                "parameter \"metadata\" in query has an error: value must be a JSON object",
            )
        })?),
        None => None,
    };
    let options = SignUpOptions {
        allowed_roles: query
            .get("allowedRoles")
            .map(|roles| roles.split(',').map(str::to_owned).collect()),
        default_role: query.get("defaultRole").cloned(),
        display_name: query.get("displayName").cloned(),
        locale: query.get("locale").cloned(),
        metadata,
        redirect_to: Some(redirect_to.clone()),
    };
    let state = random::url_token();
    let now = app.now_ms();
    app.db().tickets.oauth_states.put(
        state.clone(),
        OAuthState {
            provider: provider.clone(),
            redirect_to,
            code_challenge: query.get("codeChallenge").cloned(),
            login_hint: query.get("login_hint").cloned(),
            provider_error: query.get("provider_error").cloned(),
            options,
        },
        now,
        OAUTH_MS,
    );
    let authorize = app.root_url(&AUTHORIZE_PATH.replace("{provider}", &provider));
    let location = add_query(&authorize, &[("state", &state)]).unwrap_or(authorize);
    Ok(redirect(&location))
}

/// The fake provider: approves at once (or refuses when asked) and sends the browser back to
/// the server's callback.
pub(super) async fn authorize(
    State(app): State<App>,
    Path(provider): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let state = query.get("state").cloned().unwrap_or_default();
    let now = app.now_ms();
    let refuse = {
        let mut db = app.db();
        match db.tickets.oauth_states.get_mut(&state, now) {
            Some(pending) => {
                if let Some(hint) = query.get("login_hint") {
                    pending.login_hint = Some(hint.clone());
                }
                query
                    .get("provider_error")
                    .or(pending.provider_error.as_ref())
                    .cloned()
            }
            None => None,
        }
    };
    let callback = app.api_url(&format!("/signin/provider/{provider}/callback"));
    let location = match refuse {
        Some(reason) => add_query(
            &callback,
            &[
                ("error", "access_denied"),
                ("error_description", &reason),
                ("state", &state),
            ],
        ),
        None => add_query(
            &callback,
            &[("code", &random::url_token()), ("state", &state)],
        ),
    }
    .unwrap_or(callback);
    Ok(redirect(&location))
}

/// The provider's callback: signs the user in (creating them on first use) and redirects to
/// `redirectTo` with a refresh token, or a PKCE code.
pub(super) async fn callback(
    State(app): State<App>,
    Path(provider): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    check_provider(&provider)?;
    let state = query.get("state").ok_or_else(|| {
        ApiError::validation(
            "parameter \"state\" in query has an error: value is required but missing",
        )
    })?;
    let now = app.now_ms();
    let pending = app
        .db()
        .tickets
        .oauth_states
        .take(state, now)
        .filter(|pending| pending.provider == provider);
    let Some(pending) = pending else {
        return Ok(redirect_error(
            &app,
            &app.config.client_url,
            ErrorCode::InvalidState,
        ));
    };
    if query.contains_key("error") {
        return Ok(redirect_error(
            &app,
            &pending.redirect_to,
            ErrorCode::OauthProviderError,
        ));
    }
    let email = pending
        .login_hint
        .clone()
        .unwrap_or_else(|| format!("{provider}-user@example.com"));
    let user_id = match find_or_create_by_email(&app, &email, true, &pending.options) {
        Ok(id) => id,
        Err(_) => {
            return Ok(redirect_error(
                &app,
                &pending.redirect_to,
                ErrorCode::InvalidRequest,
            ));
        }
    };
    if let Some(challenge) = pending.code_challenge {
        let code = random::url_token();
        app.db().tickets.auth_codes.put(
            code.clone(),
            AuthCode {
                user_id,
                code_challenge: challenge,
            },
            now,
            OAUTH_MS,
        );
        let location = add_query(&pending.redirect_to, &[("code", &code)]).unwrap_or_default();
        return Ok(redirect(&location));
    }
    let session = match app.sign_in(user_id) {
        Ok(session) => session,
        Err(_) => {
            return Ok(redirect_error(
                &app,
                &pending.redirect_to,
                ErrorCode::DisabledUser,
            ));
        }
    };
    let token = session["refreshToken"].as_str().unwrap_or_default();
    let location = add_query(&pending.redirect_to, &[("refreshToken", token)]).unwrap_or_default();
    Ok(redirect(&location))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExchangeRequest {
    code: String,
    code_verifier: String,
}

/// `POST /token/exchange {code, codeVerifier}`: a single-use code whose challenge must be
/// `BASE64URL(SHA256(codeVerifier))`. Any failure is 400 `invalid-request`.
pub(super) async fn exchange(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: ExchangeRequest = required(&headers, &body)?;
    let now = app.now_ms();
    let pending = app
        .db()
        .tickets
        .auth_codes
        .take(&request.code, now)
        .ok_or_else(|| app.err(ErrorCode::InvalidRequest))?;
    let digest = Sha256::digest(request.code_verifier.as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    if challenge != pending.code_challenge {
        return Err(app.err(ErrorCode::InvalidRequest));
    }
    Ok(wrapped(app.sign_in(pending.user_id)?))
}
