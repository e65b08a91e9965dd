//! Retransmissions within a share of the send estimate, as libwebrtc's retransmission rate limiter
//! keeps them.
//!
//! webrtc-rs answers every NACK in full, and its transport-wide sequence numbers go only on the
//! media SSRCs it bound, not on the RTX SSRC: retransmissions take the link without the congestion
//! controller ever seeing them. On a congested uplink that is a spiral — the SFU asks for what the
//! full queue dropped, the answers fill the queue, more is dropped. Measured on the bench's step from
//! 2 Mbit/s to 300 kbit/s: 64 of the 130 packets a second sent arrived, the rest of the 300 kbit/s
//! was retransmissions, and the estimate, cut again and again from what it saw arrive, fell to
//! 65 kbit/s. Here retransmissions spend a token bucket filled at [`SHARE`] of the estimate (the
//! headroom the encoder leaves, `publisher/congestion.rs`); what does not fit is not sent, and the
//! receiver's frame assembler gives up on that frame and asks for a key frame.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

use super::feedback_tap::send_estimate;

/// Where the interceptor sits: under the NACK responder (4 000), which emits retransmissions, and
/// above webrtc-rs's transport-wide numbering (2 000) and send history (1 000).
pub(crate) const SLOT: usize = 3_500;

/// The share of the send estimate retransmissions may take.
const SHARE: f64 = 0.15;
/// How much unspent budget is kept: a burst of answers to one NACK (a lost run) goes out at once.
const DEPTH: Duration = Duration::from_millis(250);
/// The bucket holds at least this many bytes, so a thin link can still repair a packet or two.
const MIN_DEPTH_BYTES: f64 = 2_400.0;

/// A token bucket in bytes, filled at a share of the estimate (pure: time and the estimate are
/// arguments).
#[derive(Debug)]
pub(crate) struct Budget {
    tokens: f64,
    filled_at: Option<Instant>,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Self {
            tokens: MIN_DEPTH_BYTES,
            filled_at: None,
        }
    }

    /// Whether a retransmission of `bytes` may go now, spending the budget if so.
    pub(crate) fn admit(&mut self, now: Instant, estimate_bps: f64, bytes: usize) -> bool {
        let rate = SHARE * estimate_bps / 8.0;
        let elapsed = self
            .filled_at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        let depth = (rate * DEPTH.as_secs_f64()).max(MIN_DEPTH_BYTES);
        self.tokens = (self.tokens + rate * elapsed.as_secs_f64()).min(depth);
        self.filled_at = Some(now);
        let bytes = bytes as f64;
        if self.tokens < bytes {
            return false;
        }
        self.tokens -= bytes;
        true
    }
}

/// Passes everything through but retransmissions over the budget.
pub(crate) struct RetransmissionBudget {
    /// The send estimate in bits per second (0 until the first), kept by `feedback_tap.rs`.
    estimate: Arc<AtomicU32>,
    budget: Budget,
    /// Retransmissions not sent, for the log.
    refused: u64,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl RetransmissionBudget {
    pub(crate) fn new(estimate: Arc<AtomicU32>) -> Self {
        Self {
            estimate,
            budget: Budget::new(),
            refused: 0,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for RetransmissionBudget {
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
        let retransmission = match &msg.message.packet {
            Packet::Rtp(packet) if msg.message.has(&Attribute::Retransmission) => {
                Some(12 + packet.payload.len())
            }
            _ => None,
        };
        // RTP header and payload; the rest of a packet's overhead is alike for all of them.
        if let Some(bytes) = retransmission {
            let estimate = send_estimate(&self.estimate);
            if !self.budget.admit(msg.now, estimate, bytes) {
                self.refused += 1;
                if self.refused.is_power_of_two() {
                    tracing::debug!(
                        refused = self.refused,
                        estimate,
                        "retransmissions over budget"
                    );
                }
                return Ok(());
            }
        }
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for RetransmissionBudget {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offers `bytes`-sized retransmissions every `every` for `seconds`; returns the bytes let through.
    fn offered(
        budget: &mut Budget,
        start: Instant,
        estimate: f64,
        every: Duration,
        seconds: u64,
    ) -> f64 {
        let mut sent = 0.0;
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(seconds) {
            if budget.admit(start + t, estimate, 1_200) {
                sent += 1_200.0;
            }
            t += every;
        }
        sent
    }

    #[test]
    fn a_storm_of_retransmissions_gets_its_share_and_no_more() {
        let (mut budget, start) = (Budget::new(), Instant::now());
        // 300 kbit/s of estimate, 1.2 Mbit/s of retransmissions asked for, for 10 s.
        let sent = offered(&mut budget, start, 300_000.0, Duration::from_millis(8), 10);
        let rate = sent * 8.0 / 10.0;
        assert!(
            (40_000.0..50_000.0).contains(&rate),
            "{rate} bit/s let through"
        );
    }

    #[test]
    fn occasional_repairs_all_go() {
        let (mut budget, start) = (Budget::new(), Instant::now());
        // 5 % of a 2 Mbit/s stream lost and asked for again: about 10 packets a second.
        let sent = offered(
            &mut budget,
            start,
            2_000_000.0,
            Duration::from_millis(100),
            10,
        );
        assert_eq!(sent, 100.0 * 1_200.0);
    }

    #[test]
    fn a_thin_link_still_repairs_a_lost_packet() {
        let (mut budget, start) = (Budget::new(), Instant::now());
        // 40 kbit/s: 6 kbit/s of budget; one packet a second fits, two at once fit too.
        assert!(budget.admit(start, 40_000.0, 1_200));
        assert!(budget.admit(start, 40_000.0, 1_200));
        assert!(!budget.admit(start, 40_000.0, 1_200));
        assert!(budget.admit(start + Duration::from_secs(2), 40_000.0, 1_200));
    }
}
