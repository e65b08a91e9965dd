//! Audio fallback, as OpenTok defines it: when the network cannot carry a subscriber's video, first a
//! warning, then the video stops at the server so the audio it shares the link with keeps going, and
//! it comes back when the link has recovered. Sans-IO: fed the received and lost packet counters once
//! a second, it says what to do; `quality_watch` in `monitor.rs` does it.

/// A stream's received and lost RTP packets so far (webrtc-rs's inbound statistics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub packets: u64,
    pub lost: u64,
}

/// What the subscriber does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `video_disable_warning`.
    Warn,
    /// Stop the video at the server; `video_disabled(quality)`.
    Disable,
    /// Resume it; `video_enabled(quality)`.
    Enable,
    /// `video_disable_warning_lifted`.
    LiftWarning,
}

/// A second with this share of its packets lost is bad.
const BAD_LOSS: f64 = 0.10;
/// A second with less than this share lost is good.
const GOOD_LOSS: f64 = 0.03;
/// Fewer packets than this in a second say nothing (video paused, a still picture).
const MIN_PACKETS: u64 = 10;
/// Bad seconds in a row before the warning, and then before the video stops.
const BAD_TO_WARN: u32 = 2;
const BAD_TO_DISABLE: u32 = 3;
/// Good seconds in a row that lift the warning.
const GOOD_TO_LIFT: u32 = 3;
/// Seconds of clean audio before the video is tried again; doubled each time it has to stop again
/// (a link that cannot carry video is not probed every few seconds), up to the cap.
const FIRST_HOLD: u32 = 5;
const MAX_HOLD: u32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Clear,
    Warned,
    Disabled,
}

#[derive(Debug)]
pub(crate) struct AudioFallback {
    state: State,
    video: Counters,
    audio: Counters,
    /// Judged seconds in a row of each kind.
    bad: u32,
    good: u32,
    /// Clean seconds the video waits for while disabled.
    hold: u32,
}

impl Default for AudioFallback {
    fn default() -> Self {
        Self {
            state: State::Clear,
            video: Counters::default(),
            audio: Counters::default(),
            bad: 0,
            good: 0,
            hold: FIRST_HOLD,
        }
    }
}

/// `Some(true)` for a bad second, `Some(false)` for a good one, `None` when it says nothing.
fn judge(before: Counters, now: Counters) -> Option<bool> {
    let received = now.packets.saturating_sub(before.packets);
    let lost = now.lost.saturating_sub(before.lost);
    let expected = received + lost;
    if expected < MIN_PACKETS {
        return None;
    }
    let loss = lost as f64 / expected as f64;
    if loss >= BAD_LOSS {
        Some(true)
    } else if loss < GOOD_LOSS {
        Some(false)
    } else {
        None
    }
}

impl AudioFallback {
    /// One second passed; `video` and `audio` are the counters now.
    pub fn on_second(&mut self, video: Counters, audio: Counters) -> Option<Step> {
        let video_verdict = judge(self.video, video);
        let audio_verdict = judge(self.audio, audio);
        (self.video, self.audio) = (video, audio);
        // While the video is off only the audio shows the link; with no audio either, waiting out
        // the hold is the probe.
        let verdict = match self.state {
            State::Disabled => audio_verdict.or(Some(false)),
            _ => video_verdict,
        };
        // A second in between (or too quiet to judge) neither extends nor breaks a run: retransmissions
        // make a lossy link's residual loss swing across the thresholds from one second to the next.
        match verdict {
            Some(true) => (self.bad, self.good) = (self.bad + 1, 0),
            Some(false) => (self.bad, self.good) = (0, self.good + 1),
            None => {}
        }
        let step = match self.state {
            State::Clear if self.bad >= BAD_TO_WARN => Step::Warn,
            State::Warned if self.bad >= BAD_TO_DISABLE => Step::Disable,
            State::Warned if self.good >= GOOD_TO_LIFT => Step::LiftWarning,
            State::Disabled if self.good >= self.hold => Step::Enable,
            _ => return None,
        };
        self.state = match step {
            Step::Warn | Step::Enable => State::Warned,
            Step::Disable => State::Disabled,
            Step::LiftWarning => State::Clear,
        };
        if step == Step::Enable {
            // Should it have to stop again, the next wait is longer.
            self.hold = self.hold.saturating_mul(2).min(MAX_HOLD);
        }
        if step == Step::LiftWarning {
            // A link that stayed good earns the short hold back.
            self.hold = FIRST_HOLD;
        }
        (self.bad, self.good) = (0, 0);
        Some(step)
    }

    /// The app turned the video off (or the publisher did): nothing to warn about or undo. The
    /// counters stay, so the next second is judged on its own.
    pub fn reset(&mut self) {
        (self.state, self.bad, self.good) = (State::Clear, 0, 0);
    }

    /// Whether the video is stopped for quality.
    #[cfg(test)]
    pub fn disabled(&self) -> bool {
        self.state == State::Disabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds seconds of (video packets, video lost, audio packets, audio lost) and collects the steps
    /// with the second they came at.
    fn run(fallback: &mut AudioFallback, seconds: &[(u64, u64, u64, u64)]) -> Vec<(usize, Step)> {
        let (mut video, mut audio) = (fallback.video, fallback.audio);
        let mut steps = Vec::new();
        for (i, &(vp, vl, ap, al)) in seconds.iter().enumerate() {
            video.packets += vp;
            video.lost += vl;
            audio.packets += ap;
            audio.lost += al;
            if let Some(step) = fallback.on_second(video, audio) {
                steps.push((i, step));
            }
        }
        steps
    }

    const CLEAN: (u64, u64, u64, u64) = (100, 0, 50, 0);
    const LOSSY: (u64, u64, u64, u64) = (75, 25, 38, 12);
    /// Video off at the server: audio only.
    const AUDIO_ONLY_CLEAN: (u64, u64, u64, u64) = (0, 0, 50, 0);
    const AUDIO_ONLY_LOSSY: (u64, u64, u64, u64) = (0, 0, 38, 12);

    #[test]
    fn sustained_loss_warns_then_disables_and_a_recovered_link_brings_video_back() {
        let mut f = AudioFallback::default();
        let mut seconds = vec![CLEAN; 3];
        seconds.extend([LOSSY; 6]);
        seconds.extend([AUDIO_ONLY_LOSSY; 4]);
        seconds.extend([AUDIO_ONLY_CLEAN; 5]);
        seconds.extend([CLEAN; 3]);
        let steps = run(&mut f, &seconds);
        assert_eq!(
            steps,
            [
                (4, Step::Warn),
                (7, Step::Disable),
                (17, Step::Enable),
                (20, Step::LiftWarning)
            ]
        );
        assert!(!f.disabled());
    }

    #[test]
    fn a_short_burst_only_warns_and_the_warning_lifts() {
        let mut f = AudioFallback::default();
        let mut seconds = vec![CLEAN, LOSSY, LOSSY];
        seconds.extend([CLEAN; 3]);
        assert_eq!(
            run(&mut f, &seconds),
            [(2, Step::Warn), (5, Step::LiftWarning)]
        );
    }

    #[test]
    fn video_that_fails_again_waits_longer_each_time() {
        let mut f = AudioFallback::default();
        let mut seconds = vec![LOSSY; 5];
        seconds.extend([AUDIO_ONLY_CLEAN; FIRST_HOLD as usize]);
        // Back, and the link still cannot carry it.
        seconds.extend([LOSSY; 3]);
        // The second hold is twice the first: one second short of it, still off.
        seconds.extend([AUDIO_ONLY_CLEAN; 2 * FIRST_HOLD as usize - 1]);
        let steps: Vec<Step> = run(&mut f, &seconds).into_iter().map(|s| s.1).collect();
        assert_eq!(
            steps,
            [Step::Warn, Step::Disable, Step::Enable, Step::Disable]
        );
        assert_eq!(run(&mut f, &[AUDIO_ONLY_CLEAN]), [(0, Step::Enable)]);
    }

    #[test]
    fn quiet_seconds_say_nothing_and_a_reset_forgets() {
        let mut f = AudioFallback::default();
        // A paused video (few packets) is no evidence either way.
        assert_eq!(run(&mut f, &[(3, 2, 0, 0); 10]), []);
        assert_eq!(run(&mut f, &[LOSSY; 2]), [(1, Step::Warn)]);
        f.reset();
        assert_eq!(run(&mut f, &[CLEAN; 5]), []);
        assert!(!f.disabled());
        // A second in between (6 % lost: retransmissions won some back) does not break a bad run.
        let middling = (94, 6, 50, 0);
        assert_eq!(run(&mut f, &[LOSSY, middling, LOSSY]), [(2, Step::Warn)]);
    }
}
