//! Sharing refreshes between the requests of a server, and between server instances.
//!
//! A server-side adapter (the actix middleware) does not hold one session: it sees many
//! browsers, each presenting its refresh token in a cookie. When a page fires parallel
//! requests, they all carry the same token, and since the auth service kills a token at its
//! first refresh, only one of them may refresh. A [`RefreshCoordinator`] decides, for a
//! presented token, whether a known session can be used, or whether to refresh, once for all
//! callers. Its outcome stays available under the OLD token for a grace period (the browser
//! may still send it on requests that left before the new cookie arrived) and under the NEW
//! token until its access token nears expiry (so page loads within one JWT lifetime make no
//! auth call).
//!
//! The actix adapter has an in-process coordinator; `nhost-session-redis` has one shared by
//! several instances. Implementations key everything by [`TokenFingerprint`], never by token.
//!
//! [`TokenFingerprint`]: crate::TokenFingerprint

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::api::AuthApi;
use crate::error::Error;
use crate::protocol::{Session, User};
use crate::secret::{AccessToken, RefreshToken};
use crate::store::{StoredTokens, clamp_lifetime};
use crate::transport::HttpTransport;

/// A session as a server keeps it for one browser: the newest tokens and the user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedSession {
    /// The access token.
    pub access_token: AccessToken,
    /// Its local expiry (time of receipt plus its lifetime).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The newest refresh token.
    pub refresh_token: RefreshToken,
    /// The device session's id.
    pub refresh_token_id: String,
    /// The user.
    #[serde(default)]
    pub user: Option<User>,
}

impl SharedSession {
    /// The session of an auth answer received at `received_at`.
    pub fn from_session(session: Session, received_at: OffsetDateTime) -> Self {
        Self {
            expires_at: received_at
                + time::Duration::seconds(clamp_lifetime(session.access_token_expires_in)),
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            refresh_token_id: session.refresh_token_id,
            user: session.user,
        }
    }

    /// Whether the access token is valid for at least `margin` more at `now`.
    pub fn is_fresh(&self, now: OffsetDateTime, margin: time::Duration) -> bool {
        now + margin < self.expires_at
    }

    /// What a token store keeps of it.
    pub fn stored_tokens(&self) -> StoredTokens {
        StoredTokens {
            refresh_token: self.refresh_token.clone(),
            refresh_token_id: self.refresh_token_id.clone(),
            access_token_expires_at: Some(self.expires_at),
            access_token: Some(self.access_token.clone()),
            user: self.user.clone(),
        }
    }
}

/// What a coordinator found for a presented refresh token.
#[derive(Clone, Debug)]
pub enum Resolution {
    /// A valid session; its `refresh_token` differs from the presented one when it was
    /// refreshed (the caller must then send the new token back to the browser).
    Session(Arc<SharedSession>),
    /// The auth service rejected the token: the session has ended.
    Rejected,
    /// The session could not be resolved now (the auth service is unreachable, a refresh
    /// elsewhere is taking too long): keep the token, try later.
    Unavailable(Error),
}

/// Calls `POST /token`. [`AuthApi`] is one; tests and coordinators may wrap it.
#[async_trait]
pub trait Refresher: Send + Sync {
    /// Exchanges a refresh token for a new session.
    async fn refresh(&self, token: &RefreshToken) -> Result<Session, Error>;
}

#[async_trait]
impl<T: HttpTransport> Refresher for AuthApi<T> {
    async fn refresh(&self, token: &RefreshToken) -> Result<Session, Error> {
        AuthApi::refresh(self, token).await
    }
}

/// Decides, for a presented refresh token, between a known session and one refresh shared by
/// all callers. See the [module documentation](self).
#[async_trait]
pub trait RefreshCoordinator: Send + Sync {
    /// The session for `presented`. At most one `POST /token` per presented token runs at a
    /// time across everything this coordinator covers; concurrent callers share its outcome.
    async fn resolve(&self, presented: &RefreshToken, refresher: &dyn Refresher) -> Resolution;

    /// What is already known about `presented`, answered at once, without waiting, locking
    /// out other callers or any I/O: a fresh session (its own, or its successor's within the
    /// grace period), or `Rejected` for a token known to be dead. `None` when only
    /// [`resolve`](Self::resolve) can tell, which it then must be asked.
    ///
    /// Adapters call this first on every request, so that the common case, a known fresh
    /// session, costs a look-up and no task or future; only the rest goes to `resolve`
    /// (which an adapter may run on a task of its own, so that a refresh outlives a dropped
    /// request). An answer given here must be one `resolve` would have given at the same
    /// moment. The default knows nothing; a coordinator whose knowledge lives elsewhere (in
    /// Redis) keeps it.
    fn resolve_known(&self, presented: &RefreshToken) -> Option<Resolution> {
        let _ = presented;
        None
    }

    /// Remembers a session that started elsewhere (a sign-in), so that the next request with
    /// its token makes no auth call.
    async fn remember(&self, session: Arc<SharedSession>);

    /// Forgets everything known under a token (a sign-out).
    async fn forget(&self, token: &RefreshToken);
}

#[async_trait]
impl<C: RefreshCoordinator + ?Sized> RefreshCoordinator for Arc<C> {
    async fn resolve(&self, presented: &RefreshToken, refresher: &dyn Refresher) -> Resolution {
        (**self).resolve(presented, refresher).await
    }
    fn resolve_known(&self, presented: &RefreshToken) -> Option<Resolution> {
        (**self).resolve_known(presented)
    }
    async fn remember(&self, session: Arc<SharedSession>) {
        (**self).remember(session).await
    }
    async fn forget(&self, token: &RefreshToken) {
        (**self).forget(token).await
    }
}
