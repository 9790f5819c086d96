//! Where a session is kept between program runs or requests.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::protocol::{Session, User};
use crate::secret::{AccessToken, RefreshToken};

/// What a [`TokenStore`] keeps of a session.
///
/// The refresh token, its id and the local expiry of the access token are what matters. The
/// access token and the user are handed to the store too, for formats that must write them to
/// interoperate (the `nhost-js` cookie); the project's own formats drop them, following Nhost's
/// rule that the JWT is never persisted. A restored access token is used only while it is
/// valid beyond the refresh margin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredTokens {
    /// The refresh token.
    pub refresh_token: RefreshToken,
    /// The id of the device session.
    #[serde(default)]
    pub refresh_token_id: String,
    /// When the access token expires (local clock); `None` when unknown.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub access_token_expires_at: Option<OffsetDateTime>,
    /// The access token, for formats that keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
    /// The user, for formats that keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

impl StoredTokens {
    /// What to store of a session received at `received_at` (local clock).
    pub fn from_session(session: &Session, received_at: OffsetDateTime) -> Self {
        Self {
            refresh_token: session.refresh_token.clone(),
            refresh_token_id: session.refresh_token_id.clone(),
            access_token_expires_at: Some(
                received_at
                    + time::Duration::seconds(clamp_lifetime(session.access_token_expires_in)),
            ),
            access_token: Some(session.access_token.clone()),
            user: session.user.clone(),
        }
    }

    /// Only the refresh token, its id and the expiry: what the project's own formats keep.
    pub fn without_session_data(mut self) -> Self {
        self.access_token = None;
        self.user = None;
        self
    }
}

/// A lifetime in seconds that cannot overflow time arithmetic: at most ten years.
pub(crate) fn clamp_lifetime(seconds: u64) -> i64 {
    seconds.min(10 * 365 * 24 * 3600) as i64
}

/// Why a store failed. Payloads are messages, never token values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or refused the operation (I/O, permissions, network).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// What the store holds cannot be read. Loading treats this as "no session".
    #[error("stored session is corrupt: {0}")]
    Corrupt(String),
    /// The value cannot be stored (for example too large for a cookie).
    #[error("cannot store the session: {0}")]
    Rejected(String),
}

/// Keeps a session between runs or requests: a file, a cookie, a keychain, a database row.
///
/// Implement it for your own storage; `nhost-session-cookie` has one over request cookies. The
/// client calls `save` after every sign-in and refresh (before handing out the new access
/// token), `clear` on sign-out and when the refresh token is rejected, and `load` at start and
/// when the server rejects a token (another process may have saved a newer one).
///
/// A complete store over a file, written the careful way (atomic replace, a corrupt file reads
/// as no session):
///
/// ```
/// use std::path::PathBuf;
/// use async_trait::async_trait;
/// use nhost_session_core::{StoreError, StoredTokens, TokenStore};
///
/// struct FileStore(PathBuf);
///
/// #[async_trait]
/// impl TokenStore for FileStore {
///     async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
///         match std::fs::read(&self.0) {
///             Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
///             Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
///             Err(e) => Err(StoreError::Unavailable(e.to_string())),
///         }
///     }
///
///     async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
///         // Keep what the own formats keep: never the JWT.
///         let json = serde_json::to_vec(&tokens.clone().without_session_data())
///             .map_err(|e| StoreError::Rejected(e.to_string()))?;
///         let tmp = self.0.with_extension("tmp");
///         std::fs::write(&tmp, json).map_err(|e| StoreError::Unavailable(e.to_string()))?;
///         std::fs::rename(&tmp, &self.0).map_err(|e| StoreError::Unavailable(e.to_string()))
///     }
///
///     async fn clear(&self) -> Result<(), StoreError> {
///         match std::fs::remove_file(&self.0) {
///             Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
///                 Err(StoreError::Unavailable(e.to_string()))
///             }
///             _ => Ok(()),
///         }
///     }
/// }
///
/// // The client reads the store on first use and saves every new session to it.
/// let client = nhost_session_core::AuthClient::builder(
///     nhost_session_core::AuthUrl::parse("http://127.0.0.1:4000/v1")?,
///     nhost_session_core::FnTransport::new(|_req: http::Request<Vec<u8>>| async {
///         Err(nhost_session_core::TransportError::new(
///             nhost_session_core::TransportErrorKind::Connect,
///             "offline in this example",
///         ))
///     }),
/// )
/// .store(FileStore(std::env::temp_dir().join("nhost-session-doc.json")))
/// .build();
/// # let _ = client;
/// # Ok::<(), nhost_session_core::ConfigError>(())
/// ```
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The stored session, `None` when there is none. A corrupt value should read as `None`
    /// (after a warning), not as an error: a user with a broken cookie is simply signed out.
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError>;

    /// Stores a session, replacing the previous one.
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError>;

    /// Removes the stored session.
    async fn clear(&self) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        (**self).load().await
    }
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        (**self).save(tokens).await
    }
    async fn clear(&self) -> Result<(), StoreError> {
        (**self).clear().await
    }
}

#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for Box<T> {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        (**self).load().await
    }
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        (**self).save(tokens).await
    }
    async fn clear(&self) -> Result<(), StoreError> {
        (**self).clear().await
    }
}

/// A store in memory: the session lives as long as the process. Clones share the value, so a
/// test can keep one clone to look at what the client saved.
#[derive(Clone, Debug, Default)]
pub struct MemoryTokenStore(Arc<Mutex<Option<StoredTokens>>>);

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that already holds a session.
    pub fn with_tokens(tokens: StoredTokens) -> Self {
        Self(Arc::new(Mutex::new(Some(tokens))))
    }

    /// What the store holds now.
    pub fn get(&self) -> Option<StoredTokens> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.get())
    }
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
        Ok(())
    }
    async fn clear(&self) -> Result<(), StoreError> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}
