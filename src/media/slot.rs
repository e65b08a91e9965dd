//! A latest-value slot: the producer never waits and never queues; the consumer always gets the newest
//! value. Video uses it between capture and encoder and between decoder and screen, so a slow stage skips
//! frames instead of building latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Holds at most one value; a new one replaces the old (which counts as dropped).
pub struct LatestSlot<T> {
    value: Mutex<Slot<T>>,
    ready: Condvar,
    dropped: AtomicU64,
}

struct Slot<T> {
    value: Option<T>,
    closed: bool,
}

impl<T> Default for LatestSlot<T> {
    fn default() -> Self {
        Self {
            value: Mutex::new(Slot {
                value: None,
                closed: false,
            }),
            ready: Condvar::new(),
            dropped: AtomicU64::new(0),
        }
    }
}

impl<T> LatestSlot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot<T>> {
        // A poisoned slot only means a producer panicked mid-replace; the Option inside is still whole.
        self.value.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts a value, replacing (and dropping) any the consumer has not taken. Never blocks for long:
    /// the lock is held only to swap.
    pub fn put(&self, value: T) {
        let old = {
            let mut slot = self.lock();
            slot.value.replace(value)
        };
        if old.is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.ready.notify_one();
    }

    /// Takes the value if there is one.
    pub fn take(&self) -> Option<T> {
        self.lock().value.take()
    }

    /// Waits up to `timeout` for a value; None on timeout or once closed and empty.
    pub fn take_wait(&self, timeout: Duration) -> Option<T> {
        let slot = self.lock();
        let (mut slot, _) = self
            .ready
            .wait_timeout_while(slot, timeout, |s| s.value.is_none() && !s.closed)
            .unwrap_or_else(|p| p.into_inner());
        slot.value.take()
    }

    /// Wakes waiters for good: the producer is gone.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Whether [`LatestSlot::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Values replaced before anyone took them.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn keeps_only_the_newest() {
        let slot = LatestSlot::new();
        slot.put(1);
        slot.put(2);
        slot.put(3);
        assert_eq!(slot.take(), Some(3));
        assert_eq!(slot.dropped(), 2);
        assert_eq!(slot.take(), None);
    }

    #[test]
    fn waits_and_wakes() {
        let slot = Arc::new(LatestSlot::new());
        let producer = {
            let slot = slot.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                slot.put("frame");
            })
        };
        assert_eq!(slot.take_wait(Duration::from_secs(5)), Some("frame"));
        producer.join().unwrap();
        slot.close();
        assert_eq!(slot.take_wait(Duration::from_secs(5)), None);
    }
}
