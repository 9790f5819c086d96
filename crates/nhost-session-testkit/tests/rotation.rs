//! `POST /token` and `POST /signout`: rotation in all three modes, races, expiry on the fake
//! clock, concealed errors, validation shapes, sign-out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use nhost_session_testkit::{FakeAuthServer, Rotation, SeedUser};
use serde_json::{Value, json};

fn server_with(rotation: Rotation) -> FakeAuthServer {
    FakeAuthServer::builder()
        .rotation(rotation)
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap()
}

fn token_of(session: &Value) -> String {
    session["refreshToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn strict_rotation_new_token_same_id_old_one_dead() {
    let server = server_with(Rotation::Strict);
    let session = sign_in(&server).await;
    let old = token_of(&session);

    let answer = refresh(&server, &old).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let fresh = &answer.json;
    assert!(
        fresh.get("session").is_none(),
        "POST /token answers a bare Session"
    );
    assert!(is_uuid(&fresh["refreshToken"]));
    assert_ne!(fresh["refreshToken"], session["refreshToken"]);
    assert_eq!(fresh["refreshTokenId"], session["refreshTokenId"]);
    assert_eq!(fresh["accessTokenExpiresIn"], 900);
    assert_eq!(fresh["user"]["id"], session["user"]["id"]);
    assert_eq!(fresh["user"]["activeMfaType"], Value::Null);

    let replay = refresh(&server, &old).await;
    assert_eq!(replay.status, 401);
    assert_eq!(
        replay.json,
        json!({ "status": 401, "error": "invalid-refresh-token",
                "message": "Invalid or expired refresh token" })
    );
    let newer = refresh(&server, &token_of(fresh)).await;
    assert_eq!(newer.status, 200);
    assert_eq!(newer.json["refreshTokenId"], session["refreshTokenId"]);

    let stats = server.stats();
    assert_eq!(stats.token_calls, 3);
    assert_eq!(stats.refresh_tokens_issued, 3, "sign-in + two rotations");
    assert_eq!(stats.reuse_rejections, 1);
    assert_eq!(stats.calls_with("/v1/token", "200"), 2);
    assert_eq!(stats.calls_with("/v1/token", "401"), 1);
    assert_eq!(stats.calls_to("/v1/token"), 3);
}

#[tokio::test]
async fn no_rotation_gives_the_same_token_back() {
    let server = server_with(Rotation::None);
    let session = sign_in(&server).await;
    let token = token_of(&session);
    for _ in 0..3 {
        let answer = refresh(&server, &token).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json["refreshToken"], session["refreshToken"]);
        assert_eq!(answer.json["refreshTokenId"], session["refreshTokenId"]);
    }
    assert_eq!(server.stats().refresh_tokens_issued, 1);
}

#[tokio::test]
async fn grace_rotation_accepts_the_old_token_for_the_window() {
    let server = server_with(Rotation::Grace(Duration::from_secs(10)));
    let session = sign_in(&server).await;
    let old = token_of(&session);
    let first = refresh(&server, &old).await;
    assert_eq!(first.status, 200);
    assert_ne!(first.json["refreshToken"], session["refreshToken"]);

    server.advance(Duration::from_secs(9));
    let within = refresh(&server, &old).await;
    assert_eq!(within.status, 200, "old token still good inside the window");
    assert_eq!(within.json["refreshTokenId"], session["refreshTokenId"]);

    server.advance(Duration::from_secs(2));
    let after = refresh(&server, &old).await;
    assert_eq!(after.status, 401);
    assert_eq!(after.json["error"], "invalid-refresh-token");
    // The tokens the refreshes handed out still work.
    assert_eq!(refresh(&server, &token_of(&first.json)).await.status, 200);
    assert_eq!(refresh(&server, &token_of(&within.json)).await.status, 200);
}

/// `n` concurrent refreshes with one token; answers the statuses and the stats.
async fn race(rotation: Rotation, n: usize) -> (Vec<Answer>, nhost_session_testkit::Stats) {
    let server = server_with(rotation);
    let session = sign_in(&server).await;
    let token = token_of(&session);
    let client = client();
    let url = format!("{}/token", server.base_url());
    let calls = (0..n).map(|_| {
        let request = client
            .post(&url)
            .json(&json!({ "refreshToken": token }))
            .send();
        async move { Answer::from(request.await.unwrap()).await }
    });
    let answers = futures_join_all(calls).await;
    (answers, server.stats())
}

async fn strict_race(n: usize) {
    let (answers, stats) = race(Rotation::Strict, n).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let rejected: Vec<_> = answers.iter().filter(|a| a.status != 200).collect();
    assert_eq!(ok, 1, "exactly one winner out of {n}");
    assert_eq!(rejected.len(), n - 1);
    for answer in rejected {
        assert_eq!(answer.status, 401);
        assert_eq!(answer.json["error"], "invalid-refresh-token");
    }
    assert_eq!(stats.token_calls, n as u64);
    assert_eq!(stats.reuse_rejections, (n - 1) as u64);
}

/// Runs the calls concurrently, each on its own task.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_parallel_refreshes_one_winner() {
    strict_race(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_refreshes_one_winner() {
    strict_race(20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_rotation_parallel_refreshes_all_succeed() {
    let (answers, stats) = race(Rotation::None, 8).await;
    assert!(answers.iter().all(|a| a.status == 200));
    assert_eq!(stats.reuse_rejections, 0);
}

#[tokio::test]
async fn refresh_tokens_expire_and_their_expiry_slides() {
    let day = Duration::from_secs(24 * 3600);
    let server = FakeAuthServer::builder()
        .refresh_token_ttl(2 * day)
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    let session = sign_in(&server).await;
    server.advance(day + Duration::from_secs(3600));
    let answer = refresh(&server, &token_of(&session)).await;
    assert_eq!(answer.status, 200, "25 h into a 48 h lifetime");
    let token = token_of(&answer.json);
    // 25 h + 36 h = 61 h after sign-in, but only 36 h after the refresh: alive.
    server.advance(day + Duration::from_secs(12 * 3600));
    let answer = refresh(&server, &token).await;
    assert_eq!(answer.status, 200, "the refresh pushed the expiry forward");
    let token = token_of(&answer.json);
    server.advance(2 * day);
    let answer = refresh(&server, &token).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "invalid-refresh-token");
    assert_eq!(server.stats().reuse_rejections, 0, "expiry is not reuse");
}

#[tokio::test]
async fn new_tokens_are_stamped_with_the_fake_clock() {
    let server = server();
    let session = sign_in(&server).await;
    server.advance(Duration::from_secs(3600));
    let answer = refresh(&server, &token_of(&session)).await;
    let (_, before) = jwt_parts(session["accessToken"].as_str().unwrap());
    let (_, after) = jwt_parts(answer.json["accessToken"].as_str().unwrap());
    let gap = after["iat"].as_i64().unwrap() - before["iat"].as_i64().unwrap();
    assert!(
        (3600..3700).contains(&gap),
        "iat moved with the clock: {gap}"
    );
}

#[tokio::test]
async fn a_refresh_token_that_is_not_a_uuid_fails_validation() {
    let server = server();
    for bad in ["not-a-uuid", "2C35B6F3-C4B9-48E3-978A-D4D0F1D42E24", ""] {
        let answer = refresh(&server, bad).await;
        assert_eq!(answer.status, 400, "{bad}");
        let error = answer.json["error"].as_str().unwrap();
        assert!(
            error.starts_with("error in openapi3filter.RequestError: "),
            "{error}"
        );
        assert!(error.contains("refreshToken"));
        assert_eq!(
            answer.json.as_object().unwrap().len(),
            1,
            "no status, no message"
        );
    }
    let answer = post(&server, "/token", json!({})).await;
    assert_eq!(answer.status, 400);
    assert!(answer.json.get("status").is_none());
    let unknown = refresh(&server, "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(server.stats().reuse_rejections, 0, "unknown is not reuse");
}

#[tokio::test]
async fn concealed_errors_hide_sensitive_codes_only() {
    let server = FakeAuthServer::builder()
        .conceal_errors(true)
        .anonymous_users(false)
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .start()
        .unwrap();
    let concealed = json!({ "status": 400, "error": "invalid-request",
                            "message": "The request payload is incorrect" });
    let answer = refresh(&server, "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24").await;
    assert_eq!(
        (answer.status, answer.json.clone()),
        (400, concealed.clone())
    );
    let answer = post(
        &server,
        "/signin/email-password",
        json!({ "email": EMAIL, "password": "wrong-password" }),
    )
    .await;
    assert_eq!(
        (answer.status, answer.json.clone()),
        (400, concealed.clone())
    );
    let answer = post(
        &server,
        "/signup/email-password",
        json!({ "email": EMAIL, "password": "whatever" }),
    )
    .await;
    assert_eq!((answer.status, answer.json.clone()), (400, concealed));
    // Not sensitive: unchanged.
    let answer = post(&server, "/signin/anonymous", json!({})).await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.json["error"], "disabled-endpoint");
    // Validation errors keep their own shape.
    let answer = refresh(&server, "nope").await;
    assert!(
        answer.json["error"]
            .as_str()
            .unwrap()
            .starts_with("error in openapi3filter")
    );
}

#[tokio::test]
async fn sign_out_one_token_unknown_tokens_and_all() {
    let server = server();
    let a = sign_in(&server).await;
    let b = sign_in(&server).await;
    let c = sign_in(&server).await;
    let user_id = a["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(server.active_sessions(&user_id), 3);

    let answer = post(&server, "/signout", json!({ "refreshToken": token_of(&a) })).await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));
    assert_eq!(refresh(&server, &token_of(&a)).await.status, 401);
    assert_eq!(server.active_sessions(&user_id), 2);

    let answer = post(
        &server,
        "/signout",
        json!({ "refreshToken": "2c35b6f3-c4b9-48e3-978a-d4d0f1d42e24" }),
    )
    .await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));

    let answer = post(&server, "/signout", json!({ "all": true })).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json["error"], "invalid-request");

    let answer = post_bearer(
        &server,
        "/signout",
        json!({ "all": true }),
        b["accessToken"].as_str(),
    )
    .await;
    assert_eq!((answer.status, answer.json.clone()), (200, json!("OK")));
    assert_eq!(refresh(&server, &token_of(&b)).await.status, 401);
    assert_eq!(refresh(&server, &token_of(&c)).await.status, 401);
    assert_eq!(server.active_sessions(&user_id), 0);
    assert_eq!(server.stats().sign_outs, 3);
}

#[tokio::test]
async fn sign_out_all_leaves_other_users_alone() {
    let server = FakeAuthServer::builder()
        .seed_user(SeedUser::new(EMAIL, PASSWORD))
        .seed_user(SeedUser::new("bob@example.com", PASSWORD))
        .start()
        .unwrap();
    let alice = sign_in(&server).await;
    let bob = sign_in_as(&server, "bob@example.com", PASSWORD).await;
    let answer = post_bearer(
        &server,
        "/signout",
        json!({ "all": true }),
        alice["accessToken"].as_str(),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(refresh(&server, &token_of(&bob)).await.status, 200);
}

#[tokio::test]
async fn a_disabled_user_cannot_refresh() {
    let server = server();
    let session = sign_in(&server).await;
    let user_id = session["user"]["id"].as_str().unwrap();
    assert!(server.set_user_disabled(user_id, true));
    let answer = refresh(&server, &token_of(&session)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["error"], "disabled-user");
    assert!(server.set_user_disabled(user_id, false));
    assert_eq!(
        refresh(&server, &token_of(&session)).await.status,
        200,
        "not used up"
    );
}
