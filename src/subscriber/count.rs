//! The count-only video path (`SubscriberProperties::decode_video == false`): RTP packets are counted,
//! with their bytes and the sequence numbers missing, and never assembled or decoded. Load tests use it
//! so one process can hold hundreds of subscribers and the server's CPU is what limits them.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::receive::ReceiveStats;

/// Packets missing from one RTP stream, from its 16-bit sequence numbers.
///
/// A jump forward adds the skipped numbers; a packet older than the highest seen (a late or
/// retransmitted one) takes one back, so what remains is loss that was never repaired.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SequenceGaps {
    highest: Option<u16>,
    lost: u64,
}

impl SequenceGaps {
    /// Accounts for a packet; returns the missing count so far.
    pub(crate) fn push(&mut self, seq: u16) -> u64 {
        match self.highest {
            None => self.highest = Some(seq),
            Some(highest) => {
                let ahead = seq.wrapping_sub(highest);
                if ahead == 0 {
                    // A duplicate: neither new nor missing.
                } else if ahead < 0x8000 {
                    self.lost += u64::from(ahead - 1);
                    self.highest = Some(seq);
                } else {
                    self.lost = self.lost.saturating_sub(1);
                }
            }
        }
        self.lost
    }
}

/// Reads a video track until it ends, counting packets, payload bytes and sequence gaps into `stats`.
/// Nothing is allocated per packet here (the WebRTC stack's own packet aside).
pub(crate) async fn count_video(track: Arc<dyn TrackRemote>, stats: Arc<ReceiveStats>) {
    let mut gaps = SequenceGaps::default();
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        stats.count_packet(packet.payload.len());
        stats.video_packets_received.fetch_add(1, Ordering::Relaxed);
        let lost = gaps.push(packet.header.sequence_number);
        stats.video_packets_lost.store(lost, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::SequenceGaps;

    fn run(seqs: &[u16]) -> u64 {
        let mut gaps = SequenceGaps::default();
        seqs.iter().map(|&s| gaps.push(s)).last().unwrap_or(0)
    }

    #[test]
    fn counts_jumps_and_forgives_late_packets() {
        assert_eq!(run(&[1, 2, 3, 4]), 0);
        assert_eq!(run(&[1, 2, 5, 6]), 2);
        assert_eq!(run(&[1, 2, 5, 3, 6]), 1);
        assert_eq!(run(&[1, 2, 2, 3]), 0);
    }

    #[test]
    fn wraps_around() {
        assert_eq!(run(&[65534, 65535, 0, 1]), 0);
        assert_eq!(run(&[65534, 1]), 2);
    }
}
