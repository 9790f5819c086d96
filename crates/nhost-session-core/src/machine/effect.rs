//! What the machine asks its driver to do: the machine's outputs.

use time::OffsetDateTime;

use super::AttemptId;
use crate::protocol::User;
use crate::secret::{AccessToken, RefreshToken};
use crate::store::StoredTokens;

/// An action for the driver, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send `POST /token` with this token and report the outcome with the attempt id.
    SendRefresh {
        /// Which refresh.
        attempt: AttemptId,
        /// The token to send.
        refresh_token: RefreshToken,
    },
    /// Save these tokens and report with [`Event::Persisted`](super::Event::Persisted).
    Persist {
        /// Which save.
        attempt: AttemptId,
        /// What to save.
        tokens: StoredTokens,
    },
    /// Read the store and report with [`Event::StoreReloaded`](super::Event::StoreReloaded).
    ReloadStore {
        /// Which refresh.
        attempt: AttemptId,
    },
    /// Remove the stored session.
    ClearStore,
    /// Tell subscribers.
    Publish(SessionEvent),
}

/// The answer to [`Event::TokenWanted`](super::Event::TokenWanted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenAnswer {
    /// Here is a valid token.
    Ready(AccessToken),
    /// Wait for this refresh, then ask again.
    Wait(AttemptId),
    /// There is no session.
    NotSignedIn,
    /// Refreshing is in back-off and the token has expired; try again after this time.
    Backoff(OffsetDateTime),
}

/// A change of the session that subscribers hear about.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "events are short-lived; boxing would cost an allocation each"
)]
pub enum SessionEvent {
    /// A session started (sign-in, sign-up, redirect callback).
    SignedIn {
        /// The user, when known.
        user: Option<User>,
    },
    /// A session was restored from the store.
    Restored,
    /// The tokens were refreshed (and saved).
    TokenRefreshed {
        /// The new access token's local expiry.
        expires_at: OffsetDateTime,
    },
    /// A refresh failed transiently; the session is kept.
    RefreshDeferred {
        /// Failures in a row.
        failures: u32,
        /// When the next attempt may happen.
        retry_at: OffsetDateTime,
    },
    /// Saving the session failed; the session is kept in memory and the save is retried.
    StoreFailed,
    /// The session ended.
    SignedOut {
        /// Why.
        reason: SignOutReason,
    },
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignOutReason {
    /// The program asked for it.
    Requested,
    /// The auth service rejected the refresh token (revoked, expired, or replaced elsewhere).
    RefreshTokenRejected,
}
