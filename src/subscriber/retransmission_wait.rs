//! How long a video frame with a gap waits for the missing packets' retransmission: as long as gaps
//! have taken to fill on this path, with margin. A fixed wait is wrong both ways: on a 100 ms round
//! trip a retransmission needs more than 150 ms (NACK, resend, jitter), so frames that would have been
//! saved are dropped and each costs a key frame; on loopback a lost packet is back in milliseconds and
//! a long wait only delays the frame that is truly gone. So the wait follows a decaying peak of the
//! recent fill times (a gap that filled late raises it at once, quiet time lowers it 5 % per sample),
//! is raised a little when a frame had to be given up, and stays within [`MIN_WAIT`]..[`MAX_WAIT`].
//! Sans-IO: the assembler reports what happened.

use std::time::Duration;

/// Never shorter: a retransmission on a fast path still crosses a NACK interval.
const MIN_WAIT: Duration = Duration::from_millis(100);
/// Never longer: past this a stall is worse than a key frame.
const MAX_WAIT: Duration = Duration::from_millis(500);
/// Before any gap has filled: what the path is assumed to take (the wait starts near 150 ms).
const INITIAL_PEAK: Duration = Duration::from_millis(90);
/// The wait is this many times the peak fill time, plus [`MARGIN`].
const HEADROOM: f64 = 1.5;
const MARGIN: Duration = Duration::from_millis(20);

/// The wait for one video stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetransmissionWait {
    /// A decaying peak of how long gaps took to fill.
    peak: Duration,
}

impl Default for RetransmissionWait {
    fn default() -> Self {
        Self { peak: INITIAL_PEAK }
    }
}

impl RetransmissionWait {
    /// How long a frame with a gap may wait now.
    pub(crate) fn current(&self) -> Duration {
        (self.peak.mul_f64(HEADROOM) + MARGIN).clamp(MIN_WAIT, MAX_WAIT)
    }

    /// A gap filled, `took` after the frame first waited on it.
    pub(crate) fn filled(&mut self, took: Duration) {
        self.peak = took.max(self.peak.mul_f64(0.95)).min(MAX_WAIT);
    }

    /// A frame was given up after waiting [`Self::current`]: its retransmission may have been on
    /// its way, so wait a little longer next time.
    pub(crate) fn expired(&mut self) {
        self.peak = self.peak.mul_f64(1.1).min(MAX_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_wait_follows_how_long_gaps_take_to_fill() {
        let mut w = RetransmissionWait::default();
        assert_eq!(w.current(), 155 * MS);
        // A 100 ms round trip: gaps fill in about 130 ms; the wait makes room for that.
        w.filled(130 * MS);
        assert_eq!(w.current(), 215 * MS);
        // A fast path: the wait comes down, to its floor.
        for _ in 0..100 {
            w.filled(5 * MS);
        }
        assert_eq!(w.current(), MIN_WAIT);
        // Frames given up raise it a little each time, never past the ceiling.
        for _ in 0..100 {
            w.expired();
        }
        assert_eq!(w.current(), MAX_WAIT);
    }
}
