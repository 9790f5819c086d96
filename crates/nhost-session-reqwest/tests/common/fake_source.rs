//! A token source that hands out `t1`, `t2`, ... and counts refreshes, for tests of the
//! authenticated calls against a mock service.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use nhost_session_core::{AccessToken, Error};
use nhost_session_reqwest::BearerSource;

#[derive(Default)]
pub struct FakeSource {
    generation: Mutex<usize>,
    pub refreshes: AtomicUsize,
}

impl FakeSource {
    pub fn new() -> Self {
        Self {
            generation: Mutex::new(1),
            refreshes: AtomicUsize::new(0),
        }
    }

    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }

    fn current(&self) -> AccessToken {
        AccessToken::new(format!("t{}", self.generation.lock().unwrap()))
    }
}

#[async_trait]
impl BearerSource for FakeSource {
    async fn access_token(&self) -> Result<AccessToken, Error> {
        Ok(self.current())
    }

    async fn replace_rejected(&self, rejected: &AccessToken) -> Result<AccessToken, Error> {
        let current = self.current();
        if current != *rejected {
            return Ok(current);
        }
        // A refresh takes a moment: let other callers pile up meanwhile.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        *self.generation.lock().unwrap() += 1;
        Ok(self.current())
    }
}
