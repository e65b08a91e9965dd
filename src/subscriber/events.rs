//! What a subscriber tells: [`SubscriberEvent`], [`VideoReason`] and [`SubscriberStats`] (API.md §4).

use otter_protocol::OtError;

/// What a subscriber reports (API.md §4).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SubscriberEvent {
    /// Media is flowing from the server.
    Connected,
    /// The first frame was decoded.
    VideoDataReceived,
    /// Audio received (packets, bytes, losses), once a second.
    AudioNetworkStats(crate::NetworkStats),
    /// Video received, once a second.
    VideoNetworkStats(crate::NetworkStats),
    /// Media stopped arriving though it should (a network interruption).
    Disconnected,
    /// Media is arriving again after [`SubscriberEvent::Disconnected`].
    Reconnected,
    /// Something failed.
    Error(OtError),
    /// Loudness of the received audio, 0.0–1.0, about ten times a second.
    AudioLevel(f32),
    /// Video stopped arriving, and why.
    VideoDisabled(VideoReason),
    /// Video is back, and why.
    VideoEnabled(VideoReason),
    /// The network loses so much of the video that it is about to be stopped (audio fallback).
    VideoDisableWarning,
    /// The network carries the video well again; the warning is over.
    VideoDisableWarningLifted,
    /// The W3C stats report asked for with [`Subscriber::get_rtc_stats_report`](super::Subscriber::get_rtc_stats_report).
    RtcStatsReport(serde_json::Value),
}

/// Why a subscriber's video stopped or resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoReason {
    /// The publisher turned its video off or on.
    PublishVideo,
    /// This subscriber turned receiving video off or on.
    SubscribeToVideo,
    /// The network could not carry it.
    Quality,
    /// No decoder for the stream's codec.
    CodecNotSupported,
}

/// What a subscriber has received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriberStats {
    /// Video frames decoded.
    pub frames_decoded: u64,
    /// Size of the last decoded frame.
    pub width: u32,
    /// Size of the last decoded frame.
    pub height: u32,
    /// RTP packets received (audio and video).
    pub packets_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Video RTP packets received; counted only when `decode_video` is false.
    pub video_packets_received: u64,
    /// Video RTP packets missing from the sequence (after retransmissions); counted only when
    /// `decode_video` is false.
    pub video_packets_lost: u64,
    /// Encoded frames dropped before decoding.
    pub frames_dropped: u64,
    /// RTP packets lost on the way (audio and video), as of the last network statistics (once a second).
    pub packets_lost: u64,
    /// Decoded frames whose test-pattern stamp was read back.
    pub pattern_frames_verified: u64,
    /// Median capture-to-decode time of stamped frames (the last 1 024), milliseconds.
    pub pattern_latency_ms_p50: Option<f64>,
    /// 95th percentile of the same.
    pub pattern_latency_ms_p95: Option<f64>,
    /// Loudness of the received audio.
    pub audio_level: f32,
    /// The strongest frequency in the last second of audio.
    pub audio_freq_hz: Option<f32>,
    /// The delay the audio playout buffer holds now, milliseconds: what the arrivals' jitter needs
    /// (W3C `jitterBufferTargetDelay`).
    pub audio_playout_delay_ms: u32,
    /// Silences over 60 ms played because audio ran out (late or lost past concealment). A publisher
    /// with DTX that stops sending in silence shows here too.
    pub audio_gaps: u64,
    /// The longest such silence, milliseconds.
    pub audio_longest_gap_ms: u64,
}
