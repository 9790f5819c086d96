//! Verified identity for API routes: the bearer JWT of a request, verified (feature `verify`).
//!
//! The session middleware serves browsers that hold a session cookie. An API called by other
//! clients receives `Authorization: Bearer <jwt>` instead, and must verify it before trusting
//! any claim: [`VerifiedClaims`] does, with the [`JwtVerifier`] found in the app's data.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use nhost_session_core::HasuraClaims;
use nhost_session_core::verify::{JwtVerifier, VerifyError};

/// The verified Hasura claims of the request's bearer JWT.
///
/// Needs a [`JwtVerifier`] in the app's data, as `web::Data<JwtVerifier>` or a plain
/// `JwtVerifier` (it is cheap to clone; clones share the key cache). Without a valid token the
/// request is answered `401` with a JSON body and a `WWW-Authenticate: Bearer` header as RFC
/// 6750 describes; when the keys cannot be fetched, `503` with `Retry-After`.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use nhost_session_actix::bearer::VerifiedClaims;
/// use nhost_session_core::verify::{HasuraJwtSecret, JwtVerifier};
///
/// async fn me(claims: VerifiedClaims) -> HttpResponse {
///     HttpResponse::Ok().json(serde_json::json!({ "user": claims.user_id, "role": claims.default_role }))
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier: JwtVerifier = HasuraJwtSecret::parse(
///     r#"{"type":"HS256","key":"a-shared-secret-of-at-least-32-bytes!"}"#,
/// )?
/// .verifier_builder()?
/// .build()?;
/// let app = App::new()
///     .app_data(web::Data::new(verifier))
///     .route("/api/me", web::get().to(me));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct VerifiedClaims(pub HasuraClaims);

impl std::ops::Deref for VerifiedClaims {
    type Target = HasuraClaims;

    fn deref(&self) -> &HasuraClaims {
        &self.0
    }
}

impl FromRequest for VerifiedClaims {
    type Error = BearerError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, BearerError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = req
            .app_data::<web::Data<JwtVerifier>>()
            .map(|data| data.get_ref().clone())
            .or_else(|| req.app_data::<JwtVerifier>().cloned());
        let token = bearer_token(req);
        Box::pin(async move {
            let verifier = verifier.ok_or(BearerError::NotConfigured)?;
            let token = token?;
            let claims = verifier.verify(&token).await.map_err(|e| {
                if e.is_transient() {
                    BearerError::KeysUnavailable(Arc::new(e))
                } else {
                    BearerError::Invalid(Arc::new(e))
                }
            })?;
            Ok(Self(claims))
        })
    }
}

/// The token of an `Authorization: Bearer …` header (the scheme in any case).
fn bearer_token(req: &HttpRequest) -> Result<String, BearerError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(BearerError::Missing)?;
    let value = value.to_str().map_err(|_| BearerError::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(BearerError::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(BearerError::Malformed);
    }
    Ok(token.to_owned())
}

/// Why a request's bearer JWT was not accepted. Never contains the token.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No `Authorization` header.
    #[error("no bearer token")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header is not a bearer token")]
    Malformed,
    /// The token failed verification.
    #[error("invalid token: {0}")]
    Invalid(Arc<VerifyError>),
    /// The signing keys could not be fetched: try again later.
    #[error("the signing keys are unavailable: {0}")]
    KeysUnavailable(Arc<VerifyError>),
    /// The app has no `JwtVerifier` in its data: a programming error.
    #[error("no JwtVerifier in the app data")]
    NotConfigured,
}

impl BearerError {
    fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::Malformed => "invalid_request",
            Self::Invalid(_) => "invalid_token",
            Self::KeysUnavailable(_) => "temporarily_unavailable",
            Self::NotConfigured => "server_error",
        }
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Missing | Self::Invalid(_) => StatusCode::UNAUTHORIZED,
            Self::Malformed => StatusCode::BAD_REQUEST,
            Self::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        // RFC 6750 section 3: no error code when the request had no credentials at all.
        let challenge = match self {
            Self::Missing => Some("Bearer realm=\"nhost\"".to_owned()),
            Self::Malformed | Self::Invalid(_) => Some(format!(
                "Bearer realm=\"nhost\", error=\"{}\", error_description=\"{}\"",
                if matches!(self, Self::Malformed) {
                    "invalid_request"
                } else {
                    "invalid_token"
                },
                description(self)
            )),
            Self::KeysUnavailable(_) | Self::NotConfigured => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if matches!(self, Self::KeysUnavailable(_)) {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        response.json(serde_json::json!({
            "error": self.code(),
            "message": description(self),
        }))
    }
}

/// A description fit for a header value: the error's text, quotes and control characters out.
fn description(error: &BearerError) -> String {
    error
        .to_string()
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .take(200)
        .collect()
}
