//! [`AutoRefresh`]: a tokio task that keeps a session's access token fresh.

use std::time::Duration;

use nhost_session_core::{
    AuthClient, Clock, Error, HttpTransport, SessionEvent, SignOutReason, Subscription, TokenStore,
};
use time::OffsetDateTime;
use tokio::task::JoinHandle;

/// How an [`AutoRefresh`] task schedules itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AutoRefreshOptions {
    /// The longest the task sleeps before looking at the clock again, even when the next
    /// refresh is further away. Tokio's timers run on a monotonic clock that stands still
    /// while the machine is suspended and ignores wall-clock changes, while token expiry is
    /// wall-clock time: this bound makes the task notice such jumps. Default 60 s.
    pub recheck_interval: Duration,
    /// The pause after an attempt that left a refresh still due at once (which the session's
    /// back-off normally prevents), so that the task can never spin. Default 1 s.
    pub min_retry_delay: Duration,
}

impl Default for AutoRefreshOptions {
    fn default() -> Self {
        Self {
            recheck_interval: Duration::from_secs(60),
            min_retry_delay: Duration::from_secs(1),
        }
    }
}

impl AutoRefreshOptions {
    /// Sets [`recheck_interval`](Self::recheck_interval).
    pub fn recheck_interval(mut self, interval: Duration) -> Self {
        self.recheck_interval = interval;
        self
    }

    /// Sets [`min_retry_delay`](Self::min_retry_delay).
    pub fn min_retry_delay(mut self, delay: Duration) -> Self {
        self.min_retry_delay = delay;
        self
    }
}

/// Why an [`AutoRefresh`] task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AutoRefreshExit {
    /// The session ended: signed out, or the refresh token was rejected.
    SessionEnded(SignOutReason),
    /// The task was stopped, or its runtime shut down, or it panicked.
    Cancelled,
}

/// A background task that refreshes a session ahead of its access token's expiry, for
/// long-running programs (daemons, CLIs that stay up, workers).
///
/// The task sleeps until [`AuthClient::next_refresh_at`] (the expiry minus the refresh
/// margin and its per-session random jitter, or the end of the back-off after a transient
/// failure), then asks the client for an access token, which refreshes it. It goes through
/// the client's single flight, so it never runs a refresh beside another caller's: whoever
/// comes second shares the first one's `POST /token`. After each session event it looks at
/// the schedule again.
///
/// - Transient failures (network, 5xx, 429) keep the session; the client's back-off decides
///   when the task tries again, with jitter.
/// - The task ends when the session ends (sign-out, or a rejected refresh token); start a new
///   one for the next session. Started without a session, it first loads the store (as any
///   first use of the client does) and otherwise waits for a sign-in.
/// - Dropping the handle stops the task ([`detach`](Self::detach) lets it run on its own).
///
/// Needs a tokio runtime (with the time driver).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use nhost_session_reqwest::AutoRefresh;
///
/// let client = nhost_session_reqwest::client("https://myapp.auth.eu-central-1.nhost.run/v1")?;
/// client.sign_in_email_password("me@example.com", "secret").await?;
/// let refresher = AutoRefresh::spawn(&client);
/// // ... the session stays fresh while `refresher` lives ...
/// drop(refresher);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "dropping the handle stops the task; call .detach() to let it run"]
pub struct AutoRefresh {
    task: Option<JoinHandle<AutoRefreshExit>>,
}

impl AutoRefresh {
    /// Starts the task with the default options.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn spawn<T, S, C>(client: &AuthClient<T, S, C>) -> Self
    where
        T: HttpTransport + 'static,
        S: TokenStore + 'static,
        C: Clock + 'static,
    {
        Self::spawn_with(client, AutoRefreshOptions::default())
    }

    /// Starts the task.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn spawn_with<T, S, C>(client: &AuthClient<T, S, C>, options: AutoRefreshOptions) -> Self
    where
        T: HttpTransport + 'static,
        S: TokenStore + 'static,
        C: Clock + 'static,
    {
        // Subscribe before the task runs, so that no event between now and then is missed.
        let events = client.subscribe();
        let task = tokio::spawn(run(client.clone(), events, options));
        Self { task: Some(task) }
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the task to end by itself, which it does when the session ends.
    pub async fn join(mut self) -> AutoRefreshExit {
        match self.task.take() {
            Some(task) => task.await.unwrap_or(AutoRefreshExit::Cancelled),
            None => AutoRefreshExit::Cancelled,
        }
    }

    /// Stops the task (as dropping the handle does). A refresh it started goes on for the
    /// callers that share it; none of them sees a difference.
    pub fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Lets the task run without the handle, until the session ends or the runtime stops.
    pub fn detach(mut self) {
        self.task = None;
    }
}

impl Drop for AutoRefresh {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// What the task does next.
enum Next {
    /// Refresh now.
    Refresh,
    /// Sleep this long (or until an event).
    Sleep(Duration),
}

async fn run<T, S, C>(
    client: AuthClient<T, S, C>,
    mut events: Subscription,
    options: AutoRefreshOptions,
) -> AutoRefreshExit
where
    T: HttpTransport + 'static,
    S: TokenStore + 'static,
    C: Clock + 'static,
{
    // The first use loads the stored session; a token that is due is refreshed at once.
    if let Some(exit) = attempt(&client).await {
        return exit;
    }
    loop {
        let next = match client.next_refresh_at() {
            // No session, or a refresh in flight: the next event tells what happened.
            None => Next::Sleep(options.recheck_interval),
            Some(at) => until(client.clock().now(), at).map_or(Next::Refresh, |wait| {
                Next::Sleep(wait.min(options.recheck_interval))
            }),
        };
        let pause = match next {
            Next::Refresh => {
                if let Some(exit) = attempt(&client).await {
                    return exit;
                }
                let still_due = client
                    .next_refresh_at()
                    .is_some_and(|at| until(client.clock().now(), at).is_none());
                if !still_due {
                    continue;
                }
                options.min_retry_delay
            }
            Next::Sleep(wait) => wait,
        };
        tokio::select! {
            event = events.recv() => match event {
                Some(SessionEvent::SignedOut { reason }) => {
                    return AutoRefreshExit::SessionEnded(reason);
                }
                Some(_) => {}
                // The client is gone (cannot happen while the task holds a clone).
                None => return AutoRefreshExit::Cancelled,
            },
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// How long until `at`, or `None` when it is due.
fn until(now: OffsetDateTime, at: OffsetDateTime) -> Option<Duration> {
    let left = at - now;
    if left <= time::Duration::ZERO {
        return None;
    }
    Some(Duration::try_from(left).unwrap_or(Duration::MAX))
}

/// Asks for a token (refreshing it when due); `Some` when the session has ended.
async fn attempt<T, S, C>(client: &AuthClient<T, S, C>) -> Option<AutoRefreshExit>
where
    T: HttpTransport + 'static,
    S: TokenStore + 'static,
    C: Clock + 'static,
{
    match client.access_token().await {
        Ok(_) | Err(Error::NotSignedIn) => None,
        Err(e) if e.ends_session() => Some(AutoRefreshExit::SessionEnded(
            SignOutReason::RefreshTokenRejected,
        )),
        Err(e) if e.is_transient() => {
            tracing::debug!(error = %e, "nhost-session: auto-refresh deferred");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "nhost-session: auto-refresh failed");
            None
        }
    }
}
