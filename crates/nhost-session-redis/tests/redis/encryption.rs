//! What Redis holds: fingerprints for keys, sealed values, TTLs everywhere, no token in clear.

use futures_util::future::join_all;
use nhost_session_core::{RefreshToken, TokenFingerprint};
use nhost_session_redis::EncryptionKey;

use crate::common::*;

fn contains(haystack: &[u8], needle: &str) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
}

#[actix_web::test]
async fn redis_holds_no_token_in_clear_text() {
    if !shared_redis("redis_holds_no_token_in_clear_text") {
        return;
    }
    let auth = auth_server();
    let scratch = Scratch::new("encryption");
    let key = EncryptionKey::generate().unwrap();
    let instances: Vec<Instance> = (0..2)
        .map(|_| Instance::start(&auth, scratch.builder(&key).build().unwrap()))
        .collect();
    let client = client();
    let session = direct_session(&auth).await;
    let old = session.refresh_token.clone();
    let cookie = cookie_for(&old);
    let answers = join_all((0..10).map(|i| get(&client, instances[i % 2].url(), &cookie))).await;
    let CookieChange::Set(new) = &answers[0].cookie else {
        panic!("{:?}", answers[0])
    };
    let new = RefreshToken::new(new.clone());

    let dump = scratch.dump();
    let keys: Vec<&str> = dump.iter().map(|(k, _, _)| k.as_str()).collect();
    let old_fp = TokenFingerprint::of(&old).to_string();
    let new_fp = TokenFingerprint::of(&new).to_string();
    assert!(
        keys.contains(&format!("{}:s:{old_fp}", scratch.prefix).as_str()),
        "the outcome under the old token's fingerprint: {keys:?}"
    );
    assert!(
        keys.contains(&format!("{}:s:{new_fp}", scratch.prefix).as_str()),
        "the session under the new token's fingerprint: {keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.contains(":l:")),
        "locks were released: {keys:?}"
    );

    // What a session holds that must not leak: both refresh tokens, the JWT, the user.
    let jwt = answers[0].jwt.clone().expect("the new JWT");
    let secrets = [
        old.expose_secret().to_owned(),
        new.expose_secret().to_owned(),
        session.access_token.expose_secret().to_owned(),
        // Any JWT: its header is the same for every token of the server.
        session
            .access_token
            .expose_secret()
            .split('.')
            .next()
            .unwrap()
            .to_owned(),
        EMAIL.to_owned(),
        jwt,
    ];
    for (name, value, ttl) in &dump {
        for secret in &secrets {
            assert!(
                !name.contains(secret.as_str()) || secret.is_empty(),
                "{name}"
            );
            assert!(
                !contains(value, secret),
                "{name} holds a secret in clear text"
            );
        }
        assert!(!contains(value, "refreshToken"), "{name} is not plain JSON");
        assert!(!contains(value, "accessToken"), "{name} is not plain JSON");
        assert_eq!(value.first(), Some(&1), "{name}: format 1");
        assert!(
            value.len() > 1 + 24 + 16,
            "{name}: nonce, ciphertext and tag"
        );
        assert!(*ttl > 0, "{name} has a TTL ({ttl} ms)");
    }
    for instance in instances {
        instance.stop().await;
    }
}

#[actix_web::test]
async fn a_value_moved_to_another_key_or_sealed_with_another_key_is_ignored() {
    if !shared_redis("a_value_moved_to_another_key_or_sealed_with_another_key_is_ignored") {
        return;
    }
    let auth = auth_server();
    let scratch = Scratch::new("swap");
    let key = EncryptionKey::generate().unwrap();
    let instance = Instance::start(&auth, scratch.builder(&key).build().unwrap());
    let client = client();
    let session = direct_session(&auth).await;
    let answer = get(&client, instance.url(), &cookie_for(&session.refresh_token)).await;
    let CookieChange::Set(new) = answer.cookie else {
        panic!("{answer:?}")
    };
    let new = RefreshToken::new(new);
    let stored_key = format!("{}:s:{}", scratch.prefix, TokenFingerprint::of(&new));
    let value = match scratch.run(redis::cmd("GET").arg(&stored_key)) {
        redis::Value::BulkString(bytes) => bytes,
        other => panic!("{other:?}"),
    };

    // An attacker who can write to Redis copies the session to the key of a token of theirs:
    // it does not open there, so that token is refreshed (and refused), not given the session.
    let forged = RefreshToken::new("6f1c7a55-0000-4000-8000-000000000000");
    let forged_key = format!("{}:s:{}", scratch.prefix, TokenFingerprint::of(&forged));
    scratch.run(
        redis::cmd("SET")
            .arg(&forged_key)
            .arg(value.clone())
            .arg("PX")
            .arg(60_000),
    );
    let answer = get(&client, instance.url(), &cookie_for(&forged)).await;
    assert_eq!(answer.state, "anonymous", "{answer:?}");
    assert_eq!(answer.cookie, CookieChange::Remove);

    // An instance with another key cannot read the session either (and says so in its log):
    // it refreshes on its own, which the shared key would have avoided.
    let other = Instance::start(
        &auth,
        scratch
            .builder(&EncryptionKey::generate().unwrap())
            .build()
            .unwrap(),
    );
    let before = token_calls(&auth);
    let answer = get(&client, other.url(), &cookie_for(&new)).await;
    assert_eq!(answer.state, "active", "{answer:?}");
    assert_eq!(token_calls(&auth), before + 1);
    instance.stop().await;
    other.stop().await;
}
