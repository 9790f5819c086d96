//! Locks left by a dead instance expire; waiting is bounded and never signs anyone out.

use std::time::{Duration, Instant};

use nhost_session_core::TokenFingerprint;
use nhost_session_redis::EncryptionKey;

use crate::common::*;

/// Plays an instance that took the refresh lock of `token` and died.
fn dead_lock(scratch: &Scratch, session: &nhost_session_core::Session, ttl: Duration) {
    let fp = TokenFingerprint::of(&session.refresh_token);
    scratch.run(
        redis::cmd("SET")
            .arg(format!("{}:l:{fp}", scratch.prefix))
            .arg("a-dead-instance")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap()),
    );
}

#[actix_web::test]
async fn a_dead_instances_lock_blocks_the_session_only_until_it_expires() {
    if !shared_redis("a_dead_instances_lock_blocks_the_session_only_until_it_expires") {
        return;
    }
    let auth = auth_server();
    let scratch = Scratch::new("dead-lock");
    let key = EncryptionKey::generate().unwrap();
    let instance = Instance::start(
        &auth,
        scratch
            .builder(&key)
            .wait_timeout(Duration::from_millis(300))
            .build()
            .unwrap(),
    );
    let client = client();
    let session = direct_session(&auth).await;
    let cookie = cookie_for(&session.refresh_token);
    dead_lock(&scratch, &session, Duration::from_millis(1500));
    let locked_at = Instant::now();

    // While the lock lives: "unavailable" after the bounded wait, the cookie untouched, no
    // auth call (the dead instance may have spent the token).
    let started = Instant::now();
    let answer = get(&client, instance.url(), &cookie).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.state, "unavailable", "{answer:?}");
    assert_eq!(answer.cookie, CookieChange::Keep);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(token_calls(&auth), 0);

    // After the lock expired: the session recovers, with one refresh.
    tokio::time::sleep(Duration::from_millis(1600).saturating_sub(locked_at.elapsed())).await;
    let answer = get(&client, instance.url(), &cookie).await;
    assert_eq!(answer.state, "active", "{answer:?}");
    assert!(matches!(answer.cookie, CookieChange::Set(_)), "{answer:?}");
    assert_eq!(token_calls(&auth), 1);
    instance.stop().await;
}

#[actix_web::test]
async fn a_waiter_takes_over_an_expired_lock() {
    if !shared_redis("a_waiter_takes_over_an_expired_lock") {
        return;
    }
    let auth = auth_server();
    let scratch = Scratch::new("take-over");
    let key = EncryptionKey::generate().unwrap();
    // The default wait (5 s) outlasts the dead lock (1 s).
    let instance = Instance::start(&auth, scratch.builder(&key).build().unwrap());
    let client = client();
    let session = direct_session(&auth).await;
    let cookie = cookie_for(&session.refresh_token);
    dead_lock(&scratch, &session, Duration::from_secs(1));

    let started = Instant::now();
    let answers =
        futures_util::future::join_all((0..20).map(|_| get(&client, instance.url(), &cookie)))
            .await;
    let took = started.elapsed();
    for answer in &answers {
        assert_eq!(answer.state, "active", "{answer:?}");
        assert!(matches!(answer.cookie, CookieChange::Set(_)), "{answer:?}");
    }
    assert!(
        took >= Duration::from_millis(900),
        "waited for the lock: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "not much longer: {took:?}");
    assert_eq!(token_calls(&auth), 1);
    instance.stop().await;
}

#[actix_web::test]
async fn a_slow_refresh_keeps_its_lock_beyond_the_lock_ttl() {
    if !shared_redis("a_slow_refresh_keeps_its_lock_beyond_the_lock_ttl") {
        return;
    }
    // The auth service takes 1.2 s to answer; the lock lives 400 ms unless extended.
    let auth = auth_server();
    auth.inject(
        nhost_session_testkit::Fault::on("/token")
            .delay(Duration::from_millis(1200))
            .times(1),
    );
    let scratch = Scratch::new("slow-refresh");
    let key = EncryptionKey::generate().unwrap();
    let instances: Vec<Instance> = (0..2)
        .map(|_| {
            Instance::start(
                &auth,
                scratch
                    .builder(&key)
                    .lock_ttl(Duration::from_millis(400))
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let client = client();
    let session = direct_session(&auth).await;
    let cookie = cookie_for(&session.refresh_token);
    let answers = futures_util::future::join_all(
        (0..20).map(|i| get(&client, instances[i % 2].url(), &cookie)),
    )
    .await;
    for answer in &answers {
        assert_eq!(answer.state, "active", "{answer:?}");
    }
    assert_eq!(
        token_calls(&auth),
        1,
        "the lock was kept while the refresh ran"
    );
    for instance in instances {
        instance.stop().await;
    }
}
