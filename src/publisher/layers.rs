//! Simulcast on the publisher: the video goes out as up to [`MAX_LAYERS`] layers — full size, ½, ¼ —
//! each its own encoder and m-line (best first), so the server can give every subscriber the one its
//! view and downlink suit. The congestion controller's rung pauses the layers above it: on a thin
//! uplink the full layer goes first; the lower layers sent get a thumbnail's bitrate and the best one
//! the rest.

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

/// Bits per pixel a lower layer aims at: as the best layer's default (a thumbnail cannot spare its
/// bits: below this, a busy picture drops frames).
const LOWER_LAYER_BPP: f64 = 0.1;
/// No lower layer takes more than this share of the whole, so the best layer keeps most of it.
const LOWER_LAYER_SHARE: f64 = 0.2;

/// The bitrate for layer `layer` when the layers in `sent` (bit per layer) share `video_bps` and the
/// full picture is `width`×`height` at `fps`: each lower layer gets what a picture of its size needs
/// (at most 20 % each), the best layer sent the rest (as libwebrtc serves its lower layers first).
pub(crate) fn layer_bitrate(
    video_bps: u32,
    layer: usize,
    sent: u8,
    (width, height, fps): (u32, u32, u32),
) -> u32 {
    let top = sent.trailing_zeros() as usize;
    let lower = |l: usize| {
        let pixels = f64::from((width >> l) * (height >> l));
        let wanted = pixels * f64::from(fps) * LOWER_LAYER_BPP;
        wanted.min(f64::from(video_bps) * LOWER_LAYER_SHARE) as u32
    };
    if layer != top {
        return lower(layer);
    }
    let others: u32 = (top + 1..MAX_LAYERS)
        .filter(|l| sent & (1 << l) != 0)
        .map(lower)
        .sum();
    video_bps.saturating_sub(others)
}

/// Whether layer `l` of `n` is encoded when the congestion rung allows layers `first..n` and
/// `paused` (bit per layer) are the ones no subscriber wants: the lowest always is (cheap, and it keeps
/// the stream alive), and a wanted layer above the rung is stood in for by the rung's top layer.
pub(crate) fn layer_sent(l: usize, first: usize, n: usize, paused: u8) -> bool {
    let wanted = |k: usize| paused & (1 << k) == 0;
    l >= first && (wanted(l) || l == n - 1 || (l == first && (0..first).any(wanted)))
}

/// Follows the server's word on which of `stream_id`'s layers are wanted (`layers_wanted` in the
/// session state), into `switches.layers_paused`. Runs until the session ends.
pub(crate) async fn follow_wanted_layers(
    session: crate::Session,
    stream_id: otter_protocol::StreamId,
    layers: usize,
    switches: std::sync::Arc<super::pipeline::Switches>,
) {
    let all = ((1u16 << layers) - 1) as u8;
    let mut state = session.watch_state();
    loop {
        let wanted = state
            .borrow_and_update()
            .layers_wanted
            .iter()
            .find(|(id, _)| *id == stream_id)
            .map(|(_, layers)| *layers);
        if let Some(wanted) = wanted {
            let paused = all & !wanted;
            let before = switches
                .layers_paused
                .swap(paused, std::sync::atomic::Ordering::Relaxed);
            if before != paused {
                tracing::debug!(wanted, "simulcast layers wanted changed");
            }
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// One layer's encoder and where its frames go.
pub(crate) struct LayerEncoder {
    pub encoder: Option<Box<dyn VideoEncoder>>,
    /// Width, height and frame rate the encoder was opened for.
    pub format: (u32, u32, u32),
    pub bitrate_bps: u32,
    pub out: mpsc::Sender<EncodedFrame>,
    /// Not encoded last frame (paused): the next one it encodes is a keyframe.
    pub idle: bool,
}

impl LayerEncoder {
    pub(crate) fn new(out: mpsc::Sender<EncodedFrame>) -> Self {
        Self {
            encoder: None,
            format: (0, 0, 0),
            bitrate_bps: 0,
            out,
            idle: false,
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
    fn unwanted_layers_pause_but_the_lowest_and_the_rungs_top_stand_in() {
        // Nobody wants the full or half layer: only the quarter goes.
        let sent = |first, paused| {
            (0..3)
                .map(|l| layer_sent(l, first, 3, paused))
                .collect::<Vec<_>>()
        };
        assert_eq!(sent(0, 0b011), [false, false, true]);
        assert_eq!(sent(0, 0b000), [true, true, true]);
        assert_eq!(sent(0, 0b010), [true, false, true]);
        // The full layer is wanted but the uplink only carries from the half one down: half stands in.
        assert_eq!(sent(1, 0b010), [false, true, true]);
        assert_eq!(sent(1, 0b011), [false, false, true]);
        assert!(layer_sent(0, 0, 1, 0b1), "a single layer is always sent");
    }

    #[test]
    fn lower_layers_get_a_thumbnails_rate_and_the_best_layer_the_rest() {
        let vga = (640, 480, 30);
        assert_eq!(layer_bitrate(920_000, 2, 0b111, vga), 57_600);
        assert_eq!(layer_bitrate(920_000, 1, 0b111, vga), 184_000);
        assert_eq!(layer_bitrate(920_000, 0, 0b111, vga), 678_400);
        // A thin link: the lower layers are held to 20 % each.
        assert_eq!(layer_bitrate(250_000, 2, 0b111, vga), 50_000);
        assert_eq!(layer_bitrate(250_000, 1, 0b111, vga), 50_000);
        assert_eq!(layer_bitrate(250_000, 0, 0b111, vga), 150_000);
        // The full layer paused: the half one is the best sent and takes the rest.
        assert_eq!(layer_bitrate(300_000, 1, 0b110, vga), 242_400);
        // One layer: all of it.
        assert_eq!(layer_bitrate(300_000, 0, 0b1, vga), 300_000);
    }
}
