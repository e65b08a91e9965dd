//! Down-mixing and linear resampling of a capture device's interleaved frames to the engine's mono
//! rate. Pure and allocation-free, so it can run inside the device's real-time callback and be tested
//! without a sound card.

/// Turns interleaved frames at the device's rate into mono samples at the output rate.
pub(crate) struct Resampler {
    channels: usize,
    /// Input frames per output sample.
    step: f64,
    /// Where the next output sample falls between `last` (0.0) and the current frame (1.0).
    phase: f64,
    /// The previous frame, down-mixed.
    last: f32,
}

impl Resampler {
    /// From `channels` interleaved channels at `input_rate` to mono at `output_rate`.
    pub(crate) fn new(channels: usize, input_rate: u32, output_rate: u32) -> Self {
        Self {
            channels: channels.max(1),
            step: input_rate as f64 / output_rate as f64,
            phase: 0.0,
            last: 0.0,
        }
    }

    /// Feeds whole frames of `data` (a trailing partial frame is ignored); calls `out` with each output
    /// sample, interpolated between neighbouring frames.
    pub(crate) fn push(&mut self, data: &[f32], mut out: impl FnMut(f32)) {
        for frame in data.chunks_exact(self.channels) {
            let mono = frame.iter().sum::<f32>() / self.channels as f32;
            while self.phase < 1.0 {
                out(self.last + (mono - self.last) * self.phase as f32);
                self.phase += self.step;
            }
            self.phase -= 1.0;
            self.last = mono;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Resampler, input: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        // In device-sized pieces, as a callback would deliver them.
        for piece in input.chunks(480 * r.channels) {
            r.push(piece, |s| out.push(s));
        }
        out
    }

    fn sine(rate: u32, hz: f32, seconds: f32, channels: usize) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .flat_map(|i| {
                let v = (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 0.5;
                std::iter::repeat_n(v, channels)
            })
            .collect()
    }

    /// Sign changes per second, i.e. twice the frequency.
    fn crossings(samples: &[f32], rate: u32) -> f32 {
        let n = samples
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        n as f32 * rate as f32 / samples.len() as f32
    }

    #[test]
    fn rates_convert_keeping_duration_and_pitch() {
        for input_rate in [44_100, 16_000, 96_000, 48_000] {
            let mut r = Resampler::new(2, input_rate, 48_000);
            let out = run(&mut r, &sine(input_rate, 440.0, 1.0, 2));
            assert!(
                (out.len() as i64 - 48_000).abs() <= 2,
                "{input_rate}: {}",
                out.len()
            );
            let hz = crossings(&out, 48_000) / 2.0;
            assert!((hz - 440.0).abs() < 2.0, "{input_rate}: {hz} Hz");
        }
    }

    #[test]
    fn channels_are_averaged_and_a_level_is_kept() {
        let mut r = Resampler::new(2, 48_000, 48_000);
        let stereo: Vec<f32> = (0..960).flat_map(|_| [0.25, 0.75]).collect();
        let out = run(&mut r, &stereo);
        // The first sample interpolates from silence; every later one is the mean of the pair.
        assert!(
            out[1..].iter().all(|s| (s - 0.5).abs() < 1e-6),
            "{:?}",
            &out[..4]
        );
        assert_eq!(out.len(), 960);
    }

    #[test]
    fn a_partial_frame_is_ignored_not_misread() {
        let mut r = Resampler::new(2, 48_000, 48_000);
        let mut out = Vec::new();
        r.push(&[0.5, 0.5, 0.9], |s| out.push(s));
        assert_eq!(out.len(), 1);
    }
}
