//! HTTP-level tests of the middleware, the extractors and the helpers, through actix's test
//! utilities against the fake auth server (`nhost-session-testkit`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod callback;
mod common;
mod refresh;
