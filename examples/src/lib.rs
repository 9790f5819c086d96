//! Shared pieces of the nhost-session examples (`cargo run --example cli`,
//! `cargo run --example custom_store`).
//!
//! - [`backend`]: which auth service to talk to: `NHOST_AUTH_URL`, or `NHOST_SUBDOMAIN` and
//!   `NHOST_REGION`, or else a test server started in process with a seeded demo user, so that
//!   every example runs on a fresh machine without an Nhost account;
//! - [`file_store`]: a [`TokenStore`](nhost_session_core::TokenStore) over a file;
//! - [`cli`] and [`custom_store`]: the examples' logic, as functions that tests run too.

pub mod backend;
pub mod cli;
pub mod custom_store;
pub mod file_store;

pub use backend::{Backend, BackendError, DEMO_EMAIL, DEMO_NAME, DEMO_PASSWORD};
pub use file_store::FileTokenStore;
