//! The coordinator's answers across two instances, with a manual clock and a fake auth call:
//! the margin, the grace period, rejections, transient failures, sign-in and sign-out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use futures_util::future::join_all;
use nhost_session_core::{
    AccessToken, AuthApi, AuthUrl, Clock, Error, FnTransport, ManualClock, RefreshCoordinator,
    RefreshToken, Refresher, Resolution, Session, SharedSession, TransportError,
    TransportErrorKind,
};
use nhost_session_redis::{EncryptionKey, RedisCoordinator};
use time::Duration;

use crate::common::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Rotate,
    Reject,
    Transient,
}

/// Rotates `t0 → t1 → …` (JWTs of `lifetime` s) after `delay`, counting calls; or fails.
struct FakeRefresher {
    calls: AtomicUsize,
    lifetime: u64,
    delay: StdDuration,
    mode: Mutex<Mode>,
}

impl FakeRefresher {
    fn new(lifetime: u64, delay: StdDuration) -> Self {
        Self {
            calls: AtomicUsize::new(0),
            lifetime,
            delay,
            mode: Mutex::new(Mode::Rotate),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

/// The auth service's real rejection, parsed by core from a 401 answer.
async fn rejection() -> Error {
    let transport = FnTransport::new(|_request: http::Request<Vec<u8>>| async move {
        let body = br#"{"status":401,"error":"invalid-refresh-token","message":"Invalid or expired refresh token"}"#;
        let mut response = http::Response::new(body.to_vec());
        *response.status_mut() = http::StatusCode::UNAUTHORIZED;
        Ok::<_, TransportError>(response)
    });
    let api = AuthApi::new(AuthUrl::parse("http://127.0.0.1:9/v1").unwrap(), transport);
    let error = api
        .refresh(&RefreshToken::new("f0000000-0000-4000-8000-000000000000"))
        .await
        .unwrap_err();
    assert!(error.ends_session());
    error
}

#[async_trait]
impl Refresher for FakeRefresher {
    async fn refresh(&self, token: &RefreshToken) -> Result<Session, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Reject => return Err(rejection().await),
            Mode::Transient => {
                return Err(Error::Transport(TransportError::new(
                    TransportErrorKind::Connect,
                    "refused",
                )));
            }
            Mode::Rotate => {}
        }
        let (base, n) = token.expose_secret().rsplit_once('-').unwrap();
        let n: u32 = n.parse().unwrap();
        Ok(Session {
            access_token: AccessToken::new(format!("jwt-{base}-{}", n + 1)),
            access_token_expires_in: self.lifetime,
            refresh_token: RefreshToken::new(format!("{base}-{}", n + 1)),
            refresh_token_id: "id".into(),
            user: None,
        })
    }
}

/// Tokens unique to one test run (the key prefix is too, but tokens make it obvious).
fn token(name: &str, n: u32) -> RefreshToken {
    RefreshToken::new(format!("{name}-{}-{n}", std::process::id()))
}

fn name_of(resolution: &Resolution) -> String {
    match resolution {
        Resolution::Session(s) => {
            let token = s.refresh_token.expose_secret();
            format!("t{}", token.rsplit_once('-').unwrap().1)
        }
        Resolution::Rejected => "rejected".into(),
        Resolution::Unavailable(_) => "unavailable".into(),
    }
}

struct Two {
    clock: Arc<ManualClock>,
    a: RedisCoordinator,
    b: RedisCoordinator,
    _scratch: Scratch,
}

fn two(test: &str) -> Two {
    let scratch = Scratch::new(test);
    let key = EncryptionKey::generate().unwrap();
    let clock = Arc::new(ManualClock::default());
    let make = || scratch.builder(&key).clock(clock.clone()).build().unwrap();
    Two {
        a: make(),
        b: make(),
        clock,
        _scratch: scratch,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_one_refresh_its_grace_period_and_the_margin() {
    if !shared_redis("instances_share_one_refresh_its_grace_period_and_the_margin") {
        return;
    }
    let t = two("share");
    let refresher = FakeRefresher::new(900, StdDuration::from_millis(100));
    let t0 = token("share", 0);
    let all = join_all((0..40).map(|i| {
        let c = if i % 2 == 0 { &t.a } else { &t.b };
        c.resolve(&t0, &refresher)
    }))
    .await;
    assert!(all.iter().all(|r| name_of(r) == "t1"));
    assert_eq!(refresher.calls(), 1);

    // Within the JWT's life (minus the 60 s margin), no call, on either instance.
    let t1 = token("share", 1);
    t.clock.advance(Duration::seconds(30));
    assert_eq!(name_of(&t.b.resolve(&t1, &refresher).await), "t1");
    assert_eq!(name_of(&t.b.resolve(&t0, &refresher).await), "t1", "grace");
    t.clock.advance(Duration::seconds(31));
    assert_eq!(
        name_of(&t.a.resolve(&t0, &refresher).await),
        "rejected",
        "the grace period is over: the old token is dead, and not sent again"
    );
    t.clock.advance(Duration::seconds(778));
    assert_eq!(name_of(&t.a.resolve(&t1, &refresher).await), "t1");
    assert_eq!(refresher.calls(), 1);
    t.clock.advance(Duration::seconds(2));
    let all = join_all((0..10).map(|i| {
        let c = if i % 2 == 0 { &t.a } else { &t.b };
        c.resolve(&t1, &refresher)
    }))
    .await;
    assert!(all.iter().all(|r| name_of(r) == "t2"));
    assert_eq!(refresher.calls(), 2, "within the margin: refreshed once");
    // t1 is in its grace period: it leads to t2, on both instances.
    assert_eq!(name_of(&t.b.resolve(&t1, &refresher).await), "t2");
    assert_eq!(name_of(&t.a.resolve(&t1, &refresher).await), "t2");
    assert_eq!(refresher.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_replaced_tokens_leads_to_the_newest_session() {
    if !shared_redis("a_chain_of_replaced_tokens_leads_to_the_newest_session") {
        return;
    }
    let t = two("chain");
    // Short JWTs: 20 s, so a 10 s margin.
    let refresher = FakeRefresher::new(20, StdDuration::ZERO);
    let t0 = token("chain", 0);
    assert_eq!(name_of(&t.a.resolve(&t0, &refresher).await), "t1");
    t.clock.advance(Duration::seconds(15));
    assert_eq!(
        name_of(&t.b.resolve(&token("chain", 1), &refresher).await),
        "t2"
    );
    // t0 is still in its grace period (refreshed 15 s ago): it leads to t2 without a call.
    assert_eq!(name_of(&t.b.resolve(&t0, &refresher).await), "t2");
    assert_eq!(name_of(&t.a.resolve(&t0, &refresher).await), "t2");
    assert_eq!(refresher.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_are_shared_briefly_and_transient_failures_are_not_sign_outs() {
    if !shared_redis("rejections_are_shared_briefly_and_transient_failures_are_not_sign_outs") {
        return;
    }
    let t = two("reject");
    let refresher = FakeRefresher::new(900, StdDuration::from_millis(100));
    refresher.set(Mode::Reject);
    let t5 = token("reject", 5);
    let all = join_all((0..10).map(|i| {
        let c = if i % 2 == 0 { &t.a } else { &t.b };
        c.resolve(&t5, &refresher)
    }))
    .await;
    assert!(all.iter().all(|r| name_of(r) == "rejected"));
    assert_eq!(refresher.calls(), 1);
    // Remembered for 5 s (on the clock), then asked again.
    t.clock.advance(Duration::seconds(6));
    refresher.set(Mode::Transient);
    let all = join_all((0..10).map(|i| {
        let c = if i % 2 == 0 { &t.a } else { &t.b };
        c.resolve(&t5, &refresher)
    }))
    .await;
    assert!(
        all.iter().all(|r| name_of(r) == "unavailable"),
        "a transient failure is never a sign-out"
    );
    assert_eq!(
        refresher.calls(),
        2,
        "the other instance took the failure, not a retry"
    );
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    refresher.set(Mode::Rotate);
    assert_eq!(name_of(&t.b.resolve(&t5, &refresher).await), "t6");
    assert_eq!(refresher.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_serves_the_still_valid_jwt_on_every_instance() {
    if !shared_redis("a_transient_failure_serves_the_still_valid_jwt_on_every_instance") {
        return;
    }
    let t = two("stale");
    let refresher = FakeRefresher::new(900, StdDuration::from_millis(50));
    let t0 = token("stale", 0);
    assert_eq!(name_of(&t.a.resolve(&t0, &refresher).await), "t1");
    t.clock.advance(Duration::seconds(870));
    refresher.set(Mode::Transient);
    let t1 = token("stale", 1);
    // b never saw t1's session except in Redis: it still serves its valid JWT.
    let all = join_all((0..6).map(|i| {
        let c = if i % 2 == 0 { &t.a } else { &t.b };
        c.resolve(&t1, &refresher)
    }))
    .await;
    assert!(
        all.iter().all(|r| name_of(r) == "t1"),
        "{:?}",
        all.iter().map(name_of).collect::<Vec<_>>()
    );
    t.clock.advance(Duration::seconds(31));
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    assert_eq!(name_of(&t.b.resolve(&t1, &refresher).await), "unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_are_known_everywhere_and_sign_outs_too() {
    if !shared_redis("sign_ins_are_known_everywhere_and_sign_outs_too") {
        return;
    }
    let t = two("remember");
    let refresher = FakeRefresher::new(900, StdDuration::ZERO);
    let t7 = token("remember", 7);
    t.a.remember(Arc::new(SharedSession {
        access_token: AccessToken::new("jwt"),
        expires_at: t.clock.now() + Duration::seconds(900),
        refresh_token: t7.clone(),
        refresh_token_id: "id".into(),
        user: None,
    }))
    .await;
    assert_eq!(name_of(&t.b.resolve(&t7, &refresher).await), "t7");
    t.a.forget(&t7).await;
    assert_eq!(name_of(&t.b.resolve(&t7, &refresher).await), "rejected");
    assert_eq!(refresher.calls(), 0);
}
