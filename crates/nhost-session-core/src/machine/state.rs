//! What the machine holds.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::protocol::User;
use crate::secret::{AccessToken, RefreshToken};

/// Identifies one refresh (or one save) the machine asked for, so that a late answer to an
/// older request is recognised and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(pub u64);

/// The four states of a session, as design.md draws them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    /// No credentials.
    Anonymous,
    /// An access token valid beyond the refresh margin.
    Authenticated,
    /// One `POST /token` is in flight (or its answer is being saved); callers wait for it.
    Refreshing,
    /// The access token is past the margin, past its expiry or unknown; the refresh token is
    /// believed alive.
    Expired,
}

/// A known access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The JWT.
    pub token: AccessToken,
    /// When it expires, by the local clock (time of receipt plus its lifetime).
    pub expires_at: OffsetDateTime,
    /// When to refresh it: `expires_at` minus the margin.
    pub refresh_at: OffsetDateTime,
}

/// The credentials of a live session.
#[derive(Clone, Debug, PartialEq)]
pub struct Credentials {
    /// The current refresh token.
    pub refresh_token: RefreshToken,
    /// The device session's id.
    pub refresh_token_id: String,
    /// The access token, when one is known.
    pub access: Option<Access>,
    /// The user, when known.
    pub user: Option<Arc<User>>,
}

/// Consecutive transient failures and the earliest time of the next attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    /// Transient failures in a row.
    pub failures: u32,
    /// No refresh before this time (unless forced).
    pub not_before: Option<OffsetDateTime>,
}

/// What a refresh in flight is waiting for.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// `POST /token` was sent with this token.
    AwaitingServer {
        /// The token that was sent.
        sent: RefreshToken,
    },
    /// The server answered; the new session is being saved before anyone gets it.
    Persisting {
        /// The new session.
        next: Credentials,
    },
    /// The server rejected the token; the store is being read in case another process saved a
    /// newer one.
    CheckingStore {
        /// The rejected token.
        rejected: RefreshToken,
    },
}

/// The machine's state.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Signed out.
    Anonymous,
    /// Signed in; Authenticated or Expired depending on the time.
    Active {
        /// The session.
        credentials: Credentials,
        /// Back-off after transient failures.
        backoff: Backoff,
    },
    /// A refresh is in flight.
    Refreshing {
        /// The session as it was when the refresh started.
        credentials: Credentials,
        /// Back-off carried over.
        backoff: Backoff,
        /// This refresh's id.
        attempt: AttemptId,
        /// What it waits for.
        phase: Phase,
    },
}
