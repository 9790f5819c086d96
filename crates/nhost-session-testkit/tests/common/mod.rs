//! Helpers shared by the integration tests: an HTTP client that does not follow redirects,
//! JSON calls, and JWT payload decoding.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use nhost_session_testkit::{FakeAuthServer, SeedUser};
use serde_json::{Value, json};

pub const EMAIL: &str = "alice@example.com";
pub const PASSWORD: &str = "correct-horse";

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A server with Alice seeded.
pub fn server() -> FakeAuthServer {
    FakeAuthServer::builder()
        .seed_user(SeedUser::new(EMAIL, PASSWORD).display_name("Alice"))
        .start()
        .unwrap()
}

/// An answer: status, headers and body (JSON when it parses, else `Value::Null`).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

pub async fn post(server: &FakeAuthServer, path: &str, body: Value) -> Answer {
    post_bearer(server, path, body, None).await
}

pub async fn post_bearer(
    server: &FakeAuthServer,
    path: &str,
    body: Value,
    bearer: Option<&str>,
) -> Answer {
    let mut request = client()
        .post(format!("{}{path}", server.base_url()))
        .json(&body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    Answer::from(request.send().await.unwrap()).await
}

pub async fn get(server: &FakeAuthServer, path: &str, bearer: Option<&str>) -> Answer {
    get_url(&format!("{}{path}", server.base_url()), bearer).await
}

pub async fn get_url(url: &str, bearer: Option<&str>) -> Answer {
    let mut request = client().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    Answer::from(request.send().await.unwrap()).await
}

/// Signs Alice in; answers the `session` object.
pub async fn sign_in(server: &FakeAuthServer) -> Value {
    sign_in_as(server, EMAIL, PASSWORD).await
}

pub async fn sign_in_as(server: &FakeAuthServer, email: &str, password: &str) -> Value {
    let answer = post(
        server,
        "/signin/email-password",
        json!({ "email": email, "password": password }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json["session"].clone()
}

pub async fn refresh(server: &FakeAuthServer, token: &str) -> Answer {
    post(server, "/token", json!({ "refreshToken": token })).await
}

/// The JWT header and payload, unverified.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let decode = |part: Option<&str>| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let header = decode(parts.next());
    let payload = decode(parts.next());
    (header, payload)
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Whether a string is a canonical lower-case UUID.
pub fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok().map(|u| u.to_string() == s))
        .unwrap_or(false)
}
