//! Redis unreachable, or going away mid-run: requests are still served, in-process.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use nhost_session_core::RefreshToken;
use nhost_session_redis::EncryptionKey;

use crate::common::*;

#[actix_web::test]
async fn an_unreachable_redis_falls_back_to_in_process_coalescing() {
    let auth = auth_server();
    // Port 1: nothing listens there.
    let scratch = Scratch::on("redis://127.0.0.1:1", "unreachable");
    let key = EncryptionKey::generate().unwrap();
    let instance = Instance::start(&auth, scratch.builder(&key).build().unwrap());
    assert!(!instance.coordinator.ping().await);
    let client = client();
    let session = direct_session(&auth).await;
    let cookie = cookie_for(&session.refresh_token);

    let started = Instant::now();
    let answers = join_all((0..50).map(|_| get(&client, instance.url(), &cookie))).await;
    let mut new_tokens = std::collections::BTreeSet::new();
    for answer in &answers {
        assert_eq!(answer.state, "active", "{answer:?}");
        let CookieChange::Set(token) = &answer.cookie else {
            panic!("{answer:?}")
        };
        new_tokens.insert(token.clone());
    }
    assert_eq!(new_tokens.len(), 1);
    assert_eq!(token_calls(&auth), 1, "coalesced in the process");
    assert!(instance.coordinator.is_redis_down());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Page loads go on without auth calls, and sign-in/out helpers do not fail either.
    let new = RefreshToken::new(new_tokens.into_iter().next().unwrap());
    for _ in 0..5 {
        let answer = get(&client, instance.url(), &cookie_for(&new)).await;
        assert_eq!(answer.state, "active");
        assert_eq!(answer.cookie, CookieChange::Keep);
    }
    assert_eq!(token_calls(&auth), 1);
    instance.stop().await;
}

/// Browsers that each load pages one after another, on the instances in turn, keeping the
/// cookies they are sent; JWTs live 10 s (a 5 s margin), so sessions are refreshed as they go.
async fn browse(
    client: reqwest::Client,
    urls: Vec<String>,
    mut token: RefreshToken,
    until: Instant,
    browser: usize,
) -> (usize, usize) {
    let (mut active, mut unavailable) = (0, 0);
    let mut i = browser;
    while Instant::now() < until {
        let answer = get(&client, &urls[i % urls.len()], &cookie_for(&token)).await;
        i += 1;
        assert_eq!(answer.status, 200);
        match answer.state.as_str() {
            "active" => active += 1,
            "unavailable" => unavailable += 1,
            other => panic!("browser {browser} was signed out ({other}, {answer:?})"),
        }
        match answer.cookie {
            CookieChange::Set(new) => token = RefreshToken::new(new),
            CookieChange::Keep => {}
            CookieChange::Remove => panic!("browser {browser} lost its cookie"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (active, unavailable)
}

#[actix_web::test]
async fn redis_going_away_mid_run_and_coming_back() {
    let mut redis = PrivateRedis::start();
    let auth = auth_server_with(
        nhost_session_testkit::FakeAuthServer::builder().access_token_ttl(Duration::from_secs(10)),
    );
    let scratch = Scratch::on(&redis.url(), "outage");
    let key = EncryptionKey::generate().unwrap();
    let instances: Vec<Instance> = (0..3)
        .map(|_| {
            Instance::start(
                &auth,
                scratch
                    .builder(&key)
                    .command_timeout(Duration::from_millis(200))
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let urls: Vec<String> = instances.iter().map(|i| i.url().to_owned()).collect();
    let client = client();

    // A page with parallel requests, over all instances, through Redis: one refresh.
    let shared = direct_session(&auth).await;
    let shared_cookie = cookie_for(&shared.refresh_token);
    let answers = join_all((0..60).map(|i| get(&client, &urls[i % 3], &shared_cookie))).await;
    let CookieChange::Set(rotated) = &answers[0].cookie else {
        panic!("{:?}", answers[0])
    };
    for answer in &answers {
        assert_eq!(answer.state, "active", "{answer:?}");
        assert_eq!(&answer.cookie, &CookieChange::Set(rotated.clone()));
    }
    assert_eq!(token_calls(&auth), 1);

    // Browsers load pages while Redis goes away.
    let mut browsers = Vec::new();
    for b in 0..6 {
        let session = direct_session(&auth).await;
        browsers.push(actix_web::rt::spawn(browse(
            client.clone(),
            urls.clone(),
            session.refresh_token,
            Instant::now() + Duration::from_secs(7),
            b,
        )));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.stop();

    // The page's late requests, still carrying the old token, on any instance: each
    // instance learnt the outcome from Redis and serves it without Redis.
    let late = join_all((0..30).map(|i| get(&client, &urls[i % 3], &shared_cookie))).await;
    for answer in &late {
        assert_eq!(answer.state, "active", "{answer:?}");
        assert_eq!(&answer.cookie, &CookieChange::Set(rotated.clone()));
    }

    let mut total = (0, 0);
    for browser in browsers {
        let (active, unavailable) = browser.await.unwrap();
        total.0 += active;
        total.1 += unavailable;
    }
    assert!(total.0 > 100, "requests kept being served: {total:?}");
    assert!(
        total.1 * 20 <= total.0,
        "few answers were 'unavailable' (a wait cut short by the outage): {total:?}"
    );
    assert_eq!(auth.stats().reuse_rejections, 0, "no dead token was sent");

    // Redis comes back: the instances use it again.
    redis.restart();
    for instance in &instances {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !instance.coordinator.ping().await {
            assert!(Instant::now() < deadline, "the connection came back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = token_calls(&auth);
    let again = direct_session(&auth).await;
    let cookie = cookie_for(&again.refresh_token);
    let answers = join_all((0..60).map(|i| get(&client, &urls[i % 3], &cookie))).await;
    for answer in &answers {
        assert_eq!(answer.state, "active", "{answer:?}");
    }
    assert_eq!(token_calls(&auth) - before, 1, "coordinated again");
    for instance in instances {
        instance.stop().await;
    }
}
