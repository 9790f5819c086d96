//! Several instances, one Redis: one refresh for all of them.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use nhost_session_redis::EncryptionKey;

use crate::common::*;

#[actix_web::test]
async fn three_instances_300_requests_one_expired_cookie_one_refresh() {
    if !shared_redis("three_instances_300_requests_one_expired_cookie_one_refresh") {
        return;
    }
    let auth = auth_server();
    let scratch = Scratch::new("three-instances");
    let key = EncryptionKey::generate().unwrap();
    let instances: Vec<Instance> = (0..3)
        .map(|_| Instance::start(&auth, scratch.builder(&key).build().unwrap()))
        .collect();
    assert_ne!(instances[0].addr, instances[1].addr);
    for instance in &instances {
        assert!(instance.coordinator.ping().await, "Redis answers");
    }

    // A cookie with a token none of the instances knows: every request needs its refresh.
    let session = direct_session(&auth).await;
    let old = session.refresh_token.clone();
    let cookie = cookie_for(&old);
    assert_eq!(token_calls(&auth), 0);

    let client = client();
    let answers = join_all((0..300).map(|i| get(&client, instances[i % 3].url(), &cookie))).await;

    assert_eq!(
        token_calls(&auth),
        1,
        "exactly one POST /token for 300 requests on 3 instances"
    );
    let mut new_tokens = BTreeSet::new();
    for answer in &answers {
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.state, "active", "{answer:?}");
        match &answer.cookie {
            CookieChange::Set(token) => {
                new_tokens.insert(token.clone());
            }
            other => {
                panic!("every request carried the old token, so each gets the new one: {other:?}")
            }
        }
    }
    assert_eq!(new_tokens.len(), 1, "one new token everywhere");
    let new = new_tokens.into_iter().next().unwrap();
    assert_ne!(new, old.expose_secret());

    // Page loads with the new cookie, on any instance, make no auth call; the old cookie
    // (requests that left before the new one arrived) still gets the new session.
    let new_cookie = cookie_for(&nhost_session_core::RefreshToken::new(new.clone()));
    let again = join_all((0..30).map(|i| get(&client, instances[i % 3].url(), &new_cookie))).await;
    for answer in &again {
        assert_eq!(answer.state, "active", "{answer:?}");
        assert_eq!(answer.cookie, CookieChange::Keep);
    }
    let late = join_all((0..30).map(|i| get(&client, instances[i % 3].url(), &cookie))).await;
    for answer in &late {
        assert_eq!(answer.state, "active", "{answer:?}");
        assert_eq!(answer.cookie, CookieChange::Set(new.clone()));
    }
    assert_eq!(token_calls(&auth), 1);
    assert_eq!(auth.stats().reuse_rejections, 0);

    for instance in instances {
        instance.stop().await;
    }
}
