//! A `TokenStore` that keeps the session in a file (atomic replace, mode 0600, a corrupt file
//! reads as "no session" with a warning), and a second client over the same file, built as a
//! restarted program would build it, that resumes the session without signing in.
//!
//! ```text
//! cargo run --example custom_store                          # embedded test server, demo user
//! NHOST_SESSION_FILE=/tmp/my-session.json cargo run --example custom_store
//! ```

use std::process::ExitCode;

use nhost_session_examples::{Backend, custom_store};

#[tokio::main]
async fn main() -> ExitCode {
    let backend = match Backend::from_env() {
        Ok(backend) => backend,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path =
        std::env::var_os("NHOST_SESSION_FILE").map_or_else(custom_store::default_path, Into::into);
    let mut out = std::io::stdout();
    match custom_store::run(&backend, &path, &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
