//! The playout buffer of one subscriber's audio: how much decoded audio to hold before playing it,
//! from the jitter measured on its arrivals (NetEQ's target delay, in miniature).
//!
//! Packets leave the publisher every 20 ms and arrive unevenly. Played the moment they are decoded,
//! the first late packet empties the queue and the speaker gets silence. So the buffer holds a
//! target: the spread of the packets' delays over the last 250 packets (95th percentile
//! over the lowest: the extra delay nineteen packets in twenty stay within) plus a base of
//! 30 ms; it plays only once that much is queued, and after running dry waits for it again.
//! A queue grown well past the target (a burst after a stall) is cut back to it, cross-faded.
//! Pure: the time of each arrival is an argument.

use std::collections::VecDeque;
use std::time::Instant;

use otter_media::AUDIO_SAMPLE_RATE;

/// Samples per millisecond.
const PER_MS: usize = AUDIO_SAMPLE_RATE as usize / 1000;
/// The least held: one 20 ms packet and the 10 ms the output takes at a time.
const BASE_MS: usize = 30;
/// The most held: beyond it a late packet is better concealed than waited for.
const MAX_TARGET_MS: usize = 200;
/// Arrivals the jitter is measured over: five seconds of 20 ms packets.
const JITTER_WINDOW: usize = 250;
/// A queue this far past the target is cut back to it.
const EXCESS_MS: usize = 60;
/// The cross-fade over a cut.
const FADE: usize = 2 * PER_MS;
/// A silence longer than this is heard as a gap (the threshold).
pub const AUDIBLE_GAP_MS: u64 = 60;

/// What the buffer did, for the subscriber's statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayoutStats {
    /// The delay the buffer aims to hold now, milliseconds (W3C `jitterBufferTargetDelay`).
    pub target_ms: u32,
    /// Silences longer than [`AUDIBLE_GAP_MS`] played because audio ran out.
    pub audible_gaps: u64,
    /// The longest such silence, milliseconds.
    pub longest_gap_ms: u64,
}

/// The relative delay of the last [`JITTER_WINDOW`] arrivals.
#[derive(Debug)]
struct Jitter {
    /// The first arrival's time.
    first: Option<Instant>,
    /// The last RTP timestamp, and the media time since the first, in samples (extended past
    /// wrap-around by the signed difference, so reordering is read right too).
    last_ts: u32,
    media: i64,
    delays_ms: [f32; JITTER_WINDOW],
    len: usize,
    next: usize,
}

impl Jitter {
    fn new() -> Self {
        Self {
            first: None,
            last_ts: 0,
            media: 0,
            delays_ms: [0.0; JITTER_WINDOW],
            len: 0,
            next: 0,
        }
    }

    fn note(&mut self, now: Instant, rtp_timestamp: u32) {
        let first = match self.first {
            Some(first) => {
                self.media += rtp_timestamp.wrapping_sub(self.last_ts) as i32 as i64;
                first
            }
            None => *self.first.insert(now),
        };
        self.last_ts = rtp_timestamp;
        let media_ms = self.media as f64 * 1000.0 / AUDIO_SAMPLE_RATE as f64;
        let wall_ms = now.duration_since(first).as_secs_f64() * 1000.0;
        self.delays_ms[self.next] = (wall_ms - media_ms) as f32;
        self.next = (self.next + 1) % JITTER_WINDOW;
        self.len = (self.len + 1).min(JITTER_WINDOW);
    }

    /// The 95th percentile of the delays over their lowest, milliseconds.
    fn spread_ms(&self) -> f32 {
        if self.len < 2 {
            return 0.0;
        }
        let mut sorted = self.delays_ms;
        let delays = &mut sorted[..self.len];
        let lowest = delays.iter().copied().fold(f32::INFINITY, f32::min);
        let at = (self.len * 95 / 100).min(self.len - 1);
        let (_, p95, _) = delays.select_nth_unstable_by(at, f32::total_cmp);
        *p95 - lowest
    }
}

/// One input's queue of decoded samples and its playout state.
#[derive(Debug)]
pub struct Playout {
    queue: VecDeque<i16>,
    jitter: Jitter,
    target: usize,
    playing: bool,
    /// Whether it has ever played: silence before the first audio is not a gap.
    started: bool,
    /// Samples of silence played since audio ran out.
    gap: u64,
    stats: PlayoutStats,
}

impl Default for Playout {
    fn default() -> Self {
        Self::new()
    }
}

impl Playout {
    /// An empty buffer at the base target.
    pub fn new() -> Self {
        Self {
            queue: VecDeque::with_capacity((MAX_TARGET_MS + EXCESS_MS + 40) * PER_MS),
            jitter: Jitter::new(),
            target: BASE_MS * PER_MS,
            playing: false,
            started: false,
            gap: 0,
            stats: PlayoutStats {
                target_ms: BASE_MS as u32,
                ..PlayoutStats::default()
            },
        }
    }

    /// An RTP packet arrived at `now` with `rtp_timestamp` (48 kHz): the target follows the jitter.
    pub fn note_arrival(&mut self, now: Instant, rtp_timestamp: u32) {
        self.jitter.note(now, rtp_timestamp);
        let target_ms = (self.jitter.spread_ms().max(0.0) as usize + BASE_MS).min(MAX_TARGET_MS);
        self.target = target_ms * PER_MS;
        self.stats.target_ms = target_ms as u32;
    }

    /// Queues decoded samples; a queue far past the target is cut back to it.
    pub fn push(&mut self, samples: &[i16]) {
        self.queue.extend(samples.iter().copied());
        if self.queue.len() > self.target + EXCESS_MS * PER_MS {
            self.cut(self.queue.len() - self.target);
        }
    }

    /// Drops `n` samples from the head, cross-fading the samples on either side of the cut.
    fn cut(&mut self, n: usize) {
        let fade = FADE.min(self.queue.len().saturating_sub(n));
        for i in 0..fade {
            let w = (i + 1) as f32 / (fade + 1) as f32;
            let blended = self.queue[i] as f32 * (1.0 - w) + self.queue[n + i] as f32 * w;
            self.queue[n + i] = blended as i16;
        }
        self.queue.drain(..n);
    }

    /// Mixes the next `out.len()` samples into `out` at `gain`. Never allocates.
    pub fn pull(&mut self, out: &mut [f32], gain: f32) {
        if !self.playing && self.queue.len() >= self.target.max(1) {
            self.playing = true;
            self.started = true;
            self.end_gap();
        }
        let n = if self.playing {
            out.len().min(self.queue.len())
        } else {
            0
        };
        for (o, s) in out.iter_mut().zip(self.queue.drain(..n)) {
            *o += s as f32 * gain;
        }
        if self.started && n < out.len() {
            // Ran dry: the rest is silence, and it waits for the target again.
            self.playing = false;
            self.gap += (out.len() - n) as u64;
        }
    }

    fn end_gap(&mut self) {
        let ms = self.gap / PER_MS as u64;
        if ms > AUDIBLE_GAP_MS {
            self.stats.audible_gaps += 1;
        }
        self.stats.longest_gap_ms = self.stats.longest_gap_ms.max(ms);
        self.gap = 0;
    }

    /// What the buffer did so far.
    pub fn stats(&self) -> PlayoutStats {
        self.stats
    }

    /// Samples queued.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const PACKET: usize = 20 * PER_MS;

    /// Runs a tone's packets arriving `late(i)` ms after their due time, pulled 10 ms at a time;
    /// returns the playout statistics.
    fn run(playout: &mut Playout, packets: usize, late: impl Fn(usize) -> u64) -> PlayoutStats {
        let start = Instant::now();
        let mut arrivals: Vec<(u64, usize)> =
            (0..packets).map(|i| (i as u64 * 20 + late(i), i)).collect();
        arrivals.sort();
        let mut next = arrivals.into_iter().peekable();
        let mut out = [0f32; 10 * PER_MS];
        for ms in (0..packets as u64 * 20 + 400).step_by(10) {
            while let Some(&(at, i)) = next.peek() {
                if at > ms {
                    break;
                }
                playout.note_arrival(start + Duration::from_millis(at), (i * PACKET) as u32);
                playout.push(&[1_000; PACKET]);
                next.next();
            }
            out.fill(0.0);
            playout.pull(&mut out, 1.0);
        }
        playout.stats()
    }

    #[test]
    fn an_even_stream_plays_at_the_base_target_without_gaps() {
        let stats = run(&mut Playout::new(), 500, |_| 0);
        assert_eq!(stats.target_ms, BASE_MS as u32);
        assert_eq!(stats.audible_gaps, 0);
    }

    #[test]
    fn jitter_raises_the_target_and_the_gaps_go() {
        // Every 0.7 s the path stalls for 120 ms and what was due meanwhile arrives at once (a late
        // packet alone would be concealed by the decoder, not waited for). At the base target each
        // stall is heard as a gap of about 90 ms; with the target at the spread there is none.
        let late = |i: usize| {
            let k = (i % 35) as u64;
            if k < 6 {
                (6 - k) * 20 - 10
            } else {
                0
            }
        };
        let stats = run(&mut Playout::new(), 1_000, late);
        assert!((90..=150).contains(&stats.target_ms), "{stats:?}");
        assert_eq!(stats.audible_gaps, 0, "{stats:?}");
    }

    #[test]
    fn a_lost_stretch_is_one_gap_and_play_resumes() {
        let mut playout = Playout::new();
        // 200 ms of nothing (10 packets never arrive) in the middle of an even stream.
        let start = Instant::now();
        let mut out = [0f32; 10 * PER_MS];
        for ms in (0..4_000u64).step_by(10) {
            let i = (ms / 20) as usize;
            if ms % 20 == 0 && !(100..110).contains(&i) {
                playout.note_arrival(start + Duration::from_millis(ms), (i * PACKET) as u32);
                playout.push(&[1_000; PACKET]);
            }
            out.fill(0.0);
            playout.pull(&mut out, 1.0);
        }
        let stats = playout.stats();
        assert_eq!(stats.audible_gaps, 1, "{stats:?}");
        assert!((190..=240).contains(&stats.longest_gap_ms), "{stats:?}");
        assert!(out.iter().all(|s| *s > 0.0), "playing again at the end");
    }

    #[test]
    fn a_burst_after_a_stall_is_cut_back_to_the_target() {
        let mut playout = Playout::new();
        for _ in 0..20 {
            playout.push(&[1_000; PACKET]);
        }
        assert!(
            playout.len() <= playout.target + EXCESS_MS * PER_MS,
            "{}",
            playout.len()
        );
    }
}
