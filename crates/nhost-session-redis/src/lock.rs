//! The refresh lock of a token: `SET {prefix}:l:{fp} {owner} NX PX {ttl}`, kept alive while its
//! owner refreshes, released by compare-and-delete. An owner that dies stops extending it, and
//! it expires after at most one lock TTL.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use redis::Cmd;

use crate::connection::{Connection, Failure};

/// Deletes the lock only if it still belongs to the owner.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
                       return redis.call('del', KEYS[1]) else return 0 end";

/// Extends the lock only if it still belongs to the owner.
const EXTEND: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
                      return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/// A random owner id (128 bits, hex): tells this refresh's lock from any other's.
pub(crate) fn new_owner_id() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Failure::Redis(format!("no random owner id: {e}")))?;
    let mut id = String::with_capacity(32);
    for byte in bytes {
        let _ = write!(id, "{byte:02x}");
    }
    Ok(id)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Takes the lock if nobody holds it.
pub(crate) async fn try_acquire(
    connection: &Connection,
    key: &str,
    owner: &str,
    ttl: Duration,
) -> Result<bool, Failure> {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(owner).arg("NX").arg("PX").arg(millis(ttl));
    let answer: Option<String> = connection.query(&cmd).await?;
    Ok(answer.is_some())
}

/// The command that releases the lock if it is still the owner's.
pub(crate) fn release_cmd(key: &str, owner: &str) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(RELEASE).arg(1).arg(key).arg(owner);
    cmd
}

fn extend_cmd(key: &str, owner: &str, ttl: Duration) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(EXTEND).arg(1).arg(key).arg(owner).arg(millis(ttl));
    cmd
}

/// Extends a held lock every third of its TTL until dropped, so that a refresh slower than
/// the TTL keeps it, while a dead owner's lock still expires within one TTL.
pub(crate) struct Keeper {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Keeper {
    pub(crate) fn start(
        connection: Arc<Connection>,
        key: String,
        owner: String,
        ttl: Duration,
    ) -> Self {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Self { task: None };
        };
        let period = (ttl / 3).max(Duration::from_millis(10));
        let task = runtime.spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                match connection.query::<i64>(&extend_cmd(&key, &owner, ttl)).await {
                    Ok(1) => {}
                    // Lost (expired, or taken over): nothing left to keep.
                    Ok(_) => break,
                    Err(error) => {
                        tracing::debug!(%error, "nhost-session-redis: could not extend a refresh lock");
                    }
                }
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_ids_are_random_hex() {
        let a = new_owner_id().unwrap();
        let b = new_owner_id().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn durations_become_positive_milliseconds() {
        assert_eq!(millis(Duration::from_secs(5)), 5000);
        assert_eq!(millis(Duration::ZERO), 1);
    }
}
