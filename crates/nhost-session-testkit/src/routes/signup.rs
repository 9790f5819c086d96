//! `POST /signup/email-password`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::request::{email_field, password_field, required};
use super::wrapped;
use crate::errors::ApiResult;
use crate::outbox::MessageKind;
use crate::state::App;
use crate::tickets::{LINK_TICKET_MS, LinkKind, LinkTicket};
use crate::users::{SignUpOptions, UserRecord};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignUpRequest {
    email: String,
    password: String,
    #[serde(default)]
    options: Option<SignUpOptions>,
}

/// Creates the user and signs them in, or, when e-mail verification is required, mails a
/// verification link and answers `{"session":null}`.
pub(super) async fn email_password(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: SignUpRequest = required(&headers, &body)?;
    email_field("email", &request.email)?;
    password_field(&request.password)?;
    let options = request.options.unwrap_or_default();
    let now = app.now_ms();
    let mut user = UserRecord::blank(&app.config, now);
    user.email = Some(request.email.clone());
    user.password = Some(request.password);
    user.display_name.clone_from(&request.email);
    options.apply(&mut user, &app.config, app.config.conceal_errors)?;
    let id = app.db().users.insert(user).map_err(|code| app.err(code))?;
    if app.config.email_verification_required {
        let ticket = format!("verifyEmail:{}", uuid::Uuid::new_v4());
        app.db().tickets.links.put(
            ticket.clone(),
            LinkTicket {
                user_id: id,
                kind: LinkKind::EmailVerify,
            },
            now,
            LINK_TICKET_MS,
        );
        let redirect_to = options
            .redirect_to
            .unwrap_or_else(|| app.config.client_url.clone());
        let link =
            super::passwordless::verify_link(&app, &ticket, LinkKind::EmailVerify, &redirect_to);
        app.send(
            MessageKind::EmailVerification,
            &request.email,
            None,
            Some(link),
        );
        return Ok(Json(json!({ "session": null })).into_response());
    }
    let session = app.sign_in(id)?;
    Ok(wrapped(session))
}
