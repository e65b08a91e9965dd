//! What the application needs from the read leg of webrtc-rs's interceptor chain, taken at its
//! application end:
//! - webrtc-rs 0.21 stops inbound RTCP inside the chain, so a publisher never sees picture-loss or
//!   full-intra requests: they are marked for delivery to the application, where the encoder turns them
//!   into key frames;
//! - the congestion controller (wire-most, `estimator.rs`) attaches each new send estimate to the
//!   feedback packet that produced it: it is copied into a number the encoder follows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;

/// Where the interceptor sits in the chain: after webrtc-rs's own (which use lower slots).
pub(crate) const SLOT: usize = 14_000;

/// Passes media through; hands keyframe requests to the application and keeps the send estimate in
/// `estimate` (bits per second, 0 until the first).
pub(crate) struct FeedbackTap {
    estimate: Arc<AtomicU32>,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl FeedbackTap {
    pub(crate) fn new(estimate: Arc<AtomicU32>) -> Self {
        Self {
            estimate,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }
}

/// The send estimate the tap keeps, in bits per second; before the first feedback, what the estimator
/// starts from.
pub(crate) fn send_estimate(estimate: &AtomicU32) -> f64 {
    match estimate.load(Ordering::Relaxed) {
        0 => super::peer::INITIAL_ESTIMATE_BPS,
        bps => bps as f64,
    }
}

fn is_keyframe_request(p: &dyn rtc::rtcp::Packet) -> bool {
    let any = p.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        let estimate = Attribute::TargetBitrateChanged {
            bits_per_second: 0.0,
        };
        if let Some(Attribute::TargetBitrateChanged { bits_per_second }) =
            msg.message.get(&estimate)
        {
            let bps = bits_per_second.clamp(1.0, u32::MAX as f64) as u32;
            self.estimate.store(bps, Ordering::Relaxed);
        }
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| is_keyframe_request(p.as_ref()))
                .cloned()
                .collect();
            if requests.is_empty() {
                // Other RTCP (reports, NACKs) is the interceptors' business, not the application's.
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for FeedbackTap {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
