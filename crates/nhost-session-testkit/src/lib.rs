//! A faithful local stand-in for the Nhost auth server (hasura-auth v0.42+), with a tiny
//! Hasura GraphQL stand-in, fault injection and a fake clock.
//!
//! **This is a test double, never a production server.** It keeps everything in memory,
//! compares passwords in plain text, signs tokens with keys that are committed in this crate
//! (so anyone can forge them), and exposes an unauthenticated admin API that can reset it,
//! move its clock and break it on purpose. It binds to 127.0.0.1 only.
//!
//! It is what the examples run on, what every integration test and benchmark of this
//! workspace talks to, and where faults are injected. It follows `shared/protocol.md` down to
//! its quirks: refresh-token rotation (strict, none, or with a grace window), the three error
//! shapes, concealed errors, `metadata: null`, the JWT claims (with
//! `x-hasura-user-is-anonymous` as a string and Postgres-style array claims).
//!
//! # Starting it
//! [`FakeAuthServer::start`] (or [`FakeAuthServer::builder`]`().….start()`) is a plain
//! synchronous call: the server runs on its own thread with its own tokio runtime, so it works
//! from sync tests, `#[tokio::test]` and actix tests alike. It returns once the server accepts
//! connections; dropping the handle stops it.
//!
//! ```
//! use std::io::{Read, Write};
//! use nhost_session_testkit::{FakeAuthServer, SeedUser};
//!
//! let server = FakeAuthServer::builder()
//!     .seed_user(SeedUser::new("alice@example.com", "password123"))
//!     .start()?;
//! assert!(server.base_url().ends_with("/v1"));
//!
//! let body = r#"{"email":"alice@example.com","password":"password123"}"#;
//! let mut tcp = std::net::TcpStream::connect(server.addr())?;
//! write!(
//!     tcp,
//!     "POST /v1/signin/email-password HTTP/1.1\r\nHost: localhost\r\n\
//!      Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
//!     body.len()
//! )?;
//! let mut answer = String::new();
//! tcp.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200"));
//! assert!(answer.contains("\"refreshTokenId\""));
//! assert_eq!(server.stats().sessions_created, 1);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What it serves
//! Under the API prefix (default `/v1`), JSON in camelCase:
//! - `POST /signup/email-password`, `POST /signin/email-password` (with TOTP MFA:
//!   `GET /mfa/totp/generate`, `POST /user/mfa`, `POST /signin/mfa/totp`);
//! - `POST /signin/anonymous`, `POST /pat` and `POST /signin/pat`, `POST /signin/idtoken`
//!   (ID tokens from [`FakeAuthServer::id_token`]);
//! - passwordless: `POST /signin/passwordless/email` (a magic link to `GET /verify` in the
//!   [outbox](FakeAuthServer::outbox)), `POST /signin/otp/email` and `/signin/otp/email/verify`,
//!   `POST /signin/passwordless/sms` and `/signin/passwordless/sms/otp`;
//! - OAuth: `GET /signin/provider/{provider}` through a fake provider at
//!   `/__provider/{provider}/authorize` back to `redirectTo?refreshToken=...`, or
//!   `redirectTo?code=...` with PKCE (`codeChallenge`, `codeChallengeMethod=S256`), exchanged at
//!   `POST /token/exchange`; `login_hint=<email>` picks the user (default
//!   `{provider}-user@example.com`), `provider_error=<text>` makes the provider refuse;
//! - `POST /token`, `POST /signout`, `GET /user`, `GET /.well-known/jwks.json`, `GET /healthz`
//!   (also at the root), `GET /version`.
//!
//! Outside it: the GraphQL stand-in at `POST /v1/graphql` ([`FakeAuthServer::graphql_url`]),
//! which checks the bearer JWT as Hasura does and answers
//! `{"data":{"me":{"id","email","role","isAnonymous"}}}` or Hasura's `invalid-jwt` /
//! `invalid-headers` / `access-denied` errors (HTTP 200); and the admin API below.
//!
//! # Admin API
//! Under `/__admin` ([`FakeAuthServer::admin_url`]), JSON, for tests in other languages.
//! Admin calls are not counted in the stats and never suffer faults or latency.
//!
//! | call | body | answer |
//! | --- | --- | --- |
//! | `GET /__admin/config` | - | URLs, algorithm, `hasuraJwtSecret`, `publicKeyPem`, settings |
//! | `GET /__admin/stats` | - | [`Stats`] |
//! | `GET /__admin/faults` | - | the armed [`Fault`]s with their remaining `times` |
//! | `POST /__admin/faults` | a [`Fault`] or an array of them | `{"armed": n}` |
//! | `DELETE /__admin/faults` | - | `"OK"` |
//! | `GET /__admin/outbox` | - | the [`OutboxMessage`]s, oldest first |
//! | `DELETE /__admin/outbox` | - | `"OK"` |
//! | `GET /__admin/time` | - | `{"now": secs, "nowMs": ms, "offsetMs": ms}` |
//! | `POST /__admin/time/advance` | `{"seconds": n}` or `{"ms": n}` | as `GET /__admin/time` |
//! | `POST /__admin/reset` | - | `"OK"` |
//! | `GET /__admin/users` | - | the users ([`FakeUser`]) |
//! | `POST /__admin/users` | a [`SeedUser`] | 201 and the [`FakeUser`]; 409 if the e-mail is taken |
//! | `GET /__admin/totp?secret=...` | - | `{"code": "123456"}` at the fake clock's time |
//! | `POST /__admin/id-token` | `{"provider", "email", "nonce"?}` | `{"idToken": "..."}` |
//! | `POST /__admin/rotate-signing-key` | - | `{"kid": "..."}` (`null` with HS256) |
//!
//! A fault in JSON: `{"path":"/token","method":"POST","times":1,"delayMs":0,
//! "action":"respond","status":503,"body":"<html>...","contentType":"text/html"}`, where
//! `action` is `respond`, `proceed` (only the delay), `drop`, `reset` or `commitThenDrop`.
//!
//! # Error shapes (choices where servers differ)
//! - API errors: `{"status","error","message"}`. With concealed errors, sensitive ones become
//!   `400 {"status":400,"error":"invalid-request","message":"The request payload is incorrect"}`.
//! - Validation failures (a refresh token that is not a lower-case UUID, unknown body fields,
//!   a missing `Content-Type`, a missing bearer on `GET /user`):
//!   `400 {"error":"error in openapi3filter.RequestError: ..."}`.
//! - An expired or bad bearer on a bearer-only call: the newer servers'
//!   `401 {"error":"unauthorized","reason":"...","securityScheme":"BearerAuth"}`.
//! - One-time code failures: 400 `invalid-otp`; PKCE exchange failures: 400 `invalid-request`.
//! - Custom claims are encoded like the real server's `pgEncode`: arrays as their JSON text
//!   in braces, so `["a","b"]` becomes `{"a","b"}` (a valid Postgres array literal).
//! - `avatarUrl` is always `""` (Gravatar off). `POST /signout {all:true}` keeps personal
//!   access tokens valid.
//!
//! # Faults, time and stats
//! [`Fault`]s make the next N calls of a path answer a given status and body (429 with an
//! empty body, HTML, truncated JSON, a wrong content type), wait, close the connection
//! without a byte (FIN) or reset it (RST), or perform the real operation and then close
//! without answering ([`Fault::commit_then_drop`]). The [`FakeClock`] runs ahead of real time
//! by what [`FakeAuthServer::advance`] adds. [`Stats`] count calls per path and status,
//! refreshes, reuse rejections and sign-outs.
//!
//! Tokens never appear in logs: the fake logs nothing.

mod admin;
mod clock;
mod config;
mod connection;
mod errors;
mod faults;
mod graphql;
pub mod idtoken;
mod jwt;
pub mod keys;
mod lock;
mod outbox;
mod random;
mod routes;
mod server;
mod sessions;
mod state;
mod stats;
mod tickets;
pub mod totp;
mod users;

pub use clock::FakeClock;
pub use config::{FakeAuthServerBuilder, JwtAlgorithm, Rotation, SeedUser};
pub use faults::{Fault, FaultAction};
pub use outbox::{MessageKind, OutboxMessage};
pub use server::{EmailInUse, FakeAuthServer};
pub use stats::Stats;
pub use users::FakeUser;
