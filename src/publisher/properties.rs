//! `PublisherProperties` (API.md §3.1).

use std::sync::Arc;

use otter_media::VideoCodec;

use crate::media::{AudioSource, VideoSource};

/// Where the publisher's video comes from.
#[derive(Clone, Default)]
pub enum VideoSourceChoice {
    /// A camera (see `camera_device` / `camera_position`).
    #[default]
    Camera,
    /// The screen.
    Screen,
    /// The built-in test pattern (moving picture with a machine-readable stamp).
    TestPattern,
    /// Frames from the application.
    Custom(Arc<dyn VideoSource>),
}

impl std::fmt::Debug for VideoSourceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Camera => "Camera",
            Self::Screen => "Screen",
            Self::TestPattern => "TestPattern",
            Self::Custom(_) => "Custom",
        })
    }
}

impl PartialEq for VideoSourceChoice {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// Where the publisher's audio comes from.
#[derive(Clone, Default)]
pub enum AudioSourceChoice {
    /// A microphone (see `microphone_device`).
    #[default]
    Microphone,
    /// A sine tone at this frequency (hertz).
    Tone(f32),
    /// Samples from the application.
    Custom(Arc<dyn AudioSource>),
}

impl std::fmt::Debug for AudioSourceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Microphone => f.write_str("Microphone"),
            Self::Tone(hz) => write!(f, "Tone({hz})"),
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl PartialEq for AudioSourceChoice {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b),
            (Self::Tone(a), Self::Tone(b)) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// Front or back camera.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CameraPosition {
    /// Facing the user.
    #[default]
    Front,
    /// Facing away.
    Back,
}

/// How video fills its view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScaleBehavior {
    /// Cover the view, cropping.
    #[default]
    Fill,
    /// Fit inside the view, letterboxing.
    Fit,
}

/// Which codecs to offer, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PreferredCodecs {
    /// VP8 first.
    #[default]
    Automatic,
    /// This list, in order.
    List(Vec<VideoCodec>),
}

impl PreferredCodecs {
    /// The codec to publish with.
    pub fn first(&self) -> VideoCodec {
        match self {
            Self::List(list) => list.first().copied().unwrap_or(VideoCodec::Vp8),
            Self::Automatic => VideoCodec::Vp8,
        }
    }
}

/// How a publisher publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct PublisherProperties {
    /// Send audio (runtime: mutes/unmutes).
    pub publish_audio: bool,
    /// Send video (runtime: turns video off/on).
    pub publish_video: bool,
    /// Capture audio at all.
    pub audio_track: bool,
    /// Capture video at all.
    pub video_track: bool,
    /// The stream's name.
    pub name: String,
    /// Where video comes from.
    pub video_source: VideoSourceChoice,
    /// Where audio comes from.
    pub audio_source: AudioSourceChoice,
    /// Which camera, when `video_source` is `Camera` and no device is named.
    pub camera_position: CameraPosition,
    /// A camera ID from `devices()`; None = the system default.
    pub camera_device: Option<String>,
    /// A microphone ID from `devices()`; None = the system default.
    pub microphone_device: Option<String>,
    /// Width and height: 1920x1080, 1280x720, 640x480 or 352x288 (others are accepted if even).
    pub resolution: (u32, u32),
    /// 30, 15, 7 or 1.
    pub frame_rate: u32,
    /// Opus bitrate, 6 000–510 000.
    pub audio_bitrate: u32,
    /// Video bitrate cap; None = the encoder's default for the size.
    pub max_video_bitrate: Option<u32>,
    /// Video bitrate target, bits per second; None = the encoder's default for the size (about 0.1 bit
    /// per pixel per frame). Still capped by `max_video_bitrate`. Not an OpenTok property: load tests set
    /// it to publish a known rate.
    pub video_bitrate: Option<u32>,
    /// Opus discontinuous transmission.
    pub enable_dtx: bool,
    /// Codec order.
    pub preferred_video_codecs: PreferredCodecs,
    /// How the local preview fills its view.
    pub scale_behavior: ScaleBehavior,
    /// Send VP8 video as up to three layers (full, ½ and ¼ size, as the resolution allows) so each
    /// subscriber receives the one its view size and downlink suit (OpenTok's scalable video,
    /// LiveKit's simulcast). Costs the publisher about a third more encoding and bitrate; H.264 is
    /// always one layer.
    pub simulcast: bool,
}

impl Default for PublisherProperties {
    fn default() -> Self {
        Self {
            publish_audio: true,
            publish_video: true,
            audio_track: true,
            video_track: true,
            name: String::new(),
            video_source: VideoSourceChoice::Camera,
            audio_source: AudioSourceChoice::Microphone,
            camera_position: CameraPosition::Front,
            camera_device: None,
            microphone_device: None,
            resolution: (640, 480),
            frame_rate: 30,
            audio_bitrate: 40_000,
            max_video_bitrate: None,
            video_bitrate: None,
            enable_dtx: false,
            preferred_video_codecs: PreferredCodecs::Automatic,
            scale_behavior: ScaleBehavior::Fill,
            simulcast: true,
        }
    }
}
