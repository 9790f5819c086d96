//! The auth server's answers: arbitrary status and body into every parser and every endpoint.
//!
//! Input: an optional status line (three digits and a newline, such as `401\n`; 200 when
//! absent), then the body. Checks:
//! - the answer types (`Session`, `SignInResponse`, `User`, `CreatedPat`, `StoredTokens`,
//!   `ErrorBody::parse`) never panic; what parses serializes and parses back the same (where the
//!   type serializes), and its `Debug` shows no token;
//! - every `AuthApi` endpoint given this answer: a 2xx is a success or a decode error, anything
//!   else a server error with that status, and `POST /token` tells a dead refresh token (400,
//!   401, `invalid-refresh-token`) from a transient failure;
//! - an `AuthClient` that signs in, refreshes, finishes a redirect and signs out against this
//!   answer never panics or hangs;
//! - a `JwtVerifier` whose JWKS endpoint answers this never panics.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use nhost_session_core::verify::{JwtVerifier, KeySource};
use nhost_session_core::{
    AccessToken, AuthApi, AuthClient, AuthUrl, CreatedPat, Error, ErrorBody, FnTransport,
    ManualClock, MfaTicket, RefreshToken, SecretString, Session, SignInResponse, StoredTokens,
    TransportError, User,
};
use nhost_session_fuzz::{assert_debug_hides, block_on, check_tokens_debug, now, redact_tokens};
use time::OffsetDateTime;

/// An RS256 token signed with the testkit's primary key (kid `nhost-testkit-rs256-1`), valid
/// at `now()`; `corpus/auth_answers/seed-jwks` is the matching JWKS.
const RS256_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5ob3N0LXRlc3RraXQtcnMyNTYtMSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ZDZjMWIxZS04YTBlLTRmMmItOWQ0My0yZjBjMWE3ZTliMTAiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDkwMCwiaXNzIjoiaGFzdXJhLWF1dGgiLCJodHRwczovL2hhc3VyYS5pby9qd3QvY2xhaW1zIjp7IngtaGFzdXJhLXVzZXItaWQiOiI1ZDZjMWIxZS04YTBlLTRmMmItOWQ0My0yZjBjMWE3ZTliMTAiLCJ4LWhhc3VyYS1kZWZhdWx0LXJvbGUiOiJ1c2VyIiwieC1oYXN1cmEtYWxsb3dlZC1yb2xlcyI6WyJ1c2VyIiwibWUiXSwieC1oYXN1cmEtdXNlci1pcy1hbm9ueW1vdXMiOiJmYWxzZSIsIngtaGFzdXJhLW9yZy1pZHMiOiJ7YSxcImIgY1wifSJ9fQ.IK_Hphbq7bbmm825yvGjHV0V8rzW1s78DnHuMhhZ42aG0WLX8FAwHaaU346vr2-8Lrzvfxkr_ey44rWVVlL3AOqK_GxEFML41XucKxjGutubgZ61RHLz-jKXHU2Y-Kjy60-DjFQZkajsa3K-YbSN5oHfNO2kwTVZzyVGnvEraevLiQMtaTcCw9gwshhP1LPgg11FXBhPEfynK-VNrpM_8lcg8ydr-d3BXOcbpqEzPX91-XKZZ5g_z8RHITzjr2bENt1Wl5eZtAJuKHbmptNxW3dqA5rRnbq08B7kbH94uRFuzPZHkWpMgOCXDXPPYSyujRwBYQyy_7EGQefWEHA-3w";

/// The error of an endpoint's call, checked against the status it was given.
fn check_result<T>(endpoint: &str, status: u16, result: Result<T, Error>) -> Option<T> {
    let success = (200..300).contains(&status);
    match result {
        Ok(value) => {
            assert!(success, "{endpoint}: HTTP {status} was taken for a success");
            Some(value)
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
            match &error {
                Error::Decode(e) => {
                    assert!(success, "{endpoint}: HTTP {status} was decoded");
                    assert_eq!(e.status, status);
                }
                Error::Server(e) | Error::RefreshTokenRejected(e) => {
                    assert!(!success, "{endpoint}: HTTP {status} is an error");
                    assert_eq!(e.status, status);
                    assert_eq!(error.status(), Some(status));
                }
                other => panic!("{endpoint}: unexpected error {other:?}"),
            }
            None
        }
    }
}

fn check_session(session: &Session) {
    assert!(!session.access_token.expose_secret().trim().is_empty());
    assert!(!session.refresh_token.expose_secret().trim().is_empty());
    let redacted = Session {
        access_token: AccessToken::new("placeholder"),
        refresh_token: RefreshToken::new("placeholder"),
        ..session.clone()
    };
    assert_debug_hides(session, &redacted, "Session");
    let json = serde_json::to_vec(session).expect("a session serializes");
    let again: Session = serde_json::from_slice(&json).expect("a serialized session parses");
    assert_eq!(&again, session, "Session round trip");
    let stored = StoredTokens::from_session(session, now());
    check_tokens_debug(&stored);
}

fn check_sign_in(response: &SignInResponse) {
    match response {
        SignInResponse::Session(session) => check_session(session),
        SignInResponse::MfaRequired(ticket) => {
            let redacted = MfaTicket(SecretString::new("placeholder"));
            assert_debug_hides(ticket, &redacted, "MfaTicket");
        }
        SignInResponse::Pending => {}
    }
}

fn parsers(body: &[u8]) {
    if let Ok(session) = serde_json::from_slice::<Session>(body) {
        check_session(&session);
    }
    if let Ok(response) = serde_json::from_slice::<SignInResponse>(body) {
        check_sign_in(&response);
    }
    if let Ok(user) = serde_json::from_slice::<User>(body) {
        if let Ok(json) = serde_json::to_vec(&user) {
            let again: User = serde_json::from_slice(&json).expect("a serialized user parses");
            assert_eq!(again, user, "User round trip");
        }
    }
    if let Ok(pat) = serde_json::from_slice::<CreatedPat>(body) {
        let redacted = CreatedPat {
            personal_access_token: SecretString::new("placeholder"),
            ..pat.clone()
        };
        assert_debug_hides(&pat, &redacted, "CreatedPat");
    }
    if let Ok(stored) = serde_json::from_slice::<StoredTokens>(body) {
        check_tokens_debug(&stored);
        assert_debug_hides(&stored, &redact_tokens(&stored), "StoredTokens");
        if let Ok(json) = serde_json::to_vec(&stored) {
            let again: StoredTokens = serde_json::from_slice(&json).expect("stored tokens parse");
            assert_eq!(again, stored, "StoredTokens round trip");
        }
    }
    let error = ErrorBody::parse(body);
    for text in [&error.error, &error.message, &error.reason]
        .into_iter()
        .flatten()
    {
        assert!(
            text.len() <= 512 + '…'.len_utf8(),
            "an error text was not cut"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, c, b'\n', rest @ ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            let status = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            (status, rest)
        }
        _ => (200, data),
    };
    parsers(body);
    // http refuses statuses outside 100..=999; so does every server.
    let Ok(code) = http::StatusCode::from_u16(status) else {
        return;
    };

    let answer: Arc<Vec<u8>> = Arc::new(body.to_vec());
    let transport = move |answer: Arc<Vec<u8>>| {
        FnTransport::new(move |_request: http::Request<Vec<u8>>| {
            let answer = Arc::clone(&answer);
            async move {
                let mut response = http::Response::new(answer.as_ref().clone());
                *response.status_mut() = code;
                Ok::<_, TransportError>(response)
            }
        })
    };
    let url = AuthUrl::parse("http://127.0.0.1:4000/v1").expect("a URL");

    // Every endpoint of the API.
    let api = AuthApi::new(url.clone(), transport(Arc::clone(&answer)));
    let rt = RefreshToken::new("8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11");
    let at = AccessToken::new(RS256_TOKEN);
    let secret = SecretString::new("mfaTotp:2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24");
    block_on(async {
        let refreshed = api.refresh(&rt).await;
        if let Err(Error::Server(e) | Error::RefreshTokenRejected(e)) = &refreshed {
            let dead =
                matches!(e.status, 400 | 401) || e.body.code() == Some("invalid-refresh-token");
            assert_eq!(
                matches!(refreshed, Err(Error::RefreshTokenRejected(_))),
                dead,
                "POST /token: HTTP {status} misclassified"
            );
        }
        if let Some(session) = check_result("POST /token", status, refreshed) {
            assert_eq!(serde_json::from_slice::<Session>(body).ok(), Some(session));
        }
        let sign_ins = [
            api.sign_up_email_password("a@example.com", "password", None)
                .await,
            api.sign_in_email_password("a@example.com", "password")
                .await,
            api.sign_in_mfa_totp(&MfaTicket(secret.clone()), "123456")
                .await,
            api.sign_in_anonymous(None).await,
            api.sign_in_pat("pat").await,
            api.verify_otp_email("a@example.com", "123456").await,
            api.verify_passwordless_sms("+15555550100", "123456").await,
            api.sign_in_id_token("google", "id.token.x", None, None)
                .await,
            api.exchange_code(&secret, &secret).await,
        ];
        for result in sign_ins {
            if let Some(response) = check_result("sign-in", status, result) {
                check_sign_in(&response);
            }
        }
        for result in [
            api.sign_in_passwordless_email("a@example.com", None).await,
            api.sign_in_otp_email("a@example.com", None).await,
            api.sign_in_passwordless_sms("+15555550100", None).await,
            api.sign_out(&rt, Some(&at)).await,
            api.sign_out_all(&at).await,
        ] {
            check_result("OK endpoint", status, result);
        }
        check_result("GET /user", status, api.user(&at).await);
        let expires = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
        check_result(
            "POST /pat",
            status,
            api.create_pat(&at, expires, None).await,
        );
        check_result("GET /.well-known/jwks.json", status, api.jwks().await);
    });

    // A client living on this answer.
    let clock = Arc::new(ManualClock::new(now()));
    let client = AuthClient::builder(url.clone(), transport(Arc::clone(&answer)))
        .clock(Arc::clone(&clock))
        .jitter_seed(7)
        .build();
    block_on(async {
        let signed_in = client.sign_in_anonymous(None).await;
        if let Ok(session) = &signed_in {
            check_session(session);
        }
        let _ = client.refresh().await;
        clock.advance(time::Duration::hours(1));
        let _ = client.access_token().await;
        let _ = client.session().await;
        let redirect = url::Url::parse(
            "https://app.example/cb?refreshToken=8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11&type=signinPasswordless",
        )
        .expect("a URL");
        let _ = client.complete_redirect(&redirect, None).await;
        let _ = client.sign_out().await;
        assert!(
            client.access_token().await.is_err(),
            "a token after signing out"
        );
    });

    // A verifier whose JWKS endpoint answers this.
    if let Ok(verifier) = JwtVerifier::builder(KeySource::jwks(&url, transport(answer)))
        .clock(ManualClock::new(now()))
        .build()
    {
        let _ = block_on(verifier.verify(RS256_TOKEN));
    }
});
