//! A video source that defeats compression, for load tests: every frame is fresh noise, so a constant
//! bitrate encoder spends its whole target on every frame (the test pattern compresses far below 1.5
//! Mbit/s at 640×480). The test pattern's stamp stays readable in the top-left corner, so a decoding
//! subscriber can still measure glass-to-glass latency.

use std::time::{Duration, Instant};

use otter_media::frame::unix_micros;
use otter_media::{TestPattern, VideoFrame};
use otter_protocol::OtError;
use rand::Rng;

use super::sources::{sleep_until, Capture, VideoFormat, VideoOutput, VideoSource};

/// How far noise strays from mid-grey. Low enough that the encoder can always get down to its target
/// (full-range noise would overshoot even at the coarsest quantizer), high enough that it never gets far
/// below it.
const AMPLITUDE: i32 = 40;

/// Fresh-looking noise at the encoder's full bitrate, plus the test pattern's stamp.
///
/// Cheap to run: a pool of noise twice a picture's size is drawn once, and each frame copies a window
/// of it from a random offset, so consecutive frames never line up and motion search finds nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoiseSource;

impl VideoSource for NoiseSource {
    fn start(&self, format: VideoFormat, output: VideoOutput) -> Result<Capture, OtError> {
        let interval = Duration::from_secs(1) / format.fps.max(1);
        Capture::spawn("otter-noise", move |stop| {
            let (w, h) = ((format.width & !1) as usize, (format.height & !1) as usize);
            let mut rng = rand::thread_rng();
            let pool: Vec<u8> = (0..2 * w * h)
                .map(|_| (128 + rng.gen_range(-AMPLITUDE..=AMPLITUDE)) as u8)
                .collect();
            let (stamp_w, stamp_h) = stamp_area(w, h);
            let mut pattern = TestPattern::new(w as u32, h as u32);
            let mut frame = VideoFrame::black(w as u32, h as u32);
            let mut next = Instant::now();
            while sleep_until(next, &stop) {
                pattern.render_into(&mut frame, unix_micros());
                let offset = rng.gen_range(0..w * h);
                let (y, _, _) = frame.planes_mut();
                for row in 0..h {
                    // Rows beside the stamp keep it; rows below it are all noise.
                    let from = if row < stamp_h { stamp_w } else { 0 };
                    let noise = &pool[offset + row * w + from..offset + (row + 1) * w];
                    y[row * w + from..(row + 1) * w].copy_from_slice(noise);
                }
                output.put(frame.clone());
                next += interval;
                if next + interval < Instant::now() {
                    next = Instant::now();
                }
            }
        })
        .map_err(|e| {
            otter_protocol::ErrorCode::UnableToPublish
                .with_message(format!("cannot start a capture thread: {e}"))
        })
    }
}

/// The top-left corner the stamp occupies (as `otter_media::pattern` lays it out: 8 × 9 cells of
/// `min(w, h) / 30` pixels, at least 8), with one cell of margin so coding noise does not bleed in.
fn stamp_area(w: usize, h: usize) -> (usize, usize) {
    let cell = ((w.min(h) / 30) & !1).max(8);
    ((9 * cell).min(w), (10 * cell).min(h))
}
