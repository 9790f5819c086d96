//! The connection to Redis: a reconnecting [`ConnectionManager`], made on first use, and a hard
//! time limit on every command.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, FromRedisValue, Pipeline};

/// Why a Redis command did not give an answer. Never holds a value or a key.
#[derive(Clone, Debug)]
pub(crate) enum Failure {
    /// No answer within the command timeout (Redis down, slow, or reconnecting).
    Timeout,
    /// Redis or the connection failed.
    Redis(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("no answer in time"),
            Self::Redis(message) => f.write_str(message),
        }
    }
}

impl From<redis::RedisError> for Failure {
    fn from(error: redis::RedisError) -> Self {
        // The error's own text: a kind, an OS error, a server message; never our values.
        Self::Redis(format!("{:?}: {error}", error.kind()))
    }
}

/// One Redis connection (multiplexed), shared by all the requests of a coordinator.
pub(crate) struct Connection {
    client: Client,
    config: ConnectionManagerConfig,
    manager: OnceLock<Result<ConnectionManager, Failure>>,
    timeout: Duration,
}

impl Connection {
    /// Nothing is connected yet: the connection is made on first use (it needs the tokio
    /// runtime, which a constructor may not have), and remade in the background after a loss.
    pub(crate) fn new(client: Client, timeout: Duration) -> Self {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // A few quick attempts per reconnection; callers never wait longer than `timeout`.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1));
        Self {
            client,
            config,
            manager: OnceLock::new(),
            timeout,
        }
    }

    fn manager(&self) -> Result<ConnectionManager, Failure> {
        self.manager
            .get_or_init(|| {
                ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                    .map_err(Failure::from)
            })
            .clone()
    }

    /// Runs one command, within the timeout.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Failure> {
        let mut manager = self.manager()?;
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut manager)).await {
            Ok(result) => result.map_err(Failure::from),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// Runs a pipeline (one round trip), within the timeout.
    pub(crate) async fn query_pipeline<T: FromRedisValue>(
        &self,
        pipeline: &Pipeline,
    ) -> Result<T, Failure> {
        let mut manager = self.manager()?;
        match tokio::time::timeout(self.timeout, pipeline.query_async::<T>(&mut manager)).await {
            Ok(result) => result.map_err(Failure::from),
            Err(_) => Err(Failure::Timeout),
        }
    }
}
