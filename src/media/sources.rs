//! Where a publisher's media comes from. Each source captures on its own thread and hands frames over
//! without blocking: video into a [`LatestSlot`] (the encoder takes the newest), audio into a short
//! bounded queue (audio must not skip, but must not build latency either).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use otter_media::frame::unix_micros;
use otter_media::{AudioFrame, TestPattern, ToneGenerator, VideoFrame, AUDIO_FRAME_SAMPLES};
use otter_protocol::OtError;

use super::slot::LatestSlot;

/// The size and rate a video source is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFormat {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

/// Where captured video goes: the newest frame wins.
pub type VideoOutput = Arc<LatestSlot<VideoFrame>>;

/// 20 ms audio frames queued between capture and encoder: 10 = 200 ms. When full, the newest frame is
/// dropped and counted (the encoder is stalled; catching up later would only add delay).
pub const AUDIO_QUEUE_FRAMES: usize = 10;

/// Where captured audio goes.
#[derive(Clone)]
pub struct AudioOutput {
    tx: SyncSender<AudioFrame>,
    dropped: Arc<AtomicU64>,
}

impl AudioOutput {
    /// A queue of [`AUDIO_QUEUE_FRAMES`] and its receiving end.
    pub fn new() -> (Self, Receiver<AudioFrame>) {
        let (tx, rx) = sync_channel(AUDIO_QUEUE_FRAMES);
        (
            Self {
                tx,
                dropped: Arc::default(),
            },
            rx,
        )
    }

    /// Hands a frame over without waiting. False once the receiver is gone.
    pub fn push(&self, frame: AudioFrame) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Frames dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A running capture; dropping it stops the capture and joins its thread.
pub struct Capture {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Runs `body` on a named thread until stopped; `body` gets the stop flag to poll.
    pub fn spawn(
        name: &str,
        body: impl FnOnce(Arc<AtomicBool>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || body(flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// A capture without a thread of its own (the app pushes).
    pub fn passive() -> Self {
        Self {
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Something that produces video.
pub trait VideoSource: Send + Sync {
    /// Starts capturing frames of about `format` into `output`.
    fn start(&self, format: VideoFormat, output: VideoOutput) -> Result<Capture, OtError>;
}

/// Something that produces 48 kHz mono audio in 20 ms frames.
pub trait AudioSource: Send + Sync {
    /// Starts capturing into `output`.
    fn start(&self, output: AudioOutput) -> Result<Capture, OtError>;
}

/// Sleeps until `deadline` in slices, returning false early if `stop` is set.
pub(crate) fn sleep_until(deadline: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// The built-in test pattern (see [`otter_media::pattern`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct TestPatternSource;

impl VideoSource for TestPatternSource {
    fn start(&self, format: VideoFormat, output: VideoOutput) -> Result<Capture, OtError> {
        let interval = Duration::from_secs(1) / format.fps.max(1);
        Capture::spawn("otter-test-pattern", move |stop| {
            let mut pattern = TestPattern::new(format.width, format.height);
            let mut next = Instant::now();
            while sleep_until(next, &stop) {
                let mut frame = VideoFrame::black(format.width, format.height);
                pattern.render_into(&mut frame, unix_micros());
                output.put(frame);
                next += interval;
                // After a stall, start afresh rather than bursting to catch up.
                if next + interval < Instant::now() {
                    next = Instant::now();
                }
            }
        })
        .map_err(capture_thread_error)
    }
}

/// A sine tone.
#[derive(Debug, Clone, Copy)]
pub struct ToneSource {
    /// Frequency in hertz.
    pub frequency_hz: f32,
}

impl AudioSource for ToneSource {
    fn start(&self, output: AudioOutput) -> Result<Capture, OtError> {
        let frequency = self.frequency_hz;
        Capture::spawn("otter-tone", move |stop| {
            let mut tone = ToneGenerator::new(frequency);
            let period = Duration::from_millis(20);
            let mut next = Instant::now();
            while sleep_until(next, &stop) {
                let mut frame = AudioFrame {
                    samples: vec![0; AUDIO_FRAME_SAMPLES],
                    capture_time_us: unix_micros(),
                };
                tone.fill(&mut frame.samples);
                if !output.push(frame) {
                    break;
                }
                next += period;
            }
        })
        .map_err(capture_thread_error)
    }
}

fn capture_thread_error(e: std::io::Error) -> OtError {
    otter_protocol::ErrorCode::UnableToPublish
        .with_message(format!("cannot start a capture thread: {e}"))
}

/// Video pushed by the application: call [`CustomVideoSource::push`] with frames of any size.
#[derive(Default)]
pub struct CustomVideoSource {
    output: std::sync::Mutex<Option<VideoOutput>>,
}

impl CustomVideoSource {
    /// A source with nothing pushed yet.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Offers a frame to the publisher (the newest wins). Without a running publisher, it is dropped.
    pub fn push(&self, frame: VideoFrame) {
        if let Some(out) = self
            .output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            out.put(frame);
        }
    }
}

impl VideoSource for CustomVideoSource {
    fn start(&self, _format: VideoFormat, output: VideoOutput) -> Result<Capture, OtError> {
        *self.output.lock().unwrap_or_else(|p| p.into_inner()) = Some(output);
        Ok(Capture::passive())
    }
}

/// Audio pushed by the application in 20 ms frames.
#[derive(Default)]
pub struct CustomAudioSource {
    output: std::sync::Mutex<Option<AudioOutput>>,
}

impl CustomAudioSource {
    /// A source with nothing pushed yet.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Offers 20 ms of audio to the publisher.
    pub fn push(&self, frame: AudioFrame) {
        if let Some(out) = self
            .output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            out.push(frame);
        }
    }
}

impl AudioSource for CustomAudioSource {
    fn start(&self, output: AudioOutput) -> Result<Capture, OtError> {
        *self.output.lock().unwrap_or_else(|p| p.into_inner()) = Some(output);
        Ok(Capture::passive())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otter_media::pattern::read_stamp;

    #[test]
    fn test_pattern_captures_stamped_frames_at_its_rate() {
        let output: VideoOutput = Arc::new(LatestSlot::new());
        let capture = TestPatternSource
            .start(
                VideoFormat {
                    width: 320,
                    height: 240,
                    fps: 50,
                },
                output.clone(),
            )
            .unwrap();
        let mut counters = Vec::new();
        let started = Instant::now();
        while counters.len() < 10 {
            let frame = output
                .take_wait(Duration::from_secs(5))
                .expect("frames arrive");
            counters.push(read_stamp(&frame).expect("stamped").counter);
        }
        drop(capture);
        assert!(counters.windows(2).all(|w| w[1] > w[0]));
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "faster than 50 fps: {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn tone_captures_in_real_time() {
        let (output, rx) = AudioOutput::new();
        let capture = ToneSource {
            frequency_hz: 440.0,
        }
        .start(output)
        .unwrap();
        let frames: Vec<AudioFrame> = (0..5)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        drop(capture);
        assert!(frames
            .iter()
            .all(|f| f.samples.len() == AUDIO_FRAME_SAMPLES));
        assert!(frames[4].capture_time_us - frames[0].capture_time_us >= 70_000);
    }

    #[test]
    fn custom_sources_forward_pushes() {
        let source = CustomVideoSource::new();
        source.push(VideoFrame::black(2, 2)); // before start: dropped
        let output: VideoOutput = Arc::new(LatestSlot::new());
        let _capture = source
            .start(
                VideoFormat {
                    width: 2,
                    height: 2,
                    fps: 1,
                },
                output.clone(),
            )
            .unwrap();
        assert!(output.take().is_none());
        source.push(VideoFrame::black(4, 4));
        assert_eq!(output.take().unwrap().width(), 4);
    }
}
