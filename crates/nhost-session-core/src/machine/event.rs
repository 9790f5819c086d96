//! What can happen to a session: the machine's inputs.

use super::AttemptId;
use crate::error::ServerError;
use crate::protocol::Session;
use crate::store::StoredTokens;

/// An input of the machine. The time is passed beside it.
#[derive(Clone, Debug)]
pub enum Event {
    /// A sign-in (or sign-up, or redirect callback) produced a session, which the driver has
    /// tried to save.
    SignedIn {
        /// The session.
        session: Session,
        /// Whether the save worked; when it did not, the machine retries it later.
        saved: bool,
    },
    /// The store held a session at start.
    Restored(StoredTokens),
    /// A caller needs a valid access token; `force` asks for a refresh even when the current
    /// token is fresh (an explicit `refresh()`).
    TokenWanted {
        /// Refresh even if not needed, ignoring back-off.
        force: bool,
    },
    /// `POST /token` answered with a session.
    RefreshSucceeded {
        /// Which refresh.
        attempt: AttemptId,
        /// The new session.
        session: Session,
    },
    /// `POST /token` failed.
    RefreshFailed {
        /// Which refresh.
        attempt: AttemptId,
        /// How.
        failure: RefreshFailure,
    },
    /// A save the machine asked for finished.
    Persisted {
        /// Which save.
        attempt: AttemptId,
        /// Whether it worked.
        ok: bool,
    },
    /// The store was read after a rejection.
    StoreReloaded {
        /// Which refresh.
        attempt: AttemptId,
        /// What the store holds.
        stored: Option<StoredTokens>,
    },
    /// The user signed out (locally; the driver revokes at the server).
    SignedOut,
}

/// How a refresh failed.
#[derive(Clone, Debug)]
pub enum RefreshFailure {
    /// No answer, a 5xx, a 429, or an answer that could not be read: the token may be alive.
    Transient,
    /// The server said the token is dead.
    Rejected(ServerError),
}
