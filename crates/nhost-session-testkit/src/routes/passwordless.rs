//! Passwordless sign-in: magic links (and the `/verify` endpoint they point at), e-mail
//! one-time codes and SMS one-time codes. What would be sent lands in the outbox.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use uuid::Uuid;

use super::request::{email_field, required};
use super::signin::{find_or_create_by_email, new_mfa_ticket};
use super::{add_query, mfa_challenge, ok, redirect, redirect_error, wrapped};
use crate::errors::{ApiError, ApiResult, ErrorCode};
use crate::outbox::MessageKind;
use crate::random;
use crate::state::App;
use crate::tickets::{LINK_TICKET_MS, LinkKind, LinkTicket, OTP_MS};
use crate::users::{SignUpOptions, UserRecord};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EmailRequest {
    email: String,
    #[serde(default)]
    options: Option<SignUpOptions>,
}

/// The link a message carries: `{base}/verify?ticket=...&type=...&redirectTo=...`.
pub(crate) fn verify_link(app: &App, ticket: &str, kind: LinkKind, redirect_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ticket", ticket)
        .append_pair("type", kind.type_param())
        .append_pair("redirectTo", redirect_to)
        .finish();
    format!("{}?{query}", app.api_url("/verify"))
}

/// Mails a magic link; the user is created on first use.
pub(super) async fn magic_link(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: EmailRequest = required(&headers, &body)?;
    email_field("email", &request.email)?;
    let options = request.options.unwrap_or_default();
    let user_id = find_or_create_by_email(&app, &request.email, false, &options)?;
    let ticket = format!("passwordlessEmail:{}", Uuid::new_v4());
    let now = app.now_ms();
    app.db().tickets.links.put(
        ticket.clone(),
        LinkTicket {
            user_id,
            kind: LinkKind::SignInPasswordless,
        },
        now,
        LINK_TICKET_MS,
    );
    let redirect_to = options
        .redirect_to
        .unwrap_or_else(|| app.config.client_url.clone());
    let link = verify_link(&app, &ticket, LinkKind::SignInPasswordless, &redirect_to);
    app.send(MessageKind::MagicLink, &request.email, None, Some(link));
    Ok(ok())
}

/// `GET /verify?ticket=...&type=...&redirectTo=...`: follows a magic link or a verification
/// link, then redirects to `redirectTo?refreshToken=<uuid>&type=<type>`, or to
/// `redirectTo?error=<code>&errorDescription=...`.
pub(super) async fn verify(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let redirect_to = query.get("redirectTo").ok_or_else(|| {
        ApiError::validation(
            "parameter \"redirectTo\" in query has an error: value is required but missing",
        )
    })?;
    let ticket = query.get("ticket").ok_or_else(|| {
        ApiError::validation(
            "parameter \"ticket\" in query has an error: value is required but missing",
        )
    })?;
    if url::Url::parse(redirect_to).is_err() {
        return Err(ApiError::validation(
            "parameter \"redirectTo\" in query has an error: must be a URI",
        ));
    }
    let now = app.now_ms();
    let found = app.db().tickets.links.take(ticket, now);
    let Some(found) = found else {
        return Ok(redirect_error(&app, redirect_to, ErrorCode::InvalidTicket));
    };
    if let Some(user) = app.db().users.get_mut(found.user_id) {
        user.email_verified = true;
    }
    let session = match app.sign_in(found.user_id) {
        Ok(session) => session,
        Err(_) => return Ok(redirect_error(&app, redirect_to, ErrorCode::DisabledUser)),
    };
    let token = session["refreshToken"].as_str().unwrap_or_default();
    let location = add_query(
        redirect_to,
        &[("refreshToken", token), ("type", found.kind.type_param())],
    )
    .unwrap_or_default();
    Ok(redirect(&location))
}

/// Mails a 6-digit code; the user is created on first use.
pub(super) async fn email_otp(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: EmailRequest = required(&headers, &body)?;
    email_field("email", &request.email)?;
    let options = request.options.unwrap_or_default();
    let user_id = find_or_create_by_email(&app, &request.email, false, &options)?;
    let code = random::digits6();
    let now = app.now_ms();
    app.db().tickets.email_otps.put(
        request.email.to_lowercase(),
        (code.clone(), user_id),
        now,
        OTP_MS,
    );
    app.send(MessageKind::EmailOtp, &request.email, Some(code), None);
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EmailOtpVerifyRequest {
    otp: String,
    email: String,
}

/// Signs in with the mailed code (single use; a wrong code leaves it usable).
pub(super) async fn email_otp_verify(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: EmailOtpVerifyRequest = required(&headers, &body)?;
    email_field("email", &request.email)?;
    let user_id = take_code(&app, true, &request.email.to_lowercase(), &request.otp)?;
    if let Some(user) = app.db().users.get_mut(user_id) {
        user.email_verified = true;
    }
    Ok(wrapped(app.sign_in(user_id)?))
}

/// Takes a one-time code if it matches (`email` picks the e-mail table, else SMS).
fn take_code(app: &App, email: bool, key: &str, otp: &str) -> Result<Uuid, ApiError> {
    let now = app.now_ms();
    let mut db = app.db();
    let table = if email {
        &mut db.tickets.email_otps
    } else {
        &mut db.tickets.sms_otps
    };
    match table.get(&key.to_owned(), now) {
        Some((code, user_id)) if code == otp => {
            let user_id = *user_id;
            table.take(&key.to_owned(), now);
            Ok(user_id)
        }
        _ => Err(app.err(ErrorCode::InvalidOtp)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SmsRequest {
    phone_number: String,
    #[serde(default)]
    options: Option<SignUpOptions>,
}

/// Texts a 6-digit code; the user (phone only, no e-mail) is created on first use.
pub(super) async fn sms(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: SmsRequest = required(&headers, &body)?;
    let phone = request.phone_number.trim().to_owned();
    if phone.is_empty() {
        return Err(app.err(ErrorCode::InvalidRequest));
    }
    let existing = app.db().users.by_phone(&phone).map(|u| (u.id, u.disabled));
    let user_id = match existing {
        Some((_, true)) => return Err(app.err(ErrorCode::DisabledUser)),
        Some((id, false)) => id,
        None => {
            let mut user = UserRecord::blank(&app.config, app.now_ms());
            user.phone_number = Some(phone.clone());
            user.display_name.clone_from(&phone);
            request.options.unwrap_or_default().apply(
                &mut user,
                &app.config,
                app.config.conceal_errors,
            )?;
            app.db().users.insert(user).map_err(|code| app.err(code))?
        }
    };
    let code = random::digits6();
    let now = app.now_ms();
    app.db()
        .tickets
        .sms_otps
        .put(phone.clone(), (code.clone(), user_id), now, OTP_MS);
    app.send(MessageKind::SmsOtp, &phone, Some(code), None);
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SmsOtpRequest {
    phone_number: String,
    otp: String,
}

/// Signs in with the texted code, or answers an MFA challenge when the user has TOTP on.
pub(super) async fn sms_otp(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let request: SmsOtpRequest = required(&headers, &body)?;
    let user_id = take_code(&app, false, request.phone_number.trim(), &request.otp)?;
    let totp_on = {
        let mut db = app.db();
        let user = db
            .users
            .get_mut(user_id)
            .ok_or_else(|| app.err(ErrorCode::InvalidOtp))?;
        user.phone_number_verified = true;
        user.active_mfa_type.as_deref() == Some("totp")
    };
    if totp_on {
        return Ok(mfa_challenge(&new_mfa_ticket(&app, user_id)));
    }
    Ok(wrapped(app.sign_in(user_id)?))
}
