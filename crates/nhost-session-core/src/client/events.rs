//! Subscriptions to session changes, without any particular runtime.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_util::{Stream, StreamExt};

use crate::machine::SessionEvent;

/// A stream of [`SessionEvent`]s, from [`AuthClient::subscribe`](crate::AuthClient::subscribe).
/// Dropping it unsubscribes. Events are buffered, so a slow reader loses none.
#[derive(Debug)]
pub struct Subscription(UnboundedReceiver<SessionEvent>);

impl Subscription {
    /// The next event; `None` once the client is gone.
    pub async fn recv(&mut self) -> Option<SessionEvent> {
        self.0.next().await
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<SessionEvent> {
        self.0.try_recv().ok()
    }
}

impl Stream for Subscription {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

/// The subscribers of one client.
#[derive(Debug, Default)]
pub(crate) struct Subscribers(Mutex<Vec<UnboundedSender<SessionEvent>>>);

impl Subscribers {
    pub(crate) fn subscribe(&self) -> Subscription {
        let (sender, receiver) = unbounded();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sender);
        Subscription(receiver)
    }

    /// Sends to every live subscriber and forgets the ones that are gone.
    pub(crate) fn publish(&self, event: &SessionEvent) {
        let mut senders = self.0.lock().unwrap_or_else(|e| e.into_inner());
        senders.retain(|sender| sender.unbounded_send(event.clone()).is_ok());
    }
}
