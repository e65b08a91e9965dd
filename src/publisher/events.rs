//! What a publisher reports: its events and counters.

use otter_protocol::{OtError, Stream, StreamDestroyedReason};

/// What a publisher reports (API.md §3.2).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PublisherEvent {
    /// The stream is in the session.
    StreamCreated(Stream),
    /// The stream ended.
    StreamDestroyed {
        /// The stream.
        stream: Stream,
        /// Why.
        reason: StreamDestroyedReason,
    },
    /// Something failed (a missing device, the media path); publishing may go on with what works.
    Error(OtError),
    /// Microphone loudness, 0.0–1.0, about ten times a second.
    AudioLevel(f32),
    /// Audio sent (packets, bytes, losses the subscriber side reported), once a second.
    AudioNetworkStats(crate::NetworkStats),
    /// Video sent, once a second.
    VideoNetworkStats(crate::NetworkStats),
    /// A moderator muted this stream; audio stopped (`set_publish_audio(true)` restarts it).
    MuteForced,
    /// The W3C stats report asked for with [`Publisher::get_rtc_stats_report`](super::Publisher::get_rtc_stats_report): a JSON array with one
    /// object per stats entry.
    RtcStatsReport(serde_json::Value),
}

/// Publisher statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublisherStats {
    /// Video frames encoded.
    pub frames_encoded: u64,
    /// Frames dropped before the network (encoder or queue too slow).
    pub frames_dropped: u64,
    /// Key frames sent.
    pub keyframes: u64,
    /// Media bytes handed to the network.
    pub bytes_sent: u64,
    /// Audio frames encoded.
    pub audio_frames: u64,
    /// What the congestion controller estimates this publisher's link carries, bits per second (0
    /// until the server's first transport-wide feedback).
    pub send_estimate_bps: u32,
    /// The video bitrate the encoder runs at now: the app's bitrate or cap, or less when the estimate
    /// is lower.
    pub video_bitrate_bps: u32,
    /// The width, height and frame rate sent now (smaller than captured when the link is thin); of a
    /// simulcast publisher, its best layer sent.
    pub sent_format: Option<(u32, u32, u32)>,
    /// The simulcast layers encoded now, bit `l` = layer `l` (0 the full size; a single-layer
    /// publisher shows 1): a layer no subscriber receives, or that the uplink cannot carry, is paused.
    pub layers_sent: u8,
}
