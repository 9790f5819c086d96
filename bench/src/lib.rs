//! Benchmarks of nhost-session, beside what users would pick instead: an actix page with no
//! session layer, and Nhost's own JavaScript stack (`@nhost/nhost-js` 4 following Nhost's
//! documented SSR middleware flow, in `node-anchor/`).
//!
//! The `harness` binary runs everything with one command and prints a table:
//!
//! ```text
//! npm ci --prefix bench/node-anchor
//! cargo run --release -p nhost-session-bench --bin harness            # full run, minutes
//! cargo run --release -p nhost-session-bench --bin harness -- --quick # a few seconds
//! ```
//!
//! See `BENCHMARKS.md` at the root of the repository for the method and the figures. The
//! criterion bench `benches/middleware.rs` measures the middleware's per-request work.
//!
//! The modules are the harness's parts: [`apps`] (the actix servers), [`node`] (the anchor),
//! [`loadgen`] (the load generator), [`scenarios`] (sessions, storms, economy), [`cpu`]
//! (CPU time by role), [`memory`] (bytes per cached session) and [`report`].

pub mod apps;
pub mod cpu;
pub mod loadgen;
pub mod memory;
pub mod node;
pub mod report;
pub mod scenarios;

/// The name of the actix server without a session layer, in reports, loaded with the same
/// requests as [`SETUP_ACTIX_SESSION`] (they carry the nhost-js 4 cookie, which it ignores).
pub const SETUP_ACTIX_PLAIN: &str = "actix, no session layer";
/// The same server without a session layer, loaded with the same requests as
/// [`SETUP_ACTIX_SESSION_OWN`] (they carry the own format's cookie).
pub const SETUP_ACTIX_PLAIN_OWN: &str = "actix, no session layer, own cookie";
/// The name of the actix server with the session middleware, in reports.
pub const SETUP_ACTIX_SESSION: &str = "actix + SessionMiddleware";
/// The name of the actix server with the session middleware and the project's own cookie
/// format, in reports.
pub const SETUP_ACTIX_SESSION_OWN: &str = "actix + SessionMiddleware, own cookie";
/// The name of the Node anchor, in reports.
pub const SETUP_NODE: &str = "node + nhost-js 4 (anchor)";

/// The setup without a session layer that a setup with the middleware is compared with: the
/// one loaded with the same requests, cookie included.
pub fn baseline_of(setup: &str) -> &'static str {
    if setup == SETUP_ACTIX_SESSION_OWN {
        SETUP_ACTIX_PLAIN_OWN
    } else {
        SETUP_ACTIX_PLAIN
    }
}
