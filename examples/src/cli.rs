//! The `cli` example's logic: sign in, show the user, call GraphQL, force a refresh and show
//! the rotation, sign out. `examples/cli.rs` runs it; `tests/cli.rs` keeps it working.

use std::io::Write;

use nhost_session_core::{Error, MemoryTokenStore, RefreshToken, TokenFingerprint, User};
use nhost_session_reqwest::AuthClientExt;

use crate::backend::{Backend, DEMO_EMAIL, DEMO_PASSWORD};

/// How to sign in.
#[derive(Clone, PartialEq, Eq)]
pub enum SignIn {
    /// With e-mail and password.
    EmailPassword {
        /// The e-mail.
        email: String,
        /// The password.
        password: String,
    },
    /// As a new anonymous user.
    Anonymous,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmailPassword { email, .. } => write!(f, "EmailPassword({email})"),
            Self::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// The command line of the `cli` example.
pub const USAGE: &str = "\
usage: cargo run --example cli -- [--email EMAIL --password PASSWORD | --anonymous]

Signs in, prints the user, calls GraphQL with the session's JWT, forces a refresh to show the
refresh token rotating, and signs out.

  --email, --password   sign in with these (or set NHOST_EMAIL and NHOST_PASSWORD)
  --anonymous           sign in as a new anonymous user
  -h, --help            this text

The auth service: NHOST_AUTH_URL (e.g. https://myapp.auth.eu-central-1.nhost.run/v1), or
NHOST_SUBDOMAIN and NHOST_REGION (NHOST_GRAPHQL_URL when GraphQL lives elsewhere). With none of
them, a test server starts in process with a demo user, so the example runs anywhere. Nhost
cloud needs TLS: add `--features nhost-session-examples/tls`.";

/// What the command line asks for: `None` for the default (the demo user on the embedded
/// server, anonymous elsewhere).
///
/// # Errors
/// A message (or [`USAGE`] for `--help`) when the arguments make no sense.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<SignIn>, String> {
    let mut email = None;
    let mut password = None;
    let mut anonymous = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--email" => email = Some(args.next().ok_or("--email needs a value")?),
            "--password" => password = Some(args.next().ok_or("--password needs a value")?),
            "--anonymous" => anonymous = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let email = email.or_else(|| env("NHOST_EMAIL"));
    let password = password.or_else(|| env("NHOST_PASSWORD"));
    match (anonymous, email, password) {
        (true, None, _) => Ok(Some(SignIn::Anonymous)),
        (true, Some(_), _) => Err("--anonymous and --email exclude each other".to_owned()),
        (false, Some(email), Some(password)) => Ok(Some(SignIn::EmailPassword { email, password })),
        (false, Some(_), None) => Err("--email needs --password (or NHOST_PASSWORD)".to_owned()),
        (false, None, Some(_)) => Err("--password needs --email (or NHOST_EMAIL)".to_owned()),
        (false, None, None) => Ok(None),
    }
}

/// What the run showed, for tests.
#[derive(Clone, Debug)]
pub struct CliReport {
    /// The signed-in user.
    pub user: User,
    /// The GraphQL answer, when there was an endpoint to call.
    pub graphql: Option<serde_json::Value>,
    /// Whether the forced refresh replaced the refresh token.
    pub rotated: bool,
    /// Whether the server refused the replaced refresh token afterwards.
    pub old_token_dead: bool,
    /// Whether the store was empty after signing out.
    pub signed_out: bool,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Short, safe-to-print name of a refresh token: the start of its fingerprint.
fn tag(token: &RefreshToken) -> String {
    let hex = TokenFingerprint::of(token).to_string();
    format!("#{}", &hex[..hex.len().min(8)])
}

fn stored_token(store: &MemoryTokenStore) -> Result<RefreshToken, Failure> {
    Ok(store
        .get()
        .ok_or("the store holds no session")?
        .refresh_token)
}

/// Runs the example against `backend`, writing what happens to `out`.
///
/// # Errors
/// When a step fails (it says which).
pub async fn run(
    backend: &Backend,
    sign_in: Option<SignIn>,
    out: &mut (dyn Write + Send),
) -> Result<CliReport, Failure> {
    writeln!(out, "nhost-session cli example")?;
    writeln!(out, "  auth service: {}", backend.describe())?;

    let store = MemoryTokenStore::new();
    let client = nhost_session_reqwest::client_with_store(backend.auth_url.clone(), store.clone())?;

    // 1. Sign in.
    let sign_in = sign_in.unwrap_or(if backend.is_embedded() {
        SignIn::EmailPassword {
            email: DEMO_EMAIL.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
        }
    } else {
        SignIn::Anonymous
    });
    let session = match &sign_in {
        SignIn::EmailPassword { email, password } => {
            writeln!(out, "\n1. Signing in as {email} with a password")?;
            client.sign_in_email_password(email, password).await
        }
        SignIn::Anonymous => {
            writeln!(out, "\n1. Signing in anonymously")?;
            client.sign_in_anonymous(None).await
        }
    };
    let session = match session {
        Ok(session) => session,
        Err(Error::MfaRequired(_)) => {
            return Err("this user has multi-factor authentication on; the cli example does not ask for codes".into());
        }
        Err(e) => return Err(format!("sign-in failed: {e}").into()),
    };
    let user = client.current_user().ok_or("the session carries no user")?;
    writeln!(out, "   signed in: user {}", user.id)?;
    writeln!(
        out,
        "   name: {}; e-mail: {}; anonymous: {}",
        user.display_name,
        user.email.as_deref().unwrap_or("(none)"),
        user.is_anonymous
    )?;
    writeln!(
        out,
        "   roles: {} (default {})",
        user.roles.join(", "),
        user.default_role
    )?;
    let first = stored_token(&store)?;
    writeln!(
        out,
        "   session: refresh token {} (device session {}), access token valid for {} s",
        tag(&first),
        session.refresh_token_id,
        session.access_token_expires_in
    )?;

    // 2. An authenticated GraphQL call.
    let graphql = match &backend.graphql_url {
        Some(url) => {
            writeln!(out, "\n2. Calling GraphQL at {url} with the session's JWT")?;
            let api = client.authenticated()?;
            let answer = api
                .send(
                    api.post(url)
                        .header("content-type", "application/json")
                        .body(r#"{"query":"query Me { __typename }"}"#),
                )
                .await?;
            let status = answer.status();
            let body: serde_json::Value = serde_json::from_slice(&answer.bytes().await?)
                .map_err(|e| format!("GraphQL answered HTTP {status} with no JSON: {e}"))?;
            writeln!(out, "   HTTP {status}: {body}")?;
            Some(body)
        }
        None => {
            writeln!(
                out,
                "\n2. No GraphQL endpoint known (set NHOST_GRAPHQL_URL); skipping the call"
            )?;
            None
        }
    };

    // 3. A forced refresh: the refresh token rotates and the old one dies.
    writeln!(out, "\n3. Forcing a refresh")?;
    client.refresh().await?;
    let second = stored_token(&store)?;
    let rotated = !second.ct_eq(&first);
    if rotated {
        writeln!(
            out,
            "   the refresh token rotated: {} -> {}",
            tag(&first),
            tag(&second)
        )?;
    } else {
        writeln!(
            out,
            "   the server sent the same refresh token back (a server older than v0.38)"
        )?;
    }
    let old_token_dead = if rotated {
        match client.api().refresh(&first).await {
            Err(e @ Error::RefreshTokenRejected(_)) => {
                writeln!(
                    out,
                    "   replaying the old token {}: refused with HTTP {} `{}` (it died when it was replaced)",
                    tag(&first),
                    e.status().unwrap_or_default(),
                    e.code().unwrap_or("?")
                )?;
                true
            }
            Err(e) => {
                writeln!(
                    out,
                    "   replaying the old token {}: failed ({e})",
                    tag(&first)
                )?;
                false
            }
            Ok(_) => {
                writeln!(
                    out,
                    "   replaying the old token {}: still accepted (a grace window)",
                    tag(&first)
                )?;
                false
            }
        }
    } else {
        false
    };

    // 4. Sign out.
    writeln!(out, "\n4. Signing out")?;
    client.sign_out().await?;
    let signed_out = store.get().is_none();
    writeln!(
        out,
        "   signed out; the refresh token {} is revoked and the store is {}",
        tag(&second),
        if signed_out { "empty" } else { "NOT empty" }
    )?;
    writeln!(out, "\nDone.")?;
    Ok(CliReport {
        user,
        graphql,
        rotated,
        old_token_dead,
        signed_out,
    })
}
