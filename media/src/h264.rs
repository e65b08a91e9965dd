//! H.264 (constrained baseline) through OpenH264, built from source by the `openh264` crate.

use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use crate::codec::{
    CodecError, EncodedFrame, VideoCodec, VideoDecoder, VideoEncoder, VideoEncoderSettings,
};
use crate::frame::VideoFrame;

fn err(operation: &'static str, e: impl std::fmt::Display) -> CodecError {
    CodecError::new("H264", operation, e.to_string())
}

/// Lets OpenH264 read a [`VideoFrame`] without copying.
struct Source<'a>(&'a VideoFrame);

impl YUVSource for Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }
    fn strides(&self) -> (usize, usize, usize) {
        let w = self.0.width() as usize;
        (w, w / 2, w / 2)
    }
    fn y(&self) -> &[u8] {
        self.0.y()
    }
    fn u(&self) -> &[u8] {
        self.0.u()
    }
    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

/// An H.264 encoder.
pub struct H264Encoder {
    encoder: Encoder,
    settings: VideoEncoderSettings,
}

fn config(settings: &VideoEncoderSettings) -> EncoderConfig {
    EncoderConfig::new()
        .bitrate(BitRate::from_bps(settings.bitrate_bps))
        .max_frame_rate(FrameRate::from_hz(settings.fps as f32))
        .usage_type(UsageType::CameraVideoRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .skip_frames(false)
        .num_threads(settings.threads.clamp(1, 4) as u16)
}

impl H264Encoder {
    /// An encoder; the picture size comes from the frames.
    pub fn new(settings: VideoEncoderSettings) -> Result<Self, CodecError> {
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config(&settings))
            .map_err(|e| err("init", e))?;
        Ok(Self { encoder, settings })
    }
}

impl VideoEncoder for H264Encoder {
    fn encode(
        &mut self,
        frame: &VideoFrame,
        keyframe: bool,
    ) -> Result<Option<EncodedFrame>, CodecError> {
        if keyframe {
            self.encoder.force_intra_frame();
        }
        let stream = self
            .encoder
            .encode(&Source(frame))
            .map_err(|e| err("encode", e))?;
        let kind = stream.frame_type();
        if matches!(kind, FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        Ok(Some(EncodedFrame {
            data: stream.to_vec(),
            keyframe: matches!(kind, FrameType::IDR | FrameType::I),
            capture_time_us: frame.capture_time_us,
        }))
    }

    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        // OpenH264's safe API takes the rate at creation; a new encoder starts with a key frame.
        self.settings.bitrate_bps = bps;
        self.encoder = Encoder::with_api_config(OpenH264API::from_source(), config(&self.settings))
            .map_err(|e| err("set bitrate", e))?;
        Ok(())
    }

    fn codec(&self) -> VideoCodec {
        VideoCodec::H264
    }
}

/// An H.264 decoder.
pub struct H264Decoder {
    decoder: Decoder,
}

impl H264Decoder {
    /// A decoder.
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            decoder: Decoder::new().map_err(|e| err("init", e))?,
        })
    }
}

impl VideoDecoder for H264Decoder {
    fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, CodecError> {
        let Some(yuv) = self.decoder.decode(data).map_err(|e| err("decode", e))? else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (w, h) = ((w & !1) as u32, (h & !1) as u32);
        // OpenH264 bounds its own buffers by the level; the copy here is ours to refuse.
        crate::codec::check_dimensions("h264", w, h)?;
        let (sy, su, sv) = yuv.strides();
        let mut frame = VideoFrame::black(w, h);
        frame.copy_from_planes([(yuv.y(), sy), (yuv.u(), su), (yuv.v(), sv)]);
        Ok(Some(frame))
    }

    fn codec(&self) -> VideoCodec {
        VideoCodec::H264
    }
}
