//! nhost-session-redis against real Redis servers: the machine's (127.0.0.1:6379, a key prefix
//! per test, cleaned up) and private ones that the tests start and stop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behaviour;
mod common;
mod encryption;
mod instances;
mod locks;
mod outage;
