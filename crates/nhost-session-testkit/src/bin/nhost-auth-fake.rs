//! `nhost-auth-fake`: the fake Nhost auth server as a program, for Node and browser tests and
//! for demos. A test double: never expose it beyond loopback.
//!
//! Its first line on stdout is `listening on http://127.0.0.1:PORT/v1`; it runs until killed
//! (SIGINT or SIGTERM).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nhost_session_testkit::{FakeAuthServer, JwtAlgorithm, Rotation, SeedUser};

/// A fake Nhost auth server (hasura-auth v0.42+) on 127.0.0.1, for tests. Never use it in
/// production: its signing keys are public and its admin API (/__admin) is open.
#[derive(Debug, Parser)]
#[command(name = "nhost-auth-fake", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    access_token_ttl: u64,

    /// Refresh-token lifetime in seconds (slides on every refresh).
    #[arg(long, value_name = "SECS", default_value_t = 30 * 24 * 3600)]
    refresh_token_ttl: u64,

    /// Refresh-token rotation: strict (every refresh replaces the token), none (the same token
    /// comes back), or grace=SECS (the old token lives SECS more seconds).
    #[arg(long, default_value = "strict")]
    rotation: Rotation,

    /// Conceal sensitive errors as 400 invalid-request (AUTH_CONCEAL_ERRORS).
    #[arg(long)]
    conceal_errors: bool,

    /// JWT algorithm: rs256 (fixed test keys, JWKS) or hs256 (shared secret).
    #[arg(long, default_value = "rs256")]
    jwt: JwtAlgorithm,

    /// A user that exists from the start, as EMAIL:PASSWORD (repeatable).
    #[arg(long, value_name = "EMAIL:PASSWORD", value_parser = parse_seed)]
    seed_user: Vec<SeedUser>,

    /// Added latency before every API call, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,

    /// Turn anonymous sign-in off (409 disabled-endpoint).
    #[arg(long)]
    no_anonymous: bool,

    /// API prefix.
    #[arg(long, default_value = "/v1")]
    api_prefix: String,

    /// Where redirects go when a request names no redirectTo (AUTH_CLIENT_URL).
    #[arg(long, default_value = "http://localhost:3000")]
    client_url: String,
}

fn parse_seed(text: &str) -> Result<SeedUser, String> {
    match text.split_once(':') {
        Some((email, password)) if !email.is_empty() && !password.is_empty() => {
            Ok(SeedUser::new(email, password))
        }
        _ => Err(format!("`{text}`: expected EMAIL:PASSWORD")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Listen for signals before announcing the server, so that a SIGTERM sent as soon as the
    // first line is read stops it cleanly instead of killing it.
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "nhost-auth-fake: cannot handle signals: {e}"
            );
            return ExitCode::FAILURE;
        }
    };
    let mut builder = FakeAuthServer::builder()
        .port(args.port)
        .access_token_ttl(Duration::from_secs(args.access_token_ttl))
        .refresh_token_ttl(Duration::from_secs(args.refresh_token_ttl))
        .rotation(args.rotation)
        .conceal_errors(args.conceal_errors)
        .jwt_algorithm(args.jwt)
        .latency(Duration::from_millis(args.latency_ms))
        .anonymous_users(!args.no_anonymous)
        .api_prefix(&args.api_prefix)
        .client_url(args.client_url);
    for user in args.seed_user {
        builder = builder.seed_user(user);
    }
    let server = match builder.start() {
        Ok(server) => server,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "nhost-auth-fake: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", server.base_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    // Not eprintln!: a closed stderr must not kill the server.
    let _ = writeln!(
        std::io::stderr(),
        "nhost-auth-fake: admin API at {}, GraphQL at {}; test double, never for production",
        server.admin_url(),
        server.graphql_url()
    );
    signals.wait();
    server.shutdown();
    ExitCode::SUCCESS
}

/// SIGINT and SIGTERM handlers (ctrl-c only where there is no SIGTERM), installed up front.
struct Signals {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let context = runtime.enter();
            let interrupt = signal(SignalKind::interrupt())?;
            let terminate = signal(SignalKind::terminate())?;
            drop(context);
            Ok(Self {
                runtime,
                interrupt,
                terminate,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self { runtime })
        }
    }

    /// Blocks until a signal arrives.
    fn wait(mut self) {
        #[cfg(unix)]
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        });
        #[cfg(not(unix))]
        {
            let _ = self.runtime.block_on(tokio::signal::ctrl_c());
        }
    }
}
