//! Simulcast on the publisher: the video goes out as up to [`MAX_LAYERS`] layers — full size, ½, ¼ —
//! each its own encoder and m-line (best first), so the server can give every subscriber the one its
//! view and downlink suit. The congestion controller's rung pauses the layers above it: on a thin
//! uplink the full layer goes first, and the bitrate is shared among the layers still sent.

use otter_media::VideoFrame;
use otter_media::{video_encoder, EncodedFrame, VideoCodec, VideoEncoder, VideoEncoderSettings};
use tokio::sync::mpsc;

/// At most this many layers.
pub(crate) const MAX_LAYERS: usize = 3;
/// No layer is smaller than this on its short side.
const MIN_SHORT_SIDE: u32 = 90;

/// How many layers a `width`×`height` source is sent as: one per halving that keeps the short side at
/// least [`MIN_SHORT_SIDE`] (640x480 → 3, 320x240 → 2), and one for H.264 or when simulcast is off.
pub(crate) fn layer_count(
    codec: VideoCodec,
    simulcast: bool,
    (width, height): (u32, u32),
) -> usize {
    if !simulcast || codec != VideoCodec::Vp8 {
        return 1;
    }
    let short = width.min(height);
    (0..MAX_LAYERS as u32)
        .take_while(|&l| short >> l >= MIN_SHORT_SIDE)
        .count()
        .max(1)
}

/// The share of `video_bps` for layer `layer` when layers `top..n` are sent: each layer gets twice the
/// next smaller one's (a quarter of the pixels costs about half the bits for the same look).
pub(crate) fn layer_bitrate(video_bps: u32, layer: usize, top: usize, n: usize) -> u32 {
    let weight = |l: usize| 1u64 << (n - 1 - l);
    let total: u64 = (top..n).map(weight).sum();
    (u64::from(video_bps) * weight(layer) / total.max(1)) as u32
}

/// One layer's encoder and where its frames go.
pub(crate) struct LayerEncoder {
    pub encoder: Option<Box<dyn VideoEncoder>>,
    /// Width, height and frame rate the encoder was opened for.
    pub format: (u32, u32, u32),
    pub bitrate_bps: u32,
    pub out: mpsc::Sender<EncodedFrame>,
}

impl LayerEncoder {
    pub(crate) fn new(out: mpsc::Sender<EncodedFrame>) -> Self {
        Self {
            encoder: None,
            format: (0, 0, 0),
            bitrate_bps: 0,
            out,
        }
    }

    /// The encoder for `picture` at `fps`, (re)opened when the format changed; `true` in the second
    /// place when it is new (its first frame must be a keyframe).
    pub(crate) fn ready(
        &mut self,
        codec: VideoCodec,
        picture: &VideoFrame,
        fps: u32,
        bitrate_bps: u32,
        settings: VideoEncoderSettings,
    ) -> Option<(&mut Box<dyn VideoEncoder>, bool)> {
        let format = (picture.width(), picture.height(), fps);
        let mut fresh = false;
        if self.format != format || self.encoder.is_none() {
            let s = VideoEncoderSettings {
                width: format.0,
                height: format.1,
                fps,
                bitrate_bps,
                ..settings
            };
            self.encoder = match video_encoder(codec, s) {
                Ok(e) => Some(e),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot create the video encoder");
                    return None;
                }
            };
            self.format = format;
            self.bitrate_bps = bitrate_bps;
            fresh = true;
        }
        let encoder = self.encoder.as_mut()?;
        // Reconfigure only on a real change: the estimate moves with every feedback report.
        if bitrate_bps != 0 && bitrate_bps.abs_diff(self.bitrate_bps) * 20 > self.bitrate_bps {
            match encoder.set_bitrate(bitrate_bps) {
                Ok(()) => self.bitrate_bps = bitrate_bps,
                Err(e) => tracing::warn!(error = %e, "cannot change the video bitrate"),
            }
        }
        Some((encoder, fresh))
    }
}

/// The frame halved `times` times, reusing the halvings already made for smaller `times` (one pass
/// per layer per frame).
pub(crate) struct Halvings<'a> {
    source: &'a VideoFrame,
    made: Vec<VideoFrame>,
}

impl<'a> Halvings<'a> {
    pub(crate) fn new(source: &'a VideoFrame) -> Self {
        Self {
            source,
            made: Vec::new(),
        }
    }

    pub(crate) fn get(&mut self, times: u32) -> &VideoFrame {
        while self.made.len() < times as usize {
            let next = self.made.last().unwrap_or(self.source).half();
            self.made.push(next);
        }
        match times {
            0 => self.source,
            n => &self.made[n as usize - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_the_size_and_the_codec() {
        assert_eq!(layer_count(VideoCodec::Vp8, true, (640, 480)), 3);
        assert_eq!(layer_count(VideoCodec::Vp8, true, (1280, 720)), 3);
        assert_eq!(layer_count(VideoCodec::Vp8, true, (320, 240)), 2);
        assert_eq!(layer_count(VideoCodec::Vp8, true, (160, 120)), 1);
        assert_eq!(layer_count(VideoCodec::Vp8, false, (640, 480)), 1);
        assert_eq!(layer_count(VideoCodec::H264, true, (640, 480)), 1);
    }

    #[test]
    fn the_bitrate_is_shared_four_two_one_among_the_layers_sent() {
        assert_eq!(layer_bitrate(700_000, 0, 0, 3), 400_000);
        assert_eq!(layer_bitrate(700_000, 1, 0, 3), 200_000);
        assert_eq!(layer_bitrate(700_000, 2, 0, 3), 100_000);
        // The full layer paused: the other two share it all.
        assert_eq!(layer_bitrate(300_000, 1, 1, 3), 200_000);
        assert_eq!(layer_bitrate(300_000, 2, 1, 3), 100_000);
        assert_eq!(layer_bitrate(300_000, 0, 0, 1), 300_000);
    }
}
