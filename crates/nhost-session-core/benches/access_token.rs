//! The hot path: `access_token()` on a fresh session, beside a bare `RwLock<Arc<str>>` read.
//!
//! Run: `cargo bench -p nhost-session-core --bench access_token`. The ratio of the two medians
//! is the figure to report (target: at most 3x).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use nhost_session_core::{AuthClient, AuthUrl, Clock, FnTransport, SystemClock, TransportError};

/// Polls a future that completes without waiting (the fresh-session path never waits).
///
/// Inlined, as an `.await` is: in a caller's `async fn` the awaited future is polled inside
/// the caller's own state machine, not through a function call of its own.
#[inline(always)]
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the hot path must not wait"),
    }
}

/// [`poll_once`] as a function call of its own, never inlined: an upper bound, for callers
/// that poll the future by hand through a non-inlined function.
#[inline(never)]
fn poll_once_called<F: Future>(future: F) -> F::Output {
    poll_once(future)
}

fn bench(c: &mut Criterion) {
    let transport = FnTransport::new(|_request: http::Request<Vec<u8>>| async {
        let body = r#"{"session":{"accessToken":"header.payload.signature","accessTokenExpiresIn":900,
            "refreshToken":"8b4e2c9a-1f0e-4c55-9a36-0f2b5e2d7c11","refreshTokenId":"id","user":{"id":"u"}}}"#;
        Ok::<_, TransportError>(http::Response::new(body.as_bytes().to_vec()))
    });
    let url = AuthUrl::parse("http://127.0.0.1:1/v1").expect("a valid URL");
    let client = AuthClient::builder(url, transport).build();
    poll_once(client.sign_in_anonymous(None)).expect("signed in");

    let bare: RwLock<Arc<str>> = RwLock::new(Arc::from("header.payload.signature"));

    let mut group = c.benchmark_group("access_token");
    group.bench_function("bare RwLock<Arc<str>> read", |b| {
        b.iter(|| {
            let guard = bare.read().unwrap_or_else(|e| e.into_inner());
            std::hint::black_box(Arc::clone(&guard))
        })
    });
    group.bench_function(
        "SystemClock::now_unix_nanos (the hot path's clock read)",
        |b| b.iter(|| std::hint::black_box(SystemClock.now_unix_nanos())),
    );
    group.bench_function("bare read + clock read", |b| {
        b.iter(|| {
            let now = SystemClock.now_unix_nanos();
            let guard = bare.read().unwrap_or_else(|e| e.into_inner());
            std::hint::black_box((now, Arc::clone(&guard)))
        })
    });
    group.bench_function("AuthClient::status (read lock + precise clock)", |b| {
        b.iter(|| std::hint::black_box(client.status()))
    });
    group.bench_function("AuthClient::access_token (fresh session)", |b| {
        b.iter(|| std::hint::black_box(poll_once(client.access_token()).expect("a token")))
    });
    group.bench_function(
        "AuthClient::access_token (fresh session, polled through a call)",
        |b| {
            b.iter(|| {
                std::hint::black_box(poll_once_called(client.access_token()).expect("a token"))
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
