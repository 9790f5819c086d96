//! Single flight per token fingerprint: the first caller does the work, the others wait for
//! its result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_channel::oneshot;
use futures_util::FutureExt as _;
use futures_util::future::Shared;
use nhost_session_core::TokenFingerprint;

type Flight<T> = Shared<oneshot::Receiver<T>>;
type Map<T> = Arc<Mutex<HashMap<TokenFingerprint, Flight<T>>>>;

/// Work in flight, by token fingerprint.
pub(crate) struct Flights<T: Clone> {
    map: Map<T>,
}

impl<T: Clone> Default for Flights<T> {
    fn default() -> Self {
        Self {
            map: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// What a caller of [`Flights::join`] does.
pub(crate) enum Join<T: Clone> {
    /// Wait for the leader's result (`Err` when the leader vanished without one).
    Wait(Flight<T>),
    /// Do the work, then [`Guard::finish`].
    Lead(Guard<T>),
}

impl<T: Clone> Flights<T> {
    fn lock(map: &Map<T>) -> MutexGuard<'_, HashMap<TokenFingerprint, Flight<T>>> {
        map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn join(&self, fp: TokenFingerprint) -> Join<T> {
        let mut map = Self::lock(&self.map);
        if let Some(flight) = map.get(&fp) {
            return Join::Wait(flight.clone());
        }
        let (sender, receiver) = oneshot::channel();
        map.insert(fp, receiver.shared());
        Join::Lead(Guard {
            map: Arc::clone(&self.map),
            fp,
            sender: Some(sender),
        })
    }
}

/// Held by the leader; the flight ends when it finishes or is dropped (its waiters then get
/// `Err(Canceled)`).
pub(crate) struct Guard<T: Clone> {
    map: Map<T>,
    fp: TokenFingerprint,
    sender: Option<oneshot::Sender<T>>,
}

impl<T: Clone> Guard<T> {
    pub(crate) fn finish(mut self, result: T) {
        self.leave();
        if let Some(sender) = self.sender.take() {
            let _ = sender.send(result);
        }
    }

    fn leave(&self) {
        Flights::lock(&self.map).remove(&self.fp);
    }
}

impl<T: Clone> Drop for Guard<T> {
    fn drop(&mut self) {
        if self.sender.is_some() {
            self.leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use nhost_session_core::RefreshToken;

    use super::*;

    #[test]
    fn one_leads_the_others_wait_and_an_abandoned_flight_ends() {
        let flights = Flights::<u32>::default();
        let fp = TokenFingerprint::of(&RefreshToken::new("t"));
        let Join::Lead(guard) = flights.join(fp) else {
            panic!("first leads")
        };
        let Join::Wait(waiter) = flights.join(fp) else {
            panic!("second waits")
        };
        guard.finish(7);
        assert_eq!(futures_util::FutureExt::now_or_never(waiter), Some(Ok(7)));
        let Join::Lead(guard) = flights.join(fp) else {
            panic!("a new flight")
        };
        let Join::Wait(waiter) = flights.join(fp) else {
            panic!("waits")
        };
        drop(guard);
        assert!(matches!(
            futures_util::FutureExt::now_or_never(waiter),
            Some(Err(_))
        ));
        assert!(matches!(flights.join(fp), Join::Lead(_)));
    }
}
