//! Signs in (e-mail and password from flags or the environment, or anonymously), prints the
//! user, calls GraphQL with the session's JWT, forces a refresh to show the refresh token
//! rotating, and signs out.
//!
//! ```text
//! cargo run --example cli                                   # embedded test server, demo user
//! cargo run --example cli -- --anonymous
//! NHOST_SUBDOMAIN=myapp NHOST_REGION=eu-central-1 \
//!   cargo run --example cli --features nhost-session-examples/tls -- --email me@example.com --password ...
//! ```

use std::process::ExitCode;

use nhost_session_examples::{Backend, cli};

#[tokio::main]
async fn main() -> ExitCode {
    let sign_in = match cli::parse_args(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(sign_in) => sign_in,
        Err(message) => {
            eprintln!("{message}");
            return if message == cli::USAGE {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let backend = match Backend::from_env() {
        Ok(backend) => backend,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    match cli::run(&backend, sign_in, &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
