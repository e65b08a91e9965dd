//! What a subscriber is asked to do: [`SubscriberProperties`] (API.md §4).

use crate::publisher::ScaleBehavior;

/// How a subscriber receives (all of it changes at runtime).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriberProperties {
    /// Receive audio.
    pub subscribe_to_audio: bool,
    /// Receive video.
    pub subscribe_to_video: bool,
    /// Playback volume, 0–100.
    pub audio_volume: u8,
    /// The size the view would like; None = the highest.
    pub preferred_resolution: Option<(u32, u32)>,
    /// The rate the view would like; None = the highest.
    pub preferred_frame_rate: Option<u32>,
    /// How video fills its view.
    pub scale_behavior: ScaleBehavior,
    /// Decode video (true, the default). False = count-only, for load tests: video packets are counted
    /// (`video_packets_received`, `video_packets_lost`) and never decoded, so no frames and no
    /// `VideoDataReceived`. Fixed at subscribe time. Not an OpenTok property.
    pub decode_video: bool,
}

impl Default for SubscriberProperties {
    fn default() -> Self {
        Self {
            subscribe_to_audio: true,
            subscribe_to_video: true,
            audio_volume: 100,
            preferred_resolution: None,
            preferred_frame_rate: None,
            scale_behavior: ScaleBehavior::Fill,
            decode_video: true,
        }
    }
}
