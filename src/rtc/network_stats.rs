//! Network statistics of a peer connection, read from webrtc-rs once a second for the
//! `*_network_stats` events (API.md §3.2, §4).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use webrtc::peer_connection::{PeerConnection, StatsSelector};

/// One kind's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkStats {
    /// Packets sent (publisher) or received (subscriber).
    pub packets: u64,
    /// Packets lost on the way: for a receiver, those it never got; for a sender, those the receiver
    /// reported missing.
    pub packets_lost: u64,
    /// Payload bytes sent or received.
    pub bytes: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// Calls `emit(is_video, stats)` for each kind with traffic, every second, until `emit` returns false.
pub(crate) async fn every_second(
    pc: Arc<dyn PeerConnection>,
    mut emit: impl FnMut(bool, NetworkStats) -> bool,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
        let timestamp = otter_media::frame::unix_micros() / 1000;
        let mut sent = [NetworkStats {
            timestamp,
            ..Default::default()
        }; 2];
        let mut received = sent;
        for s in report.outbound_rtp_streams() {
            let slot = &mut sent
                [(s.sent_rtp_stream_stats.rtp_stream_stats.kind == RtpCodecKind::Video) as usize];
            slot.packets += s.sent_rtp_stream_stats.packets_sent;
            slot.bytes += s.sent_rtp_stream_stats.bytes_sent;
        }
        // What the other side's receiver reports lost of what we sent (RTCP receiver reports).
        for entry in report.iter() {
            if let rtc::statistics::report::RTCStatsReportEntry::RemoteInboundRtp(s) = entry {
                let r = &s.received_rtp_stream_stats;
                sent[(r.rtp_stream_stats.kind == RtpCodecKind::Video) as usize].packets_lost +=
                    r.packets_lost.max(0) as u64;
            }
        }
        for s in report.inbound_rtp_streams() {
            let r = &s.received_rtp_stream_stats;
            let slot = &mut received[(r.rtp_stream_stats.kind == RtpCodecKind::Video) as usize];
            slot.packets += r.packets_received;
            slot.packets_lost += r.packets_lost.max(0) as u64;
            slot.bytes += s.bytes_received;
        }
        for (is_video, stats) in [(false, 0), (true, 1)].map(|(v, i)| {
            (
                v,
                if sent[i].packets > 0 {
                    sent[i]
                } else {
                    received[i]
                },
            )
        }) {
            if stats.packets > 0 && !emit(is_video, stats) {
                return;
            }
        }
    }
}
