//! When to try again after the link drops: exponential backoff with full jitter, capped.
//! Pure: the random sample is an argument, so tests pin it.

use std::time::Duration;

/// The reconnection schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// The first retry's upper bound.
    pub base: Duration,
    /// No wait is longer than this.
    pub max: Duration,
    /// How long one attempt (open the socket and hear back) may take before it is abandoned.
    pub attempt_timeout: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            max: Duration::from_secs(4),
            attempt_timeout: Duration::from_secs(5),
        }
    }
}

impl ReconnectPolicy {
    /// The wait before retry number `attempt` (0 = the first), given `jitter` in `[0, 1)`: a random
    /// point in the upper half of `[0, min(max, base·2^attempt)]`, so clients that dropped together
    /// do not return together, yet nobody retries in a busy loop.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
            .min(self.max);
        ceiling.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// A small deterministic generator for jitter (xorshift64*), seeded by the caller.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator from `seed` (0 is replaced, as xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next sample in `[0, 1)`.
    pub fn sample(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (v >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.delay(0, 0.0), Duration::from_millis(125));
        assert_eq!(p.delay(0, 1.0), Duration::from_millis(250));
        assert_eq!(p.delay(2, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(10, 1.0), Duration::from_secs(4));
        assert_eq!(p.delay(u32::MAX, 0.0), Duration::from_secs(2));
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let mut j = Jitter::new(42);
        let samples: Vec<f64> = (0..1000).map(|_| j.sample()).collect();
        assert!(samples.iter().all(|s| (0.0..1.0).contains(s)));
        let mean = samples.iter().sum::<f64>() / 1000.0;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }
}
