//! The HTTP surface: the auth API under the prefix, the fake OAuth provider, the GraphQL
//! stand-in, the admin API, and the middleware that counts calls and injects faults.

mod passwordless;
mod provider;
pub(crate) mod request;
mod signin;
mod signup;
mod system;
mod token;
mod user;

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::connection::ConnControl;
use crate::errors::ErrorCode;
use crate::faults::FaultAction;
use crate::lock::lock;
use crate::state::App;
use crate::{admin, graphql};

/// Where the GraphQL stand-in lives (outside the auth prefix).
pub(crate) const GRAPHQL_PATH: &str = "/v1/graphql";

/// The whole router.
pub(crate) fn router(app: App) -> Router {
    let p = app.config.api_prefix.clone();
    let at = |path: &str| format!("{p}{path}");
    let mut api = Router::new()
        .route(&at("/signup/email-password"), post(signup::email_password))
        .route(&at("/signin/email-password"), post(signin::email_password))
        .route(&at("/signin/mfa/totp"), post(signin::mfa_totp))
        .route(&at("/signin/anonymous"), post(signin::anonymous))
        .route(&at("/signin/pat"), post(signin::pat))
        .route(&at("/signin/idtoken"), post(signin::id_token))
        .route(
            &at("/signin/passwordless/email"),
            post(passwordless::magic_link),
        )
        .route(&at("/signin/otp/email"), post(passwordless::email_otp))
        .route(
            &at("/signin/otp/email/verify"),
            post(passwordless::email_otp_verify),
        )
        .route(&at("/signin/passwordless/sms"), post(passwordless::sms))
        .route(
            &at("/signin/passwordless/sms/otp"),
            post(passwordless::sms_otp),
        )
        .route(&at("/verify"), get(passwordless::verify))
        .route(&at("/signin/provider/{provider}"), get(provider::start))
        .route(
            &at("/signin/provider/{provider}/callback"),
            get(provider::callback),
        )
        .route(&at("/token/exchange"), post(provider::exchange))
        .route(&at("/token"), post(token::refresh))
        .route(&at("/signout"), post(token::sign_out))
        .route(&at("/user"), get(user::get_user))
        .route(&at("/user/mfa"), post(user::change_mfa))
        .route(&at("/mfa/totp/generate"), get(user::generate_totp))
        .route(&at("/pat"), post(user::create_pat))
        .route(&at("/.well-known/jwks.json"), get(system::jwks))
        .route(&at("/healthz"), get(system::healthz).head(system::healthz))
        .route(&at("/version"), get(system::version))
        .route(GRAPHQL_PATH, post(graphql::handle))
        .route(provider::AUTHORIZE_PATH, get(provider::authorize));
    if !p.is_empty() {
        api = api.route("/healthz", get(system::healthz).head(system::healthz));
    }
    api.fallback(system::not_found)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            count_and_inject,
        ))
        .merge(admin::router())
        .with_state(app)
}

/// `{"session": Session}`.
pub(crate) fn wrapped(session: Value) -> Response {
    Json(json!({ "session": session })).into_response()
}

/// `{"session": null, "mfa": {"ticket": "mfaTotp:<uuid>"}}`.
pub(crate) fn mfa_challenge(ticket: &str) -> Response {
    Json(json!({ "session": null, "mfa": { "ticket": ticket } })).into_response()
}

/// The JSON string `"OK"`.
pub(crate) fn ok() -> Response {
    Json("OK").into_response()
}

/// A 302 to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `url` with `pairs` added to its query, or `None` when `url` is not an absolute URL.
pub(crate) fn add_query(url: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(url).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    Some(url.into())
}

/// A redirect carrying an error, as the real server sends from redirect endpoints.
pub(crate) fn redirect_error(app: &App, redirect_to: &str, code: ErrorCode) -> Response {
    let code = code.effective(app.config.conceal_errors);
    let location = add_query(
        redirect_to,
        &[
            ("error", code.as_str()),
            ("errorDescription", code.message()),
        ],
    )
    .unwrap_or_else(|| redirect_to.to_owned());
    redirect(&location)
}

/// Counts every API call, adds the configured latency, and applies the first armed fault.
async fn count_and_inject(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if method == Method::POST && path == app.api_url_path("/token") {
        app.stats().token_calls += 1;
    }
    if !app.config.latency.is_zero() {
        tokio::time::sleep(app.config.latency).await;
    }
    let fault = lock(&app.faults).take(method.as_str(), &path, &app.config.api_prefix);
    let Some(fault) = fault else {
        let response = next.run(request).await;
        record(&app, &path, &response);
        return response;
    };
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    let control = request.extensions().get::<ConnControl>().cloned();
    match fault.action {
        FaultAction::Proceed => {
            let response = next.run(request).await;
            record(&app, &path, &response);
            response
        }
        FaultAction::Respond {
            status,
            body,
            content_type,
        } => {
            let response = canned(status, body, content_type);
            record(&app, &path, &response);
            response
        }
        FaultAction::Drop | FaultAction::Reset => {
            // Read the whole request first, so closing sends a clean FIN (unread data would
            // turn it into a RST).
            let _ = axum::body::to_bytes(request.into_body(), 1 << 20).await;
            hang_up(&app, &path, control, fault.action == FaultAction::Reset).await
        }
        FaultAction::CommitThenDrop => {
            let response = next.run(request).await;
            drop(response);
            hang_up(&app, &path, control, false).await
        }
    }
}

/// Closes the connection without answering, and never returns (the connection task drops
/// this future along with the connection).
async fn hang_up(app: &App, path: &str, control: Option<ConnControl>, reset: bool) -> Response {
    {
        let mut stats = app.stats();
        stats.record(path, "dropped");
        stats.dropped_connections += 1;
    }
    match control {
        Some(control) => {
            control.abort(reset);
            std::future::pending::<Response>().await
        }
        // Not served by our accept loop (cannot happen): the closest thing is an error.
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn record(app: &App, path: &str, response: &Response) {
    app.stats().record(path, response.status().as_str());
}

/// An injected answer, byte for byte.
fn canned(status: u16, body: String, content_type: Option<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type =
        content_type.or_else(|| (!body.is_empty()).then(|| "application/json".to_owned()));
    let mut response = (status, Body::from(body)).into_response();
    if let Some(value) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}
