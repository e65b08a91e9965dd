//! A sine source, and what a receiver measures of audio: its dominant frequency and its level.

use crate::frame::AUDIO_SAMPLE_RATE;

/// A continuous sine at a fixed frequency, half of full scale.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    step: f64,
    phase: f64,
}

impl ToneGenerator {
    /// A tone of `frequency_hz` at 48 kHz.
    pub fn new(frequency_hz: f32) -> Self {
        Self {
            step: std::f64::consts::TAU * frequency_hz as f64 / AUDIO_SAMPLE_RATE as f64,
            phase: 0.0,
        }
    }

    /// Fills `out` with the next samples; the phase carries over between calls.
    pub fn fill(&mut self, out: &mut [i16]) {
        for s in out {
            *s = (self.phase.sin() * 16_384.0) as i16;
            self.phase = (self.phase + self.step) % std::f64::consts::TAU;
        }
    }
}

/// Power of one frequency in `samples` (the Goertzel algorithm).
fn goertzel(samples: &[i16], frequency: f64, rate: f64) -> f64 {
    let coeff = 2.0 * (std::f64::consts::TAU * frequency / rate).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = x as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The strongest frequency between 50 Hz and 4 kHz, to about 0.5 Hz; None for silence or too few
/// samples (less than 50 ms). A coarse 10 Hz scan, then a fine one around the peak.
pub fn dominant_frequency(samples: &[i16], rate: u32) -> Option<f32> {
    if samples.len() < rate as usize / 20 || samples.iter().all(|&s| s.unsigned_abs() < 64) {
        return None;
    }
    let rate = rate as f64;
    let peak = |from: f64, to: f64, step: f64| {
        let mut best = (from, f64::MIN);
        let mut f = from;
        while f <= to {
            let p = goertzel(samples, f, rate);
            if p > best.1 {
                best = (f, p);
            }
            f += step;
        }
        best.0
    };
    let coarse = peak(50.0, 4000.0, 10.0);
    Some(peak(coarse - 10.0, coarse + 10.0, 0.5) as f32)
}

/// Loudness in `0.0..=1.0`: RMS relative to a full-scale sine, as OpenTok's `audioLevel`.
pub fn audio_level(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let mean_square = samples
        .iter()
        .map(|&s| (s as f64) * (s as f64))
        .sum::<f64>()
        / samples.len() as f64;
    ((mean_square.sqrt() * std::f64::consts::SQRT_2) / i16::MAX as f64).min(1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_tone() {
        for hz in [440.0f32, 1000.0, 123.0] {
            let mut g = ToneGenerator::new(hz);
            let mut buf = vec![0i16; 24_000];
            g.fill(&mut buf);
            let f = dominant_frequency(&buf, AUDIO_SAMPLE_RATE).unwrap();
            assert!((f - hz).abs() <= 1.0, "{hz} → {f}");
            assert!(
                (audio_level(&buf) - 0.5).abs() < 0.02,
                "{}",
                audio_level(&buf)
            );
        }
        assert_eq!(dominant_frequency(&[0; 48_000], AUDIO_SAMPLE_RATE), None);
        assert_eq!(audio_level(&[]), 0.0);
    }
}
