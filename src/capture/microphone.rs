//! The microphone, through cpal. The device's callback only copies samples into a ring (no allocation,
//! no logging, no waiting: a busy ring loses the buffer and counts it); a capture thread cuts the ring into
//! 20 ms mono 48 kHz frames, down-mixing and resampling (linear) as the device requires.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use otter_media::frame::unix_micros;
use otter_media::{AudioFrame, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use otter_protocol::{ErrorCode, OtError};

use super::resample::Resampler;
use crate::media::{AudioOutput, AudioSource, Capture};

/// At most this much audio waits between the device callback and the capture thread: 200 ms.
const RING_SAMPLES: usize = AUDIO_SAMPLE_RATE as usize / 5;

/// A microphone, by name (from `devices()`) or the default.
#[derive(Debug, Clone, Default)]
pub struct MicrophoneSource {
    /// A device name; None = the system default.
    pub device: Option<String>,
}

fn hardware(e: impl std::fmt::Display) -> OtError {
    ErrorCode::HardwareUnavailable.with_message(format!("cannot open the microphone: {e}"))
}

/// Samples from the callback, already mono and at 48 kHz.
struct Ring {
    samples: Mutex<VecDeque<f32>>,
    dropped: AtomicU64,
}

impl AudioSource for MicrophoneSource {
    fn start(&self, output: AudioOutput) -> Result<Capture, OtError> {
        let host = cpal::default_host();
        let device = match &self.device {
            Some(name) => host
                .input_devices()
                .map_err(hardware)?
                .find(|d| d.name().is_ok_and(|n| &n == name))
                .ok_or_else(|| {
                    ErrorCode::HardwareUnavailable
                        .with_message(format!("no microphone named {name:?}"))
                })?,
            None => host.default_input_device().ok_or_else(|| {
                ErrorCode::HardwareUnavailable
                    .with_message("no microphone is available on this machine")
            })?,
        };
        let config = device.default_input_config().map_err(hardware)?;
        if config.sample_format() != cpal::SampleFormat::F32 {
            return Err(hardware(format!(
                "{:?} samples are not supported yet",
                config.sample_format()
            )));
        }
        let mut resampler = Resampler::new(
            config.channels() as usize,
            config.sample_rate().0,
            AUDIO_SAMPLE_RATE,
        );
        let ring = Arc::new(Ring {
            samples: Mutex::new(VecDeque::with_capacity(RING_SAMPLES)),
            dropped: AtomicU64::new(0),
        });
        let (opened_tx, opened) = mpsc::channel::<Result<(), OtError>>();
        let capture = Capture::spawn("otter-microphone", {
            let ring = ring.clone();
            move |stop| {
                let callback_ring = ring.clone();
                let stream = device.build_input_stream(
                    &config.into(),
                    move |data: &[f32], _| {
                        let Ok(mut q) = callback_ring.samples.try_lock() else {
                            callback_ring.dropped.fetch_add(1, Ordering::Relaxed);
                            return;
                        };
                        resampler.push(data, |sample| {
                            if q.len() < RING_SAMPLES {
                                q.push_back(sample);
                            }
                        });
                    },
                    |_| {},
                    None,
                );
                let stream = match stream
                    .map_err(hardware)
                    .and_then(|s| s.play().map(|_| s).map_err(hardware))
                {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(()));
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                    loop {
                        let samples: Vec<i16> = {
                            let mut q = ring.samples.lock().unwrap_or_else(|p| p.into_inner());
                            if q.len() < AUDIO_FRAME_SAMPLES {
                                break;
                            }
                            q.drain(..AUDIO_FRAME_SAMPLES)
                                .map(|s| (s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16)
                                .collect()
                        };
                        if !output.push(AudioFrame {
                            samples,
                            capture_time_us: unix_micros(),
                        }) {
                            return;
                        }
                    }
                }
                drop(stream);
            }
        })
        .map_err(hardware)?;
        match opened.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(capture),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                Err(ErrorCode::HardwareUnavailable
                    .with_message("the microphone did not open in time"))
            }
        }
    }
}
