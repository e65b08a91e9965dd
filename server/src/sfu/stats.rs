//! Counters the media loop bumps and anyone can read without a round trip to it.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the SFU's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SfuStats {
    /// RTP packets received from publishers (after SRTP, deduplicated by str0m).
    pub packets_received: u64,
    /// RTP packets handed to subscribers (one per subscriber per packet).
    pub packets_forwarded: u64,
    /// Packets not forwarded: paused kinds, waiting for a keyframe, no codec match, stale sequence.
    pub packets_dropped: u64,
    /// Publisher packets that arrived after a later one of the same track: retransmissions answering
    /// the SFU's NACKs, or reordering on the way.
    pub packets_late: u64,
    /// Datagrams or TCP frames that no peer accepted (garbage, unknown or late peers).
    pub datagrams_unrouted: u64,
    /// Live peer connections (publishers plus subscribers).
    pub peers: u64,
}

/// The live counters; relaxed atomics because readers only want an approximate, monotonic view.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) late: AtomicU64,
    pub(crate) unrouted: AtomicU64,
    pub(crate) peers: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SfuStats {
        SfuStats {
            packets_received: self.received.load(Ordering::Relaxed),
            packets_forwarded: self.forwarded.load(Ordering::Relaxed),
            packets_dropped: self.dropped.load(Ordering::Relaxed),
            packets_late: self.late.load(Ordering::Relaxed),
            datagrams_unrouted: self.unrouted.load(Ordering::Relaxed),
            peers: self.peers.load(Ordering::Relaxed),
        }
    }
}
