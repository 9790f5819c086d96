//! Helpers shared by the fuzz targets: a tiny executor, fixed keys and times, and the checks
//! that secrets never reach `Debug` output.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use nhost_session_core::{AccessToken, RefreshToken, StoredTokens};
use sha2::Sha256;
use time::OffsetDateTime;

/// The HS256 secret the targets sign tokens with: the one of the `verify` module's example (at
/// least 32 bytes, as the verifier demands), so that its token is a valid seed.
pub const HMAC_SECRET: &[u8] = b"a-shared-secret-of-at-least-32-bytes!";

/// `{"alg":"HS256","typ":"JWT"}`, base64url.
pub const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The fixed "now" of the targets: 2023-11-14T22:15:00Z, a little after the seed tokens' `iat`.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_100).expect("a valid time")
}

/// Runs a future that never waits on anything outside itself (the transports of the targets
/// answer at once). Panics if it stays pending: with nothing to wake it, that is a deadlock.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    for _ in 0..10_000 {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
    panic!("a future with an immediate transport stayed pending: deadlock");
}

/// `header.<payload>.signature`, signed with HS256 and [`HMAC_SECRET`].
pub fn sign_hs256(payload: &[u8]) -> String {
    let signing_input = format!("{HS256_HEADER}.{}", URL_SAFE_NO_PAD.encode(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_SECRET).expect("any key length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// Asserts that `T`'s `Debug` output does not depend on the secrets in it: formatting `value`
/// and `value` with its secrets replaced by placeholders must give the same text. (Checking
/// that the text does not *contain* the secret would fail on short secrets that happen to be
/// part of the surrounding text.)
pub fn assert_debug_hides<T: std::fmt::Debug>(value: &T, redacted: &T, what: &str) {
    let (a, b) = (format!("{value:?}"), format!("{redacted:?}"));
    assert_eq!(a, b, "the Debug output of {what} shows a secret");
    let (a, b) = (format!("{value:#?}"), format!("{redacted:#?}"));
    assert_eq!(a, b, "the alternate Debug output of {what} shows a secret");
}

/// `tokens` with every secret replaced by a placeholder.
pub fn redact_tokens(tokens: &StoredTokens) -> StoredTokens {
    StoredTokens {
        refresh_token: RefreshToken::new("placeholder"),
        access_token: tokens
            .access_token
            .as_ref()
            .map(|_| AccessToken::new("placeholder")),
        ..tokens.clone()
    }
}

/// Checks that the `Debug` output of stored tokens shows neither token.
pub fn check_tokens_debug(tokens: &StoredTokens) {
    assert_debug_hides(tokens, &redact_tokens(tokens), "StoredTokens");
}

pub mod cookies;

/// A client that restores `store`'s session and asks for a token, against an auth service that
/// answers every request with a fresh session: whatever a store holds must restore without a
/// panic or a hang.
pub fn restore_client(store: impl nhost_session_core::TokenStore + 'static) {
    use nhost_session_core::{AuthClient, AuthUrl, FnTransport, ManualClock, TransportError};
    const ANSWER: &str = r#"{"accessToken":"h.p.s","accessTokenExpiresIn":900,
        "refreshToken":"8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11","refreshTokenId":"0c4b2f0e-6a2e-4a4a-8f4e-3b1d1e2f3a4b",
        "user":{"id":"2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24"}}"#;
    let transport = FnTransport::new(|_request: http::Request<Vec<u8>>| async {
        Ok::<_, TransportError>(http::Response::new(ANSWER.as_bytes().to_vec()))
    });
    let url = AuthUrl::parse("http://127.0.0.1:4000/v1").expect("a URL");
    let client = AuthClient::builder(url, transport)
        .store(store)
        .clock(ManualClock::new(now()))
        .jitter_seed(1)
        .build();
    block_on(async {
        let token = client.access_token().await;
        let _ = client.session().await;
        let _ = format!("{client:?} {token:?}");
    });
}
