//! What every video codec offers, and the factories that pick one.

use crate::frame::VideoFrame;

/// The video codecs Otter speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// VP8 (libvpx): the default, what every WebRTC peer has.
    Vp8,
    /// H.264 constrained baseline (OpenH264).
    H264,
}

impl VideoCodec {
    /// The RTP/SDP name: `VP8` or `H264`.
    pub fn rtp_name(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "VP8",
            VideoCodec::H264 => "H264",
        }
    }
}

/// A codec failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{codec} {operation} failed: {detail}")]
pub struct CodecError {
    /// Which codec.
    pub codec: &'static str,
    /// What it was doing.
    pub operation: &'static str,
    /// What the library said.
    pub detail: String,
}

/// The widest and tallest frame a decoder accepts: a remote publisher chooses the size, and a 16383x16383
/// frame would cost every subscriber gigabytes.
pub const MAX_DECODED_DIMENSION: u32 = 4096;

/// The `operation` of a [`CodecError`] for a frame over [`MAX_DECODED_DIMENSION`].
pub const TOO_LARGE: &str = "size";

/// Refuses a frame size over [`MAX_DECODED_DIMENSION`].
pub(crate) fn check_dimensions(
    codec: &'static str,
    width: u32,
    height: u32,
) -> Result<(), CodecError> {
    if width > MAX_DECODED_DIMENSION || height > MAX_DECODED_DIMENSION {
        return Err(CodecError::new(
            codec,
            TOO_LARGE,
            format!("a {width}x{height} frame is over the {MAX_DECODED_DIMENSION}x{MAX_DECODED_DIMENSION} limit"),
        ));
    }
    Ok(())
}

impl CodecError {
    /// Whether the frame was refused for its size ([`MAX_DECODED_DIMENSION`]).
    pub fn is_too_large(&self) -> bool {
        self.operation == TOO_LARGE
    }

    pub(crate) fn new(
        codec: &'static str,
        operation: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            codec,
            operation,
            detail: detail.into(),
        }
    }
}

/// One encoded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The bitstream: a VP8 frame, or H.264 Annex-B NAL units.
    pub data: Vec<u8>,
    /// Decodable on its own.
    pub keyframe: bool,
    /// The source frame's capture time (µs since the Unix epoch).
    pub capture_time_us: u64,
}

/// How to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoEncoderSettings {
    /// Picture width (even).
    pub width: u32,
    /// Picture height (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Target bitrate, bits per second.
    pub bitrate_bps: u32,
    /// Encoder threads (1 on small machines: real-time work must not fight capture for cores).
    pub threads: u32,
}

impl VideoEncoderSettings {
    /// Settings for a size and rate, with a bitrate that suits them (about 0.1 bit per pixel per frame,
    /// within WebRTC's usual range).
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        let bitrate = ((width * height) as u64 * fps as u64 / 10).clamp(150_000, 4_000_000) as u32;
        Self {
            width,
            height,
            fps: fps.max(1),
            bitrate_bps: bitrate,
            threads: 1,
        }
    }
}

/// Turns raw frames into a bitstream. One frame in, at most one frame out (no look-ahead).
pub trait VideoEncoder: Send {
    /// Encodes `frame` (of the configured size); `keyframe` forces a key frame. None = the encoder
    /// dropped this frame.
    fn encode(
        &mut self,
        frame: &VideoFrame,
        keyframe: bool,
    ) -> Result<Option<EncodedFrame>, CodecError>;
    /// Changes the target bitrate from the next frame on.
    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError>;
    /// Which codec this is.
    fn codec(&self) -> VideoCodec;
}

/// Turns a bitstream back into frames.
pub trait VideoDecoder: Send {
    /// Decodes one encoded frame. None = nothing to show yet (e.g. waiting for a key frame).
    fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, CodecError>;
    /// Which codec this is.
    fn codec(&self) -> VideoCodec;
}

/// An encoder for `codec`.
pub fn video_encoder(
    codec: VideoCodec,
    settings: VideoEncoderSettings,
) -> Result<Box<dyn VideoEncoder>, CodecError> {
    Ok(match codec {
        VideoCodec::Vp8 => Box::new(crate::vp8::Vp8Encoder::new(settings)?),
        VideoCodec::H264 => Box::new(crate::h264::H264Encoder::new(settings)?),
    })
}

/// A decoder for `codec`.
pub fn video_decoder(codec: VideoCodec) -> Result<Box<dyn VideoDecoder>, CodecError> {
    Ok(match codec {
        VideoCodec::Vp8 => Box::new(crate::vp8::Vp8Decoder::new()?),
        VideoCodec::H264 => Box::new(crate::h264::H264Decoder::new()?),
    })
}
