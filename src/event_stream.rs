//! [`EventStream`]: how a [`crate::Session`], [`crate::Publisher`] or [`crate::Subscriber`] hands out its
//! events. Each receiver has a bounded buffer; one that falls behind skips the oldest events (with a log
//! line) and goes on, rather than holding the sender back or stopping for good.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

/// A stream of events of type `T`. Ends (None) when the object that sends them is gone.
///
/// ```no_run
/// # async fn run(session: otter_rtc::Session) {
/// let mut events = session.events();
/// while let Some(event) = events.recv().await {
///     println!("{event:?}");
/// }
/// # }
/// ```
pub struct EventStream<T> {
    inner: BroadcastStream<T>,
}

impl<T: Clone + Send + 'static> EventStream<T> {
    pub(crate) fn new(receiver: broadcast::Receiver<T>) -> Self {
        Self {
            inner: BroadcastStream::new(receiver),
        }
    }

    /// The next event; None once the sender is gone. Events a slow receiver missed are skipped.
    pub async fn recv(&mut self) -> Option<T> {
        futures_util::StreamExt::next(self).await
    }

    /// An event already waiting, without waiting for one.
    pub fn try_recv(&mut self) -> Option<T> {
        futures_util::FutureExt::now_or_never(self.recv()).flatten()
    }
}

impl<T: Clone + Send + 'static> Stream for EventStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                    tracing::warn!(skipped = n, "event receiver fell behind; skipped events");
                }
                Poll::Ready(Some(Ok(e))) => return Poll::Ready(Some(e)),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T> std::fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventStream")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer flooded past its buffer skips what it missed and keeps receiving.
    #[tokio::test]
    async fn a_lagging_receiver_skips_and_goes_on() {
        let (tx, rx) = broadcast::channel(4);
        let mut events = EventStream::new(rx);
        for i in 0..100 {
            tx.send(i).unwrap();
        }
        // The four newest survive; the rest were skipped, not fatal.
        assert_eq!(events.recv().await, Some(96));
        tx.send(100).unwrap();
        assert_eq!(events.recv().await, Some(97));
        for want in [98, 99, 100] {
            assert_eq!(events.recv().await, Some(want));
        }
        drop(tx);
        assert_eq!(events.recv().await, None);
    }
}
