//! What the video encoder sends, given what the network takes: the congestion controller's estimate
//! (GCC over the SFU's transport-wide feedback, `rtc/feedback_tap.rs`) becomes a video bitrate, and
//! when that bitrate is too thin for the picture, a smaller picture, then fewer frames — the order
//! WebRTC's "balanced" degradation follows. Pure (time is an argument): the encoder thread calls
//! [`Ladder::follow`] per frame.

use std::time::{Duration, Instant};

/// Below this many bits per pixel a step looks blocky: take the next smaller one.
const DEGRADE_BPP: f64 = 0.02;
/// A better step is taken back only with this much room, so the picture does not flap.
const RECOVER_BPP: f64 = 0.04;
/// No picture is scaled below this many pixels on its short side.
const MIN_SHORT_SIDE: u32 = 90;
/// How long the bitrate must ask for a smaller rung before the picture shrinks, and for a bigger one
/// before it grows: a rung change costs a key frame and is seen, a dip of the estimate (a busy machine,
/// a burst) is not worth one. The bitrate itself follows at once. Shrinking waits only half a second:
/// the estimator already ignores stalls (`rtc/estimator.rs`), and on a link that just lost most of its
/// capacity every key frame the receiver asks for is sent at the old size until the rung moves
/// (measured on the bench's step: with 1 s the picture froze for 2.6 s).
const DEGRADE_HOLD: Duration = Duration::from_millis(500);
const RECOVER_HOLD: Duration = Duration::from_secs(2);
/// Never less than this for video, whatever the estimate: a thumbnail still moves.
pub(crate) const MIN_VIDEO_BPS: u32 = 20_000;
/// What one packet costs on the wire beyond its payload: IPv4, UDP, RTP with its extensions, SRTP.
const PACKET_OVERHEAD_BITS: u32 = 64 * 8;
/// Audio packets a second (20 ms frames).
const AUDIO_PACKETS: u32 = 50;
/// Video payload per packet (webrtc-rs packetizes to about this).
const VIDEO_PACKET_BITS: u32 = 1_100 * 8;
/// The share of the estimate aimed at, on the wire: room for RTCP, retransmissions and the encoder's
/// overshoot, so the bottleneck's queue drains instead of standing full.
const HEADROOM: f64 = 0.85;

/// One rung: the picture halved `downscale` times, every `fps_divisor`-th frame sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub downscale: u32,
    pub fps_divisor: u32,
}

impl Step {
    const FULL: Step = Step {
        downscale: 0,
        fps_divisor: 1,
    };
}

/// The rung in use and the bitrates chosen for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ladder {
    pub step: Step,
    pub video_bps: u32,
    /// The audio encoder's rate: the app's, or less on a thin link (speech stays clear at 16 kbit/s).
    pub audio_bps: u32,
    /// Another rung the bitrate asks for, and since when.
    wanted: Option<(Step, Instant)>,
}

impl Default for Ladder {
    fn default() -> Self {
        Self {
            step: Step::FULL,
            video_bps: 0,
            audio_bps: 0,
            wanted: None,
        }
    }
}

/// The audio rate for an estimate: on a thin link audio yields first down to these, since a voice
/// needs far less than the default and every bit it gives up is a bit of picture.
fn audio_rate(estimate_bps: u32, wanted_bps: u32) -> u32 {
    match estimate_bps {
        0 => wanted_bps,
        e if e < 150_000 => wanted_bps.min(16_000),
        e if e < 300_000 => wanted_bps.min(24_000),
        _ => wanted_bps,
    }
}

/// The rungs for a picture of `width`×`height`: smaller pictures while the short side allows, then
/// lower frame rates at the smallest (at most 3 + 2; an array, as this runs for every frame).
fn rungs(width: u32, height: u32) -> ([Step; 5], usize) {
    let short = width.min(height);
    let smallest = (0..=2)
        .rev()
        .find(|d| short >> d >= MIN_SHORT_SIDE)
        .unwrap_or(0);
    let mut rungs = [Step::FULL; 5];
    let mut n = 0;
    let sizes = (0..=smallest).map(|downscale| Step {
        downscale,
        fps_divisor: 1,
    });
    let rates = (2..=3).map(|fps_divisor| Step {
        downscale: smallest,
        fps_divisor,
    });
    for step in sizes.chain(rates) {
        rungs[n] = step;
        n += 1;
    }
    (rungs, n)
}

fn bits_per_pixel(video_bps: u32, (width, height, fps): (u32, u32, u32), step: Step) -> f64 {
    let pixels = (width >> step.downscale) as f64 * (height >> step.downscale) as f64;
    let frames = fps.max(1) as f64 / step.fps_divisor as f64;
    video_bps as f64 / (pixels * frames).max(1.0)
}

impl Ladder {
    /// Follows the send estimate. `estimate_bps` 0 means no estimate yet (send at the ceiling);
    /// `audio_bps` is the app's audio rate (0 without audio); `ceiling_bps` is what the app allows
    /// video (its bitrate or cap); `source` is the captured width, height and frame rate.
    pub(crate) fn follow(
        &mut self,
        now: Instant,
        estimate_bps: u32,
        audio_bps: u32,
        ceiling_bps: u32,
        source: (u32, u32, u32),
    ) {
        self.audio_bps = audio_rate(estimate_bps, audio_bps);
        let audio_wire = if audio_bps == 0 {
            0
        } else {
            self.audio_bps + AUDIO_PACKETS * PACKET_OVERHEAD_BITS
        };
        self.video_bps = if estimate_bps == 0 {
            ceiling_bps
        } else {
            // Wire = payload + one packet's overhead per frame and per full packet of payload: at
            // low rates the headers are a large share, so they are counted, not guessed.
            let room = (estimate_bps as f64 * HEADROOM) as u32;
            let frames = source.2.max(1) / self.step.fps_divisor.max(1);
            let per_bit = 1.0 + PACKET_OVERHEAD_BITS as f64 / VIDEO_PACKET_BITS as f64;
            let payload =
                room.saturating_sub(audio_wire + frames * PACKET_OVERHEAD_BITS) as f64 / per_bit;
            (payload as u32).clamp(MIN_VIDEO_BPS, ceiling_bps.max(MIN_VIDEO_BPS))
        };
        let (all, n) = rungs(source.0, source.1);
        let rungs = &all[..n];
        let now_at = rungs.iter().position(|s| *s == self.step).unwrap_or(0);
        let bpp = |step| bits_per_pixel(self.video_bps, source, step);
        let mut i = now_at;
        while i + 1 < rungs.len() && bpp(rungs[i]) < DEGRADE_BPP {
            i += 1;
        }
        while i > 0 && bpp(rungs[i - 1]) >= RECOVER_BPP {
            i -= 1;
        }
        let target = rungs[i];
        if target == self.step || now_at >= rungs.len() {
            self.wanted = None;
            self.step = target;
            return;
        }
        let since = match self.wanted {
            Some((wanted, since)) if wanted == target => since,
            _ => {
                self.wanted = Some((target, now));
                now
            }
        };
        let hold = if i > now_at {
            DEGRADE_HOLD
        } else {
            RECOVER_HOLD
        };
        if now.saturating_duration_since(since) >= hold {
            self.step = target;
            self.wanted = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VGA: (u32, u32, u32) = (640, 480, 30);

    /// Follows `estimate` for 3 s of frames at 10 a second (time starts where the last call left it).
    fn settle(ladder: &mut Ladder, now: &mut Instant, estimate: u32) -> Ladder {
        for _ in 0..30 {
            *now += Duration::from_millis(100);
            ladder.follow(*now, estimate, 40_000, 1_000_000, VGA);
        }
        *ladder
    }

    #[test]
    fn no_estimate_sends_what_the_app_asked() {
        let mut l = Ladder::default();
        l.follow(Instant::now(), 0, 40_000, 900_000, VGA);
        assert_eq!((l.video_bps, l.step), (900_000, Step::FULL));
    }

    #[test]
    fn a_thin_link_shrinks_the_picture_then_the_frame_rate() {
        let (mut l, mut now) = (Ladder::default(), Instant::now());
        // Plenty: the whole picture, under the app's ceiling.
        let wide = settle(&mut l, &mut now, 3_000_000);
        assert_eq!((wide.step, wide.video_bps), (Step::FULL, 1_000_000));
        // 120 kbit/s (the uplink): audio drops to 16 kbit/s and with every header counted
        // leaves ~40 kbit/s of video payload: a quarter picture.
        let thin = settle(&mut l, &mut now, 120_000);
        assert_eq!(thin.audio_bps, 16_000);
        assert!((25_000..55_000).contains(&thin.video_bps), "{thin:?}");
        assert_eq!(thin.step.downscale, 2, "{thin:?}");
        // 300 kbit/s: half the picture.
        let mid = settle(&mut l, &mut now, 300_000);
        assert_eq!(
            mid.step,
            Step {
                downscale: 1,
                fps_divisor: 1
            },
            "{mid:?}"
        );
        assert_eq!(mid.audio_bps, 40_000);
        // Back to plenty: the whole picture again.
        assert_eq!(settle(&mut l, &mut now, 3_000_000).step, Step::FULL);
    }

    #[test]
    fn the_ladder_does_not_flap_between_thresholds() {
        let (mut l, mut now) = (Ladder::default(), Instant::now());
        settle(&mut l, &mut now, 300_000);
        let step = l.step;
        // Estimates wobbling ±10 % around the same point keep the same rung.
        for e in [270_000, 330_000, 280_000, 320_000, 300_000] {
            now += Duration::from_millis(100);
            l.follow(now, e, 40_000, 1_000_000, VGA);
            assert_eq!(l.step, step, "estimate {e}");
        }
    }

    #[test]
    fn a_dip_shorter_than_the_hold_moves_the_bitrate_not_the_picture() {
        let (mut l, mut now) = (Ladder::default(), Instant::now());
        settle(&mut l, &mut now, 3_000_000);
        // 0.3 s at 120 kbit/s (a busy machine, a burst): the bitrate drops at once...
        for _ in 0..3 {
            now += Duration::from_millis(100);
            l.follow(now, 120_000, 40_000, 1_000_000, VGA);
        }
        assert!(l.video_bps < 60_000, "{l:?}");
        assert_eq!(l.step, Step::FULL, "the picture shrank for a 0.3 s dip");
        // ...and more than half a second of it shrinks the picture.
        for _ in 0..3 {
            now += Duration::from_millis(100);
            l.follow(now, 120_000, 40_000, 1_000_000, VGA);
        }
        assert_ne!(l.step, Step::FULL);
    }

    #[test]
    fn small_pictures_are_not_shrunk_below_the_floor_and_video_keeps_a_minimum() {
        // 320x160: too small to halve (80 px < 90), so a thin link costs frames instead.
        let (mut l, mut now) = (Ladder::default(), Instant::now());
        for _ in 0..30 {
            now += Duration::from_millis(100);
            l.follow(now, 30_000, 40_000, 1_000_000, (320, 160, 30));
        }
        assert_eq!(l.step.downscale, 0);
        assert_eq!(l.video_bps, MIN_VIDEO_BPS);
        assert_eq!(l.step.fps_divisor, 2);
    }
}
