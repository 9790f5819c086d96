//! Server-side rendering with Nhost sessions in actix-web.
//!
//! ```text
//! cargo run --example ssr                               # embedded test server, demo user
//! cargo run --example ssr -- --access-token-ttl 10      # watch the JWT refresh every 5 s
//! cargo run --example ssr -- --redis redis://127.0.0.1:6379 --listen 127.0.0.1:8081
//!                                                       # one of several instances (README)
//! NHOST_SUBDOMAIN=myapp NHOST_REGION=eu-central-1 \
//!   cargo run --example ssr --features nhost-session-examples/tls
//! ```
//!
//! Then open the printed address: sign in with the form (the demo user's credentials are
//! printed), see the profile rendered on the server with a GraphQL call, reload after the JWT
//! expired and stay signed in: the middleware refreshed once and sent the rotated token back.

mod app;

use std::io::Write as _;
use std::process::ExitCode;

use nhost_session_examples::{DEMO_EMAIL, DEMO_PASSWORD};

#[actix_web::main]
async fn main() -> ExitCode {
    let options = match app::parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return if message == app::USAGE {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let backend = match app::backend(&options) {
        Ok(backend) => backend,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let redis_url = options
        .redis
        .clone()
        .or_else(|| std::env::var(app::REDIS_URL_ENV).ok())
        .filter(|url| !url.trim().is_empty());
    let coordinator = match redis_url.as_deref().map(app::redis_coordinator).transpose() {
        Ok(coordinator) => coordinator,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let coordinator = coordinator.map(|(coordinator, generated_key)| {
        if let Some(key) = generated_key {
            eprintln!(
                "warning: {} is not set; this instance made up a key, and other instances \
                 can share its sessions only with it: {}={key}",
                app::REDIS_KEY_ENV,
                app::REDIS_KEY_ENV
            );
        }
        coordinator
    });
    let shared = coordinator.is_some();
    let middleware = match coordinator {
        Some(coordinator) => app::middleware_with(backend.auth_url.clone(), Some(coordinator)),
        None => app::middleware(backend.auth_url.clone()),
    };
    let bound =
        match middleware.and_then(|middleware| app::bind(&backend, middleware, &options.listen)) {
            Ok(bound) => bound,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{}", bound.addr);
    let _ = writeln!(out, "auth service: {}", backend.describe());
    if shared {
        // The URL may hold a password: not printed.
        let _ = writeln!(out, "refreshes shared with other instances through Redis");
        if backend.is_embedded() {
            let _ = writeln!(
                out,
                "note: this instance's auth service is its own; instances share sessions only \
                 with a common one (NHOST_AUTH_URL, see the README)"
            );
        }
    }
    if backend.is_embedded() {
        let _ = writeln!(out, "demo user: {DEMO_EMAIL} / {DEMO_PASSWORD}");
        if let Some(ttl) = options.access_token_ttl {
            let _ = writeln!(out, "access tokens live {} s", ttl.as_secs());
        }
    }
    let _ = out.flush();
    drop(out);
    match bound.server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
