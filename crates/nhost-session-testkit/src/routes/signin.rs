//! Sign-in with e-mail and password (with TOTP MFA), anonymously, with a personal access
//! token, and with an ID token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::request::{email_field, json_body, password_field, required, uuid_field};
use super::{mfa_challenge, wrapped};
use crate::errors::{ApiError, ApiResult, ErrorCode};
use crate::idtoken;
use crate::state::App;
use crate::tickets::MFA_TICKET_MS;
use crate::totp;
use crate::users::{SignUpOptions, UserRecord};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EmailPasswordRequest {
    email: String,
    password: String,
}

/// A session, or an MFA challenge when the user has TOTP on.
pub(super) async fn email_password(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: EmailPasswordRequest = required(&headers, &body)?;
    email_field("email", &request.email)?;
    password_field(&request.password)?;
    let user = app
        .db()
        .users
        .by_email(&request.email)
        .cloned()
        .filter(|u| u.password.as_deref() == Some(request.password.as_str()))
        .ok_or_else(|| app.err(ErrorCode::InvalidEmailPassword))?;
    check_can_sign_in(&app, &user)?;
    if user.active_mfa_type.as_deref() == Some("totp") {
        return Ok(mfa_challenge(&new_mfa_ticket(&app, user.id)));
    }
    Ok(wrapped(app.sign_in(user.id)?))
}

/// The checks every password-style sign-in makes: disabled users, unverified e-mails.
pub(super) fn check_can_sign_in(app: &App, user: &UserRecord) -> Result<(), ApiError> {
    if user.disabled {
        return Err(app.err(ErrorCode::DisabledUser));
    }
    if app.config.email_verification_required && user.email.is_some() && !user.email_verified {
        return Err(app.err(ErrorCode::UnverifiedUser));
    }
    Ok(())
}

/// Stores a new `mfaTotp:<uuid>` ticket for 5 minutes.
pub(super) fn new_mfa_ticket(app: &App, user_id: Uuid) -> String {
    let ticket = format!("mfaTotp:{}", Uuid::new_v4());
    let now = app.now_ms();
    app.db()
        .tickets
        .mfa
        .put(ticket.clone(), user_id, now, MFA_TICKET_MS);
    ticket
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MfaTotpRequest {
    ticket: String,
    otp: String,
}

/// Completes an MFA sign-in: the ticket must be live, the code right for the fake clock.
pub(super) async fn mfa_totp(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: MfaTotpRequest = required(&headers, &body)?;
    if !request.ticket.starts_with("mfaTotp:") {
        return Err(ApiError::validation(
            "request body has an error: doesn't match schema: Error at \"/ticket\": string doesn't match the regular expression \"^mfaTotp:.*$\"",
        ));
    }
    let now = app.now_ms();
    let user_id = {
        let mut db = app.db();
        let user_id = db
            .tickets
            .mfa
            .get(&request.ticket, now)
            .copied()
            .ok_or_else(|| app.err(ErrorCode::InvalidTicket))?;
        let secret = db
            .users
            .get(user_id)
            .and_then(|u| u.totp_secret.clone())
            .ok_or_else(|| app.err(ErrorCode::InvalidTicket))?;
        let secs = u64::try_from(app.clock.now_secs()).unwrap_or_default();
        if !totp::verify(&secret, &request.otp, secs) {
            return Err(app.err(ErrorCode::InvalidTotp));
        }
        db.tickets.mfa.take(&request.ticket, now);
        user_id
    };
    Ok(wrapped(app.sign_in(user_id)?))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AnonymousRequest {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

/// A new anonymous user: no e-mail, `isAnonymous: true`, role `anonymous`.
pub(super) async fn anonymous(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: AnonymousRequest = json_body(&headers, &body, false)?.unwrap_or_default();
    if !app.config.anonymous_users {
        return Err(app.err(ErrorCode::DisabledEndpoint));
    }
    let mut user = UserRecord::blank(&app.config, app.now_ms());
    user.is_anonymous = true;
    user.default_role = "anonymous".to_owned();
    user.allowed_roles = vec!["anonymous".to_owned()];
    let options = SignUpOptions {
        display_name: request.display_name,
        locale: request.locale,
        metadata: request.metadata,
        ..SignUpOptions::default()
    };
    options.apply(&mut user, &app.config, app.config.conceal_errors)?;
    let id = app.db().users.insert(user).map_err(|code| app.err(code))?;
    Ok(wrapped(app.sign_in(id)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatRequest {
    personal_access_token: String,
}

/// A new regular session for the owner of a personal access token.
pub(super) async fn pat(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: PatRequest = required(&headers, &body)?;
    let token = uuid_field("personalAccessToken", &request.personal_access_token)?;
    let now = app.now_ms();
    let user_id = app
        .db()
        .sessions
        .pat_user(token, now)
        .ok_or_else(|| app.err(ErrorCode::InvalidPat))?;
    Ok(wrapped(app.sign_in(user_id)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdTokenRequest {
    provider: String,
    id_token: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    options: Option<SignUpOptions>,
}

/// Sign-in with an ID token of the fake identity provider (see
/// [`crate::FakeAuthServer::id_token`]); the user is created on first sign-in.
pub(super) async fn id_token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: IdTokenRequest = required(&headers, &body)?;
    if !matches!(request.provider.as_str(), "apple" | "google") {
        return Err(ApiError::validation(&format!(
            "request body has an error: doesn't match schema: Error at \"/provider\": value is not one of the allowed values [\"apple\",\"google\"]: {:?}",
            request.provider
        )));
    }
    let claims = idtoken::check(
        &request.id_token,
        &request.provider,
        request.nonce.as_deref(),
        app.clock.now_secs(),
    )
    .ok_or_else(|| app.err(ErrorCode::InvalidRequest))?;
    let options = request.options.unwrap_or_default();
    let user_id = find_or_create_by_email(&app, &claims.email, true, &options)?;
    Ok(wrapped(app.sign_in(user_id)?))
}

/// The user with this e-mail, or a new one made with `options` (first sign-in through a
/// provider or a passwordless method).
pub(super) fn find_or_create_by_email(
    app: &App,
    email: &str,
    verified: bool,
    options: &SignUpOptions,
) -> Result<Uuid, ApiError> {
    let existing = |app: &App| -> Option<Result<Uuid, ApiError>> {
        let db = app.db();
        let user = db.users.by_email(email)?;
        Some(if user.disabled {
            Err(app.err(ErrorCode::DisabledUser))
        } else {
            Ok(user.id)
        })
    };
    if let Some(found) = existing(app) {
        return found;
    }
    let mut user = UserRecord::blank(&app.config, app.now_ms());
    user.email = Some(email.to_owned());
    user.display_name = email.to_owned();
    user.email_verified = verified;
    options.apply(&mut user, &app.config, app.config.conceal_errors)?;
    let inserted = app.db().users.insert(user);
    match inserted {
        Ok(id) => Ok(id),
        // A concurrent first sign-in created the user meanwhile: use that one.
        Err(code) => existing(app).unwrap_or_else(|| Err(app.err(code))),
    }
}
