//! Video leaves at a multiple of the send estimate, not in bursts (libwebrtc's pacer, its 2.5×).
//!
//! The encoder follows the estimate on average, but a frame leaves as a burst of packets, and a key
//! frame can be ten times an ordinary one. Into a thin link's drop-tail buffer a burst bigger than
//! the buffer loses its tail whatever the average: measured on the bench's step to 300 kbit/s (a
//! 15 kB buffer), the key frames the receiver asked for were lost again and again and the picture
//! froze for 2.8 s. Paced at 2.5× the estimate a key frame reaches the bottleneck no faster than it
//! can queue there. Audio is not paced (it is small and regular, and must not wait behind a key
//! frame), nor is RTCP. The queue is bounded in time: when it would take longer than [`MAX_DELAY`]
//! to drain, it is drained faster, as libwebrtc's pacer does.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

use super::feedback_tap::send_estimate;
use super::peer::PT_OPUS;

/// Where the interceptor sits: webrtc-rs's own pacer slot, under the generators (the NACK responder,
/// and the retransmission budget above it) and above transport-wide numbering, so the departure the
/// send history records is the release.
pub(crate) const SLOT: usize = 3_000;

/// The pacing rate as a multiple of the estimate.
const FACTOR: f64 = 2.5;
/// The most a packet waits here: beyond it the queue drains faster than the pacing rate.
const MAX_DELAY: Duration = Duration::from_secs(1);
/// Unspent budget carried over, as time at the pacing rate: a few packets go back to back.
const BURST: Duration = Duration::from_millis(5);
/// Packets queued at most (a 4 MiB key frame in 1 200-byte packets fits); more is refused.
const MAX_QUEUED: usize = 4_096;

/// A leaky bucket over queued packet sizes (pure: time and the estimate are arguments).
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    /// The queued packets, oldest first: their size in bits and when they came.
    queued: VecDeque<(f64, Instant)>,
    queued_bits: f64,
    /// Budget in bits: may go negative after a packet bigger than it.
    budget: f64,
    at: Option<Instant>,
}

impl Bucket {
    /// The rate at `now`: 2.5× the estimate, or what drains the queue by the oldest packet's
    /// deadline ([`MAX_DELAY`] after it came), whichever is faster.
    fn rate(&self, now: Instant, estimate_bps: f64) -> f64 {
        let paced = FACTOR * estimate_bps;
        let Some(&(_, oldest)) = self.queued.front() else {
            return paced;
        };
        let left = (oldest + MAX_DELAY).saturating_duration_since(now);
        paced.max(self.queued_bits / left.max(Duration::from_millis(1)).as_secs_f64())
    }

    fn refill(&mut self, now: Instant, estimate_bps: f64) {
        let rate = self.rate(now, estimate_bps);
        let elapsed = self
            .at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.budget = (self.budget + rate * elapsed.as_secs_f64()).min(rate * BURST.as_secs_f64());
        self.at = Some(now);
    }

    /// Queues a packet of `bits` that came at `now`.
    pub(crate) fn push(&mut self, now: Instant, bits: f64) {
        self.queued.push_back((bits, now));
        self.queued_bits += bits;
    }

    /// Whether the oldest queued packet may leave now; if so it is taken off the queue.
    pub(crate) fn release(&mut self, now: Instant, estimate_bps: f64) -> bool {
        self.refill(now, estimate_bps);
        match self.queued.front() {
            Some(&(bits, _)) if self.budget >= 0.0 => {
                self.queued.pop_front();
                self.queued_bits -= bits;
                self.budget -= bits;
                true
            }
            _ => false,
        }
    }

    /// When the oldest queued packet may leave, if any is queued.
    pub(crate) fn next_release(&self, estimate_bps: f64) -> Option<Instant> {
        self.queued.front()?;
        let at = self.at?;
        if self.budget >= 0.0 {
            return Some(at);
        }
        let wait = -self.budget / self.rate(at, estimate_bps);
        Some(at + Duration::from_secs_f64(wait))
    }

    pub(crate) fn len(&self) -> usize {
        self.queued.len()
    }
}

/// Holds video packets and releases them at the pacing rate.
pub(crate) struct VideoPacer {
    /// The send estimate in bits per second (0 until the first), kept by `feedback_tap.rs`.
    estimate: Arc<AtomicU32>,
    bucket: Bucket,
    /// Video packets waiting, in the bucket's order.
    held: VecDeque<TaggedPacket>,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl VideoPacer {
    pub(crate) fn new(estimate: Arc<AtomicU32>) -> Self {
        Self {
            estimate,
            bucket: Bucket::default(),
            held: VecDeque::new(),
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }

    fn estimate(&self) -> f64 {
        send_estimate(&self.estimate)
    }

    fn release(&mut self, now: Instant) {
        let estimate = self.estimate();
        while self.bucket.release(now, estimate) {
            if let Some(mut packet) = self.held.pop_front() {
                // It departs now: the send history must see the release, not the enqueue, or the wait
                // here would be read as queueing in the network.
                packet.now = now;
                self.write.push_back(packet);
            }
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for VideoPacer {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let bits = match &msg.message.packet {
            Packet::Rtp(p) if p.header.payload_type != PT_OPUS => {
                // Header, payload and the SRTP tag: near enough what the link carries.
                ((12 + 10 + p.payload.len()) * 8) as f64
            }
            _ => {
                self.write.push_back(msg);
                return Ok(());
            }
        };
        if self.bucket.len() >= MAX_QUEUED {
            tracing::debug!("pacer queue full: a video packet is dropped");
            return Ok(());
        }
        let now = msg.now;
        self.bucket.push(now, bits);
        self.held.push_back(msg);
        self.release(now);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), Self::Error> {
        self.release(now);
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.bucket.next_release(self.estimate())
    }
}

impl Interceptor for VideoPacer {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: f64 = 1_200.0 * 8.0;

    /// Pushes `packets` at `start` and releases them as the timer would; returns each one's wait.
    fn drain(bucket: &mut Bucket, start: Instant, estimate: f64, packets: usize) -> Vec<Duration> {
        for _ in 0..packets {
            bucket.push(start, PACKET);
        }
        let mut waits = Vec::new();
        let mut now = start;
        while waits.len() < packets {
            if bucket.release(now, estimate) {
                waits.push(now - start);
            } else {
                now = bucket.next_release(estimate).expect("a packet is queued");
            }
        }
        waits
    }

    #[test]
    fn a_burst_leaves_at_two_and_a_half_times_the_estimate() {
        let mut bucket = Bucket::default();
        // 10 packets (96 kbit) on a 1 Mbit/s estimate: 2.5 Mbit/s, so the last leaves after ~35 ms.
        let waits = drain(&mut bucket, Instant::now(), 1_000_000.0, 10);
        let last = waits.last().unwrap().as_secs_f64();
        assert!((0.030..0.040).contains(&last), "last left after {last} s");
        assert_eq!(
            waits[0],
            Duration::ZERO,
            "the first packet waits for nothing"
        );
    }

    #[test]
    fn a_key_frame_on_a_thin_link_waits_no_longer_than_the_bound() {
        let mut bucket = Bucket::default();
        // A 120 kB key frame on a 100 kbit/s estimate would take 3.8 s at 2.5×: it is drained within
        // the bound instead, and spread over it.
        let waits = drain(&mut bucket, Instant::now(), 100_000.0, 100);
        let last = *waits.last().unwrap();
        assert!(last <= MAX_DELAY + Duration::from_millis(2), "{last:?}");
        assert!(last >= MAX_DELAY - Duration::from_millis(20), "{last:?}");
        assert!(waits[50] >= Duration::from_millis(400), "{:?}", waits[50]);
    }

    #[test]
    fn nothing_queued_means_no_timer() {
        let mut bucket = Bucket::default();
        assert_eq!(bucket.next_release(1e6), None);
        drain(&mut bucket, Instant::now(), 1e6, 3);
        assert_eq!(bucket.next_release(1e6), None);
    }
}
