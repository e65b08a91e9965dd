//! Audio playback: every subscriber's decoded audio is mixed (with its volume) and played on the default
//! output device through cpal. Without an output device — as on a server or in CI — a null sink pulls
//! the mix at real-time pace instead, so queues stay bounded; that is logged once.
//!
//! Each input is a playout buffer (`playout.rs`): it holds as much audio as the arrivals' jitter needs
//! and no more, so a late packet is not heard as silence and latency cannot build up.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use otter_media::AUDIO_SAMPLE_RATE;

use super::playout::{Playout, PlayoutStats};

/// The null sink's pace: 10 ms.
const NULL_SINK_CHUNK: usize = AUDIO_SAMPLE_RATE as usize / 100;

/// One source of sound for the mix (a subscriber).
pub struct AudioInput {
    playout: Mutex<Playout>,
    /// 0–100.
    volume: AtomicU32,
}

impl AudioInput {
    /// Queues decoded samples for playback.
    pub fn push(&self, samples: &[i16]) {
        self.playout().push(samples);
    }

    /// An RTP packet of this input arrived now: the playout delay follows the arrivals' jitter.
    pub fn note_arrival(&self, rtp_timestamp: u32) {
        self.playout().note_arrival(Instant::now(), rtp_timestamp);
    }

    /// What the playout buffer did so far.
    pub fn playout_stats(&self) -> PlayoutStats {
        self.playout().stats()
    }

    fn playout(&self) -> std::sync::MutexGuard<'_, Playout> {
        self.playout.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the volume, 0–100.
    pub fn set_volume(&self, volume: u8) {
        self.volume.store(volume.min(100) as u32, Ordering::Relaxed);
    }
}

/// The process-wide mixer and its output.
pub struct AudioMixer {
    inputs: Mutex<Vec<Weak<AudioInput>>>,
    device: AtomicBool,
}

impl AudioMixer {
    /// The mixer, starting the output (device or null sink) on first use.
    pub fn global() -> &'static Arc<AudioMixer> {
        static MIXER: OnceLock<Arc<AudioMixer>> = OnceLock::new();
        MIXER.get_or_init(|| {
            let mixer = Arc::new(AudioMixer {
                inputs: Mutex::new(Vec::new()),
                device: AtomicBool::new(false),
            });
            start_output(mixer.clone());
            mixer
        })
    }

    /// A new input at `volume` (0–100); it leaves the mix when dropped.
    pub fn add_input(&self, volume: u8) -> Arc<AudioInput> {
        let input = Arc::new(AudioInput {
            playout: Mutex::new(Playout::new()),
            volume: AtomicU32::new(volume.min(100) as u32),
        });
        let mut inputs = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
        inputs.retain(|w| w.strong_count() > 0);
        inputs.push(Arc::downgrade(&input));
        input
    }

    /// Whether a real output device plays the mix.
    pub fn has_device(&self) -> bool {
        self.device.load(Ordering::Relaxed)
    }

    /// Mixes the next `out.len()` samples (mono, 48 kHz) into `out`. Called from the output callback:
    /// it only takes short locks and never allocates.
    pub fn mix(&self, out: &mut [f32]) {
        out.fill(0.0);
        let Ok(inputs) = self.inputs.try_lock() else {
            return;
        };
        for input in inputs.iter().filter_map(Weak::upgrade) {
            let gain = input.volume.load(Ordering::Relaxed) as f32 / 100.0 / i16::MAX as f32;
            let Ok(mut playout) = input.playout.try_lock() else {
                continue;
            };
            playout.pull(out, gain);
        }
        for o in out.iter_mut() {
            *o = o.clamp(-1.0, 1.0);
        }
    }
}

fn start_output(mixer: Arc<AudioMixer>) {
    match device_output(mixer.clone()) {
        Ok(()) => mixer.device.store(true, Ordering::Relaxed),
        Err(why) => {
            tracing::warn!(%why, "no audio output device: received audio is mixed but not played");
            null_sink(mixer);
        }
    }
}

/// Pulls the mix at real-time pace and discards it.
fn null_sink(mixer: Arc<AudioMixer>) {
    let spawned = std::thread::Builder::new()
        .name("otter-null-audio-sink".into())
        .spawn(move || {
            let mut buf = vec![0f32; NULL_SINK_CHUNK];
            let period = Duration::from_millis(10);
            let mut next = Instant::now();
            loop {
                mixer.mix(&mut buf);
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the null audio sink");
    }
}

/// Plays the mix on the default output device, when it runs at 48 kHz (no resampling here yet).
fn device_output(mixer: Arc<AudioMixer>) -> Result<(), String> {
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    let device = cpal::default_host()
        .default_output_device()
        .ok_or("no default output device")?;
    let config = device.default_output_config().map_err(|e| e.to_string())?;
    if config.sample_rate().0 != AUDIO_SAMPLE_RATE {
        return Err(format!(
            "the output device runs at {} Hz, not {AUDIO_SAMPLE_RATE}",
            config.sample_rate().0
        ));
    }
    if config.sample_format() != cpal::SampleFormat::F32 {
        return Err(format!(
            "the output device takes {:?} samples, not f32",
            config.sample_format()
        ));
    }
    let channels = config.channels() as usize;
    // Sized for the largest callback a device asks for; the callback must not allocate.
    let mut mono = vec![0f32; 16_384];
    let stream = device
        .build_output_stream(
            &config.into(),
            move |data: &mut [f32], _| {
                let frames = (data.len() / channels).min(mono.len());
                mixer.mix(&mut mono[..frames]);
                for (frame, s) in data.chunks_mut(channels).zip(&mono[..frames]) {
                    frame.fill(*s);
                }
            },
            |e| tracing::warn!(error = %e, "audio output error"),
            None,
        )
        .map_err(|e| e.to_string())?;
    stream.play().map_err(|e| e.to_string())?;
    // The mixer lives as long as the process, and so must its stream (which is not Send, so it cannot
    // be stored in the shared mixer): it is leaked on purpose, once.
    std::mem::forget(stream);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_with_volume_and_bounds_what_is_held() {
        let mixer = AudioMixer {
            inputs: Mutex::new(Vec::new()),
            device: AtomicBool::new(false),
        };
        let a = mixer.add_input(100);
        let b = mixer.add_input(50);
        // A packet of 40 ms each: more than the playout buffer's starting target, so both play.
        a.push(&[16_384; 1_920]);
        b.push(&[16_384; 1_920]);
        let mut out = [0f32; 10];
        mixer.mix(&mut out);
        assert!((out[0] - 0.75).abs() < 0.01, "{}", out[0]);
        // A second of audio at once is cut back to well under a second.
        a.push(&vec![1; AUDIO_SAMPLE_RATE as usize]);
        assert!(a.playout().len() < AUDIO_SAMPLE_RATE as usize / 5);
        drop(b);
        let c = mixer.add_input(1);
        assert_eq!(c.volume.load(Ordering::Relaxed), 1);
        assert_eq!(
            mixer
                .inputs
                .lock()
                .unwrap()
                .iter()
                .filter(|w| w.strong_count() > 0)
                .count(),
            2
        );
    }
}
