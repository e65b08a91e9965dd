//! What the SFU tells the rest of the server on its own initiative: media that died without anyone
//! asking (ICE failed, the peer went silent, it never connected), which the hub turns into
//! `stream_destroyed(media_stopped)` and clean-up, so no stream stays announced without media; and which
//! simulcast layers are wanted, which the hub passes to the publisher.

use tokio::sync::mpsc;

/// Events queued towards the hub before new ones are dropped (and counted).
pub(crate) const EVENT_QUEUE: usize = 1024;

/// Media that ended without a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfuEvent {
    /// A publisher's peer is gone; the key is the one given to [`super::Sfu::publish`].
    PublisherGone(String),
    /// A subscriber's peer is gone (its own failure, or its publisher's); the key given to
    /// [`super::Sfu::subscribe`].
    SubscriberGone(String),
    /// Which of a simulcast publisher's video layers some subscriber wants (bit `l` = layer `l`, 0 the
    /// best); the publisher may pause the others. Sent on a change and every few seconds.
    LayersWanted {
        /// The key given to [`super::Sfu::publish`].
        stream: String,
        /// The layers wanted; the lowest is always among them.
        layers: u8,
    },
}

/// The sending side, kept by the media task.
pub(crate) struct Events {
    tx: mpsc::Sender<SfuEvent>,
}

impl Events {
    pub(crate) fn new() -> (Self, mpsc::Receiver<SfuEvent>) {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        (Self { tx }, rx)
    }

    /// Never blocks the media task: with the queue full (nobody listening), the event is dropped.
    pub(crate) fn send(&self, event: SfuEvent) {
        if let Err(mpsc::error::TrySendError::Full(e)) = self.tx.try_send(event) {
            tracing::warn!(event = ?e, "SFU event queue full; event dropped");
        }
    }
}
