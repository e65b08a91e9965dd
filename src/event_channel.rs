//! A broadcast channel of events whose first receiver exists from the start, so the events sent while an
//! object is being set up (a publisher's missing-device errors, a subscriber's `connected`) reach the first
//! `events()` call instead of being lost.

use std::sync::Mutex;

use tokio::sync::broadcast;

/// Events buffered per receiver before a slow one starts skipping.
const CAPACITY: usize = 64;

pub(crate) struct EventChannel<T> {
    tx: broadcast::Sender<T>,
    first: Mutex<Option<broadcast::Receiver<T>>>,
}

impl<T: Clone> EventChannel<T> {
    pub(crate) fn new() -> Self {
        let (tx, first) = broadcast::channel(CAPACITY);
        Self {
            tx,
            first: Mutex::new(Some(first)),
        }
    }

    /// The sending side, for tasks.
    pub(crate) fn sender(&self) -> broadcast::Sender<T> {
        self.tx.clone()
    }

    /// Sends to every receiver (none is fine).
    pub(crate) fn send(&self, event: T) {
        let _ = self.tx.send(event);
    }

    /// The first call gets everything sent so far; later calls get what comes after them.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<T> {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        first.unwrap_or_else(|| self.tx.subscribe())
    }
}
