//! `VideoSink`: the latest decoded frame of a stream, for whoever draws it. Never a queue: a slow reader
//! sees the newest frame and skips the rest.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use otter_media::VideoFrame;
use tokio::sync::Notify;

/// Holds the newest frame and a counter of frames delivered.
#[derive(Default)]
pub struct VideoSink {
    frame: Mutex<Option<Arc<VideoFrame>>>,
    delivered: AtomicU64,
    changed: Notify,
}

impl VideoSink {
    /// An empty sink.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Replaces the frame (the decoder calls this).
    pub fn put(&self, frame: VideoFrame) {
        self.put_shared(Arc::new(frame));
    }

    /// Replaces the frame with one shared with another stage (the publisher's preview and encoder).
    pub fn put_shared(&self, frame: Arc<VideoFrame>) {
        *self.frame.lock().unwrap_or_else(|p| p.into_inner()) = Some(frame);
        self.delivered.fetch_add(1, Ordering::Release);
        self.changed.notify_waiters();
    }

    /// The newest frame, if any. Cheap: a reference count.
    pub fn latest(&self) -> Option<Arc<VideoFrame>> {
        self.frame.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many frames have been put so far; a changed value means a new frame.
    pub fn frame_count(&self) -> u64 {
        self.delivered.load(Ordering::Acquire)
    }

    /// Waits until the count passes `seen`, then returns the newest frame and the count.
    pub async fn next_after(&self, seen: u64) -> (Arc<VideoFrame>, u64) {
        loop {
            let notified = self.changed.notified();
            let count = self.frame_count();
            if count > seen {
                if let Some(f) = self.latest() {
                    return (f, count);
                }
            }
            notified.await;
        }
    }
}
