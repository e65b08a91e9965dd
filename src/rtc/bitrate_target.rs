//! The congestion controller's estimate, out of webrtc-rs's interceptor chain. The controller (GCC over
//! the SFU's transport-wide feedback, wire-most in the chain) attaches each new target to the feedback
//! packet that produced it; this interceptor, near the application end, copies it into a number the publisher's
//! encoder follows. Nothing else is changed on the way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

/// Where it sits: just wire-ward of the keyframe feedback (14 000), which keeps only keyframe
/// requests of the RTCP it reads; the estimate rides on transport-wide feedback and must be read first.
pub(crate) const SLOT: usize = 13_900;

/// Copies `TargetBitrateChanged` into `target` (bits per second; 0 until the first estimate).
pub(crate) struct BitrateTarget {
    target: Arc<AtomicU32>,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl BitrateTarget {
    pub(crate) fn new(target: Arc<AtomicU32>) -> Self {
        Self {
            target,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for BitrateTarget {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let wanted = Attribute::TargetBitrateChanged {
            bits_per_second: 0.0,
        };
        if let Some(Attribute::TargetBitrateChanged { bits_per_second }) = msg.message.get(&wanted)
        {
            let bps = bits_per_second.clamp(1.0, u32::MAX as f64) as u32;
            self.target.store(bps, Ordering::Relaxed);
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

impl Interceptor for BitrateTarget {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
