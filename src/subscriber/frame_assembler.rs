//! Turns a video track's RTP packets into whole encoded frames as soon as a frame's last packet (the
//! marker bit) arrives. A reorder buffer that waits for the next frame before releasing one costs a frame
//! interval (33 ms at 30 fps) of glass-to-glass latency; on the networks a call runs on, packets of one
//! frame arrive in order, and a frame with a gap is dropped and recovered with a key-frame request.

use bytes::Bytes;
use rtc::rtp::packetizer::Depacketizer;

/// The largest encoded frame assembled: a 4K key frame at a high bitrate is well under 1 MB, and a
/// publisher that never ends a frame must not grow the buffer without bound.
pub(crate) const MAX_ENCODED_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Assembles one stream's frames.
pub(crate) struct FrameAssembler<D> {
    depacketizer: D,
    timestamp: Option<u32>,
    next_seq: u16,
    frame: Vec<u8>,
    /// The current frame missed a packet; it is dropped when it ends.
    damaged: bool,
    /// A frame was lost since [`FrameAssembler::take_lost`] last looked.
    lost: bool,
}

impl<D: Depacketizer> FrameAssembler<D> {
    pub(crate) fn new(depacketizer: D) -> Self {
        Self {
            depacketizer,
            timestamp: None,
            next_seq: 0,
            frame: Vec::with_capacity(64 * 1024),
            damaged: true,
            lost: false,
        }
    }

    /// Feeds one packet; returns a frame when this packet completed one.
    pub(crate) fn push(
        &mut self,
        timestamp: u32,
        seq: u16,
        marker: bool,
        payload: &Bytes,
    ) -> Option<Vec<u8>> {
        if self.timestamp != Some(timestamp) {
            // A new frame. An unfinished previous one was lost.
            self.lost |= self.timestamp.is_some() && !self.frame.is_empty();
            self.timestamp = Some(timestamp);
            self.frame.clear();
            self.damaged = !self.depacketizer.is_partition_head(payload);
        } else if seq != self.next_seq {
            self.damaged = true;
        }
        self.next_seq = seq.wrapping_add(1);
        if !self.damaged {
            match self.depacketizer.depacketize(payload) {
                Ok(bytes) if self.frame.len() + bytes.len() <= MAX_ENCODED_FRAME_BYTES => {
                    self.frame.extend_from_slice(&bytes)
                }
                // Over the cap the frame is dropped like a damaged one, and its bytes released now.
                Ok(_) | Err(_) => {
                    self.damaged = true;
                    self.frame = Vec::with_capacity(64 * 1024);
                    self.lost = true;
                }
            }
        }
        if !self.depacketizer.is_partition_tail(marker, payload) {
            return None;
        }
        let complete = !self.damaged && !self.frame.is_empty();
        self.lost |= !complete;
        self.damaged = true; // until the next frame's head
        let capacity = self.frame.capacity();
        let frame = std::mem::replace(&mut self.frame, Vec::with_capacity(capacity));
        complete.then_some(frame)
    }

    /// Whether a frame was lost since the last call (then a key frame should be requested).
    pub(crate) fn take_lost(&mut self) -> bool {
        std::mem::take(&mut self.lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::codec::vp8::Vp8Packet;

    /// F9: a frame that never ends (no marker) stops growing at the cap and is dropped.
    #[test]
    fn an_endless_frame_is_capped_and_dropped() {
        let mut a = FrameAssembler::new(Vp8Packet::default());
        let chunk = [7u8; 1200];
        assert_eq!(a.push(100, 0, false, &vp8(true, &chunk)), None);
        let mut most = 0;
        for seq in 1..200_000u32 {
            assert_eq!(a.push(100, seq as u16, false, &vp8(false, &chunk)), None);
            most = most.max(a.frame.capacity());
        }
        assert!(
            most <= MAX_ENCODED_FRAME_BYTES,
            "the buffer grew to {most} bytes"
        );
        assert!(
            a.take_lost(),
            "the frame counts as lost (a key frame is asked for)"
        );
        assert_eq!(a.push(100, 3392, true, &vp8(false, &chunk)), None);
        assert_eq!(
            a.push(200, 3393, true, &vp8(true, b"next")),
            Some(b"next".to_vec())
        );
    }

    /// VP8 payload descriptor: S bit (start of partition) in the first byte.
    fn vp8(start: bool, data: &[u8]) -> Bytes {
        let mut p = vec![if start { 0x10 } else { 0x00 }];
        p.extend_from_slice(data);
        Bytes::from(p)
    }

    #[test]
    fn emits_on_the_marker_and_drops_damaged_frames() {
        let mut a = FrameAssembler::new(Vp8Packet::default());
        assert_eq!(a.push(100, 1, false, &vp8(true, b"ab12")), None);
        assert_eq!(
            a.push(100, 2, true, &vp8(false, b"cd34")),
            Some(b"ab12cd34".to_vec())
        );
        assert!(!a.take_lost());
        // The next frame misses its middle packet.
        assert_eq!(a.push(200, 3, false, &vp8(true, b"ef56")), None);
        assert_eq!(a.push(200, 5, true, &vp8(false, b"gh78")), None);
        assert!(a.take_lost());
        // A frame whose head was lost.
        assert_eq!(a.push(300, 7, true, &vp8(false, b"ij90")), None);
        assert!(a.take_lost());
        // Recovery.
        assert_eq!(
            a.push(400, 8, true, &vp8(true, b"klmn")),
            Some(b"klmn".to_vec())
        );
        assert!(!a.take_lost());
        // A frame cut off by the next one: the next is whole, but the loss is reported.
        assert_eq!(a.push(500, 9, false, &vp8(true, b"mnop")), None);
        assert_eq!(
            a.push(600, 11, true, &vp8(true, b"opqr")),
            Some(b"opqr".to_vec())
        );
        assert!(a.take_lost());
    }
}
