//! Otter's media building blocks, independent of any network:
//!
//! - [`frame`]: raw video ([`VideoFrame`], I420) and audio ([`AudioFrame`], 48 kHz mono).
//! - [`pattern`]: the test pattern, a moving picture whose frames carry a machine-readable stamp (frame
//!   counter and capture time) that survives lossy coding, so a receiver can check content and latency.
//! - [`tone`]: a sine source, and the measurements a receiver makes of audio (dominant frequency, level).
//! - [`codec`]: the encoder and decoder interfaces and their factories; [`vp8`] (libvpx), [`h264`]
//!   (OpenH264) and [`opus_codec`] (libopus) implement them.
//!
//! Unsafe code lives only in [`vp8`], at the libvpx FFI edge; each block says why it is sound.

pub mod codec;
pub mod convert;
pub mod frame;
pub mod h264;
pub mod opus_codec;
pub mod pattern;
pub mod tone;
pub mod vp8;

pub use codec::{
    video_decoder, video_encoder, CodecError, EncodedFrame, VideoCodec, VideoDecoder, VideoEncoder,
    VideoEncoderSettings,
};
pub use frame::{AudioFrame, VideoFrame, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
pub use pattern::{PatternStamp, TestPattern};
pub use tone::ToneGenerator;
