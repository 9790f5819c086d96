//! One Nhost session, many app instances: refresh coordination shared through Redis.
//!
//! The Nhost auth service kills a refresh token at its first refresh. Behind a load balancer,
//! a browser's parallel requests land on different instances of an app, all carrying the same
//! token; in-process coalescing cannot stop the instances from racing, and every loser signs
//! the user out. [`RedisCoordinator`] makes several instances behave as one. It implements
//! core's [`RefreshCoordinator`], and plugs into the actix middleware with
//! `SessionMiddleware::builder(..).coordinator(..)`:
//!
//! - across all instances, at most one `POST /token` per refresh token; the others wait for
//!   its outcome and use it. The outcome stays available under the OLD token for the grace
//!   period and under the NEW one until its JWT nears expiry, so page loads on any instance
//!   within one JWT lifetime make no auth call;
//! - within one instance, concurrent requests with one token make one look at Redis, and at
//!   most one `POST /token` per token leaves the instance, whatever the path to it;
//! - locks expire: an instance that dies while refreshing blocks the session for at most the
//!   [lock TTL](RedisCoordinatorBuilder::lock_ttl) (5 s). Waiting is bounded
//!   ([`wait_timeout`](RedisCoordinatorBuilder::wait_timeout)); a waiter that gives up gets
//!   [`Resolution::Unavailable`](nhost_session_core::Resolution::Unavailable) (the cookie is
//!   kept), never a sign-out;
//! - data in Redis is protected: keys hold [fingerprints](nhost_session_core::TokenFingerprint)
//!   of tokens, never tokens; values (which hold refresh tokens and JWTs) are encrypted and
//!   authenticated with XChaCha20-Poly1305 under an [`EncryptionKey`] from the configuration,
//!   bound to their key name; everything has a TTL;
//! - Redis down or slow: every command has a short timeout; on failure the request is resolved
//!   in-process, with a warning (at most one every 10 s), and Redis is left alone for a
//!   second. Each instance keeps a bounded copy, in the same form, of what it read from and
//!   wrote to Redis, so sessions it has seen (and the grace periods of their old tokens) keep
//!   working without Redis. Nothing panics, and Redis failing never ends a session by itself.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use actix_web::{App, HttpServer};
//! use nhost_session_actix::SessionMiddleware;
//! use nhost_session_core::AuthUrl;
//! use nhost_session_redis::{EncryptionKey, RedisCoordinator};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The same key on every instance: `openssl rand -base64 32`.
//!     let key = EncryptionKey::from_base64(&std::env::var("NHOST_SESSION_REDIS_KEY")?)?;
//!     let coordinator = RedisCoordinator::builder(key)
//!         .url("redis://127.0.0.1:6379")
//!         .key_prefix("myapp")
//!         .build()?;
//!     // Once per process, outside `HttpServer::new`'s closure.
//!     let sessions = SessionMiddleware::builder(AuthUrl::from_subdomain("myapp", "eu-central-1")?)
//!         .coordinator(Arc::new(coordinator))
//!         .build()?;
//!     HttpServer::new(move || App::new().wrap(sessions.clone()))
//!         .bind(("0.0.0.0", 8080))?
//!         .run()
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! # What is stored
//!
//! With `fp` the hex [fingerprint](nhost_session_core::TokenFingerprint) of a refresh token
//! (the first 128 bits of its SHA-256):
//!
//! | key | value | TTL |
//! | --- | --- | --- |
//! | `{prefix}:s:{fp}` | sealed JSON: the token's session (newest token), or its successor and the end of its grace period (replaced token), or "dead until" (rejected or signed out) | until the JWT expires; grace + dead-token memory (11 min by default); the rejection TTL (5 s) |
//! | `{prefix}:l:{fp}` | a random owner id: the refresh lock (`SET NX PX`, extended by its owner every third of its TTL while it refreshes, released by a compare-and-delete script) | the lock TTL (5 s) |
//! | `{prefix}:f:{fp}` | `1`: the refresh just failed transiently; waiters take that answer instead of retrying | the failure TTL (1 s) |
//!
//! A sealed value is `1 ‖ nonce (24 bytes) ‖ ciphertext ‖ tag`, with the key name as associated
//! data: a value copied to another key, or written with another key, does not open and counts
//! as absent.
//!
//! # Resolving a token
//!
//! 1. `GET {prefix}:s:{fp}`. A session fresh beyond the margin: done. A token replaced within
//!    its grace period: go on with its successor (the newest session of the chain is served).
//!    A dead token: [`Rejected`](nhost_session_core::Resolution::Rejected).
//! 2. Otherwise `SET {prefix}:l:{fp} {owner} NX PX {lock_ttl}`. The owner looks again, refreshes
//!    (once for this process), writes the new session under the new token and the outcome
//!    under the old one, and releases the lock, in one round trip.
//! 3. The others poll the three keys (`MGET`) with growing, jittered pauses (10 to 100 ms)
//!    until an outcome appears, the failure marker appears (the still-valid JWT is served, or
//!    "unavailable"), the lock vanishes without an outcome (they take it over: its owner died),
//!    or the wait times out ("unavailable").
//!
//! A Redis failure before anything is decided resolves the request from the instance's copy
//! (refreshing, once per token in the instance, when needed). A failure while waiting for
//! another instance's refresh answers "unavailable", or the still-valid JWT: that refresh may
//! already have used the token, so this instance must not send it.
//!
//! # Limits
//!
//! While Redis is away, instances cannot coordinate: two of them may refresh one token, and
//! one of those requests ends its session, exactly as without this crate (sequential requests
//! of a browser are fine: each instance refreshes the token it is given). Outcomes decided
//! while Redis was away are shared when the owner of a token's next refresh finds them in its
//! copy. Instances need synchronised clocks (entries carry absolute times).
//!
//! [`RefreshCoordinator`]: nhost_session_core::RefreshCoordinator

mod config;
mod connection;
mod coordinator;
mod crypto;
mod entry;
mod fallback;
mod flight;
mod keys;
mod lock;

pub use config::{
    DEFAULT_CAPACITY, DEFAULT_COMMAND_TIMEOUT, DEFAULT_DEAD_TOKEN_MEMORY, DEFAULT_FAILURE_TTL,
    DEFAULT_GRACE, DEFAULT_LOCK_TTL, DEFAULT_MARGIN, DEFAULT_REDIS_URL, DEFAULT_REJECTION_TTL,
    DEFAULT_RETRY_AFTER, DEFAULT_WAIT_TIMEOUT, RedisCoordinatorBuilder,
};
pub use coordinator::RedisCoordinator;
pub use crypto::{EncryptionKey, KEY_LEN};
pub use keys::DEFAULT_KEY_PREFIX;
