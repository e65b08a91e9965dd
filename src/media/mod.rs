//! Media in the engine: capture sources and the hand-over between pipeline stages.

pub mod noise;
pub mod playback;
pub mod playout;
pub mod sink;
pub mod slot;
pub mod sources;

pub use noise::NoiseSource;
pub use playback::{AudioInput, AudioMixer};
pub use playout::PlayoutStats;
pub use sink::VideoSink;
pub use slot::LatestSlot;
pub use sources::{
    AudioOutput, AudioSource, Capture, CustomAudioSource, CustomVideoSource, TestPatternSource,
    ToneSource, VideoFormat, VideoOutput, VideoSource,
};
