//! The `custom_store` example's logic: a session kept in a file survives a restart.
//! `examples/custom_store.rs` runs it; `tests/custom_store.rs` keeps it working.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nhost_session_core::{Error, StoredTokens, TokenFingerprint, TokenStore};

use crate::backend::{Backend, DEMO_EMAIL, DEMO_PASSWORD};
use crate::file_store::FileTokenStore;

/// What the run showed, for tests.
#[derive(Clone, Debug)]
pub struct StoreReport {
    /// The user the first run signed in.
    pub first_user_id: String,
    /// The user the second run found without signing in.
    pub resumed_user_id: String,
    /// The file's Unix mode after the first run (`None` elsewhere).
    pub file_mode: Option<u32>,
    /// Whether the file held a JWT (it must not).
    pub file_had_jwt: bool,
    /// Whether the second run's refresh replaced the token the first run saved.
    pub rotated: bool,
    /// Whether a client over a corrupt file found no session.
    pub corrupt_reads_as_none: bool,
    /// The warnings the stores gave.
    pub warnings: Vec<String>,
    /// Whether the file was gone after signing out.
    pub file_removed: bool,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn tag(tokens: &StoredTokens) -> String {
    let hex = TokenFingerprint::of(&tokens.refresh_token).to_string();
    format!("#{}", &hex[..hex.len().min(8)])
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_path: &Path) -> Option<u32> {
    None
}

/// The file the example uses unless told otherwise: one per process in the temp folder.
pub fn default_path() -> PathBuf {
    std::env::temp_dir()
        .join("nhost-session-examples")
        .join(format!("session-{}.json", std::process::id()))
}

/// Runs the example against `backend` with the session file at `path`, writing what happens
/// to `out`.
///
/// # Errors
/// When a step fails (it says which).
pub async fn run(
    backend: &Backend,
    path: &Path,
    out: &mut (dyn Write + Send),
) -> Result<StoreReport, Failure> {
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let store = |path: &Path| {
        let warnings = Arc::clone(&warnings);
        FileTokenStore::new(path).on_warning(move |message| {
            warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(message.to_owned());
        })
    };
    writeln!(out, "nhost-session custom_store example")?;
    writeln!(out, "  auth service: {}", backend.describe())?;
    writeln!(out, "  session file: {}", path.display())?;

    // 1. The first run of a program: a client over the file.
    writeln!(out, "\n1. First run: a client over the session file")?;
    let first_user_id = {
        let client =
            nhost_session_reqwest::client_with_store(backend.auth_url.clone(), store(path))?;
        match client.access_token().await {
            Ok(_) => {
                writeln!(
                    out,
                    "   the file held a live session from an earlier run: resumed it"
                )?;
            }
            Err(Error::NotSignedIn) => {
                let (email, password) = credentials(backend);
                match (&email, &password) {
                    (Some(email), Some(password)) => {
                        writeln!(out, "   no session in the file: signing in as {email}")?;
                        client.sign_in_email_password(email, password).await?;
                    }
                    _ => {
                        writeln!(out, "   no session in the file: signing in anonymously")?;
                        client.sign_in_anonymous(None).await?;
                    }
                }
            }
            Err(e) => return Err(format!("could not use the stored session: {e}").into()),
        }
        let user = client.user().await?;
        writeln!(
            out,
            "   signed in as user {} ({})",
            user.id,
            user.email.as_deref().unwrap_or("anonymous")
        )?;
        user.id
        // The client is dropped here: the program ends.
    };
    let text = std::fs::read_to_string(path)?;
    let saved: StoredTokens = serde_json::from_str(&text)?;
    let file_had_jwt = text.contains("accessToken\"") || text.contains("eyJ");
    let file_mode = mode(path);
    writeln!(
        out,
        "   the file holds: refresh token {}, device session {}, JWT expiry {}; no JWT: {}",
        tag(&saved),
        saved.refresh_token_id,
        saved
            .access_token_expires_at
            .and_then(|t| t
                .format(&time::format_description::well_known::Rfc3339)
                .ok())
            .unwrap_or_else(|| "unknown".to_owned()),
        !file_had_jwt
    )?;
    if let Some(mode) = file_mode {
        writeln!(out, "   file mode: {mode:o}")?;
    }
    writeln!(out, "   the program exits")?;

    // 2. The program starts again: a new client over the same file.
    writeln!(
        out,
        "\n2. Second run: a new client over the same file, without signing in"
    )?;
    let client = nhost_session_reqwest::client_with_store(backend.auth_url.clone(), store(path))?;
    // The file holds no JWT, so the first use refreshes with the stored refresh token.
    client.access_token().await?;
    let user = client.user().await?;
    writeln!(
        out,
        "   resumed the session of user {} ({})",
        user.id,
        user.email.as_deref().unwrap_or("anonymous")
    )?;
    let now_saved = store(path)
        .load()
        .await?
        .ok_or("the file lost the session")?;
    let rotated = !now_saved.refresh_token.ct_eq(&saved.refresh_token);
    writeln!(
        out,
        "   the resume refreshed and saved at once: refresh token {} -> {}",
        tag(&saved),
        tag(&now_saved)
    )?;

    // 3. A corrupt file is no session, with a warning.
    let corrupt = path.with_extension("corrupt.json");
    writeln!(out, "\n3. A corrupt file: {}", corrupt.display())?;
    std::fs::write(&corrupt, b"{\"refreshToken\": \"trunc")?;
    let broken =
        nhost_session_reqwest::client_with_store(backend.auth_url.clone(), store(&corrupt))?;
    let corrupt_reads_as_none = matches!(broken.access_token().await, Err(Error::NotSignedIn));
    for warning in warnings.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        writeln!(out, "   warning: {warning}")?;
    }
    writeln!(
        out,
        "   the client found no session: {corrupt_reads_as_none}"
    )?;
    let _ = std::fs::remove_file(&corrupt);

    // 4. Signing out removes the file.
    writeln!(out, "\n4. Signing out")?;
    client.sign_out().await?;
    let file_removed = !path.exists();
    writeln!(
        out,
        "   signed out; the session file is {}",
        if file_removed { "gone" } else { "STILL THERE" }
    )?;
    writeln!(out, "\nDone.")?;
    let warnings = warnings.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(StoreReport {
        first_user_id,
        resumed_user_id: user.id,
        file_mode,
        file_had_jwt,
        rotated,
        corrupt_reads_as_none,
        warnings,
        file_removed,
    })
}

/// The credentials to sign in with: the demo user's on the embedded server, otherwise
/// `NHOST_EMAIL` and `NHOST_PASSWORD`, otherwise none (anonymous).
fn credentials(backend: &Backend) -> (Option<String>, Option<String>) {
    if backend.is_embedded() {
        return (Some(DEMO_EMAIL.to_owned()), Some(DEMO_PASSWORD.to_owned()));
    }
    match (
        std::env::var("NHOST_EMAIL"),
        std::env::var("NHOST_PASSWORD"),
    ) {
        (Ok(email), Ok(password)) => (Some(email), Some(password)),
        _ => (None, None),
    }
}
