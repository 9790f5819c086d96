//! [`FileTokenStore`]: a [`TokenStore`] that keeps the session in a file, for CLIs and
//! daemons that must survive a restart.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use nhost_session_core::{StoreError, StoredTokens, TokenStore};

type WarningHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Keeps the refresh token, its id and the access token's expiry in a JSON file (never the
/// JWT: a restarted program refreshes once to get a new one).
///
/// - Writes are atomic: a new file is written beside the old one, flushed to disk, then
///   renamed over it, so a crash leaves the old session or the new one, never half of one.
/// - The file is created with mode `0600` (owner only) on Unix; its folder, when created
///   here, with `0700`.
/// - A file that cannot be parsed reads as "no session", with a warning, rather than an
///   error: the user simply signs in again, and the next save replaces the file.
///
/// The file operations are small and run inline; a store on a slow network file system would
/// move them to `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    warn: WarningHook,
}

impl fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTokenStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileTokenStore {
    /// A store in the file at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            warn: Arc::new(|message| tracing::warn!("{message}")),
        }
    }

    /// Where warnings go (a corrupt file); by default to `tracing` at level `warn`.
    #[must_use]
    pub fn on_warning(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.warn = Arc::new(hook);
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn temp_path(&self) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = self
            .path
            .file_name()
            .map_or_else(|| "session".into(), |n| n.to_string_lossy().into_owned());
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.path
            .with_file_name(format!(".{name}.{}.{unique}.tmp", std::process::id()))
    }

    fn write_atomically(&self, bytes: &[u8]) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let temp = self.temp_path();
        let result = (|| {
            let mut file = create_private_file(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&temp, &self.path)?;
            sync_parent(&self.path);
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Makes the rename durable (best effort: not every platform can open a folder).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .and_then(|d| fs::File::open(d).ok())
    {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "{}: {e}",
                    self.path.display()
                )));
            }
        };
        match serde_json::from_slice::<StoredTokens>(&bytes) {
            Ok(tokens) => Ok(Some(tokens)),
            Err(e) => {
                // Say where the file is broken, never what it holds.
                (self.warn)(&format!(
                    "the session file {} is corrupt ({:?} error at line {}, column {}); treating it as no session",
                    self.path.display(),
                    e.classify(),
                    e.line(),
                    e.column()
                ));
                Ok(None)
            }
        }
    }

    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(&tokens.clone().without_session_data())
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        self.write_atomically(&bytes)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", self.path.display())))
    }

    async fn clear(&self) -> Result<(), StoreError> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Unavailable(format!(
                "{}: {e}",
                self.path.display()
            ))),
            _ => Ok(()),
        }
    }
}
