//! The publisher's media pipeline: capture thread → encoder thread → async track writer.
//!
//! Video crosses from capture to encoder through a latest-frame slot (a slow encoder skips frames) and
//! from encoder to writer through a bounded channel of [`ENCODED_QUEUE`] frames (when full the frame is
//! dropped and the next one is made a key frame, so receivers recover). Audio keeps every frame up to the
//! capture queue's bound.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use otter_media::opus_codec::{OpusEncoder, MAX_OPUS_PACKET};
use otter_media::tone::audio_level;
use otter_media::{AudioFrame, EncodedFrame, VideoCodec, VideoEncoder, VideoEncoderSettings};
use rtc::media::Sample;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use super::congestion::Ladder;
use super::layers::{layer_bitrate, layer_sent, Halvings, LayerEncoder, MAX_LAYERS};
use crate::media::{VideoOutput, VideoSink};

/// Encoded frames waiting for the network: about a quarter second at 30 fps.
pub(crate) const ENCODED_QUEUE: usize = 8;

/// Counters the publisher reports.
#[derive(Default)]
pub(crate) struct PipelineStats {
    /// The congestion controller's send estimate, bits per second (0 = none yet).
    pub send_estimate_bps: AtomicU32,
    /// The video bitrate the encoder runs at.
    pub video_bitrate_bps: AtomicU32,
    /// The size and frame rate sent, `(width << 20) | (height << 8) | fps` (0 = nothing yet).
    pub sent_format: AtomicU64,
    /// The simulcast layers encoded, bit per layer.
    pub layers_sent: AtomicU8,
    pub frames_encoded: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub keyframes: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub audio_frames: AtomicU64,
    /// Latest audio level × 1000.
    pub audio_level_milli: AtomicU64,
}

/// Switches shared between the publisher handle and its threads.
#[derive(Default)]
pub(crate) struct Switches {
    pub stop: AtomicBool,
    pub publish_video: AtomicBool,
    pub publish_audio: AtomicBool,
    /// A keyframe is wanted, per simulcast layer.
    pub keyframe_requested: [AtomicBool; MAX_LAYERS],
    /// Simulcast layers no subscriber receives (bit per layer, from the server): not encoded.
    pub layers_paused: AtomicU8,
    /// The most the app wants video to use (bits per second): its bitrate or cap, changed at runtime.
    /// The encoder runs at this or less, as the congestion controller allows.
    pub video_bitrate: AtomicU32,
    /// The audio encoder's rate now (0 = leave it): lowered by the video thread on a thin link.
    pub audio_bitrate: AtomicU32,
    /// The share of the audio the server reported lost over the last second, percent: the Opus
    /// encoder adds that much in-band FEC.
    pub audio_loss_percent: AtomicU32,
}

impl Switches {
    /// Asks every layer's encoder for a keyframe.
    pub fn request_keyframes(&self) {
        for wanted in &self.keyframe_requested {
            wanted.store(true, Ordering::Relaxed);
        }
    }
}

/// What the video encoder follows besides its frames.
pub(crate) struct Steering {
    /// The send estimate of the publisher's peer connection (`rtc/feedback_tap.rs`).
    pub estimate: Arc<AtomicU32>,
    /// The audio encoder's bitrate (0 without audio): the estimate covers both.
    pub audio_bps: u32,
}

/// Encodes video from `frames` until stopped, as one encoder per simulcast layer (`outs`, best
/// first; one for a single layer). Runs on its own thread; `encoder` was opened by the caller for
/// `settings` (so a codec that cannot open fails the publish instead of sending nothing) and serves
/// the first layer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_video_encoder(
    codec: VideoCodec,
    encoder: Box<dyn VideoEncoder>,
    settings: VideoEncoderSettings,
    frames: VideoOutput,
    preview: Arc<VideoSink>,
    switches: Arc<Switches>,
    steering: Steering,
    stats: Arc<PipelineStats>,
    outs: Vec<mpsc::Sender<EncodedFrame>>,
) -> std::io::Result<JoinHandle<()>> {
    let mut layers: Vec<LayerEncoder> = outs.into_iter().map(LayerEncoder::new).collect();
    if let Some(first) = layers.first_mut() {
        first.encoder = Some(encoder);
        first.format = (settings.width, settings.height, settings.fps);
        first.bitrate_bps = settings.bitrate_bps;
    }
    std::thread::Builder::new()
        .name("otter-video-encoder".into())
        .spawn(move || {
            let source_fps = settings.fps;
            let mut ladder = Ladder::default();
            let mut count: u64 = 0;
            let mut last_top = 0;
            let n = layers.len().max(1);
            while !switches.stop.load(Ordering::Relaxed) {
                let Some(frame) = frames.take_wait(Duration::from_millis(100)) else {
                    continue;
                };
                if !switches.publish_video.load(Ordering::Relaxed) {
                    continue;
                }
                // Shared with the preview, not copied.
                let frame = Arc::new(frame);
                preview.put_shared(frame.clone());
                let estimate = steering.estimate.load(Ordering::Relaxed);
                ladder.follow(
                    Instant::now(),
                    estimate,
                    steering.audio_bps,
                    switches.video_bitrate.load(Ordering::Relaxed),
                    (frame.width(), frame.height(), source_fps),
                );
                stats.send_estimate_bps.store(estimate, Ordering::Relaxed);
                switches
                    .audio_bitrate
                    .store(ladder.audio_bps, Ordering::Relaxed);
                stats
                    .video_bitrate_bps
                    .store(ladder.video_bps, Ordering::Relaxed);
                count += 1;
                if !count.is_multiple_of(ladder.step.fps_divisor as u64) {
                    continue;
                }
                let fps = (source_fps / ladder.step.fps_divisor).max(1);
                // One layer: the rung's halvings scale it. Simulcast: layer l is l halvings, and the
                // rung pauses the layers above it.
                let first = if n == 1 {
                    0
                } else {
                    (ladder.step.downscale as usize).min(n - 1)
                };
                let mut pictures = Halvings::new(&frame);
                let mut encoded_any = false;
                let paused = switches.layers_paused.load(Ordering::Relaxed);
                let sent = (0..n)
                    .filter(|&l| layer_sent(l, first, n, paused))
                    .fold(0u8, |mask, l| mask | 1 << l);
                let top = sent.trailing_zeros() as usize;
                if top > last_top {
                    // The best layer just paused: its viewers move to this one, and need a keyframe
                    // of it to start on; sending one now saves them asking.
                    switches.keyframe_requested[top].store(true, Ordering::Relaxed);
                }
                last_top = top;
                stats.layers_sent.store(sent, Ordering::Relaxed);
                for (l, layer) in layers.iter_mut().enumerate() {
                    if sent & (1 << l) == 0 {
                        layer.idle = true;
                        continue;
                    }
                    let halvings = if n == 1 {
                        ladder.step.downscale
                    } else {
                        l as u32
                    };
                    let picture = pictures.get(halvings);
                    if l == top {
                        stats.sent_format.store(
                            (picture.width() as u64) << 20
                                | (picture.height() as u64) << 8
                                | fps as u64,
                            Ordering::Relaxed,
                        );
                    }
                    let full = (frame.width(), frame.height(), fps);
                    let bitrate = layer_bitrate(ladder.video_bps, l, sent, full);
                    let Some((enc, fresh)) = layer.ready(codec, picture, fps, bitrate, settings)
                    else {
                        continue;
                    };
                    let key =
                        switches.keyframe_requested[l].swap(false, Ordering::Relaxed) || fresh;
                    match enc.encode(picture, key) {
                        Ok(Some(encoded)) => {
                            encoded_any = true;
                            if encoded.keyframe && l == top {
                                stats.keyframes.fetch_add(1, Ordering::Relaxed);
                            }
                            if layer.out.try_send(encoded).is_err() {
                                stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                                switches.keyframe_requested[l].store(true, Ordering::Relaxed);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "video encode failed"),
                    }
                }
                if encoded_any {
                    stats.frames_encoded.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
}

/// Encodes audio from `frames` until stopped or the capture ends. Runs on its own thread.
pub(crate) fn spawn_audio_encoder(
    mut encoder: OpusEncoder,
    frames: Receiver<AudioFrame>,
    switches: Arc<Switches>,
    stats: Arc<PipelineStats>,
    out: mpsc::Sender<EncodedFrame>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("otter-audio-encoder".into())
        .spawn(move || {
            let mut packet = [0u8; MAX_OPUS_PACKET];
            let (mut bitrate, mut expected_loss) = (0, 0);
            while !switches.stop.load(Ordering::Relaxed) {
                let frame = match frames.recv_timeout(Duration::from_millis(100)) {
                    Ok(f) => f,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                let level = audio_level(&frame.samples);
                stats
                    .audio_level_milli
                    .store((level * 1000.0) as u64, Ordering::Relaxed);
                if !switches.publish_audio.load(Ordering::Relaxed) {
                    continue;
                }
                let wanted = switches.audio_bitrate.load(Ordering::Relaxed);
                if wanted != 0 && wanted != bitrate && encoder.set_bitrate(wanted).is_ok() {
                    bitrate = wanted;
                }
                let loss = switches.audio_loss_percent.load(Ordering::Relaxed).min(100) as u8;
                if loss != expected_loss && encoder.set_expected_loss(loss).is_ok() {
                    expected_loss = loss;
                }
                match encoder.encode(&frame.samples, &mut packet) {
                    Ok(n) => {
                        stats.audio_frames.fetch_add(1, Ordering::Relaxed);
                        let encoded = EncodedFrame {
                            data: packet[..n].to_vec(),
                            keyframe: true,
                            capture_time_us: frame.capture_time_us,
                        };
                        if out.try_send(encoded).is_err() {
                            stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "audio encode failed"),
                }
            }
        })
}

/// Writes encoded frames to a track until the channel closes. Audio samples last `frame_us`; a video
/// sample lasts from its capture to the next one's (`frame_us` when unknown).
pub(crate) async fn write_samples(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
    video: bool,
    frame_us: Arc<AtomicU32>,
    stats: Arc<PipelineStats>,
    mut frames: mpsc::Receiver<EncodedFrame>,
) {
    let mut last_capture_us = 0u64;
    while let Some(frame) = frames.recv().await {
        let bytes = frame.data.len() as u64;
        // The time since the previous frame sent: frames the encoder skipped (a thin link) or
        // dropped stretch it, so RTP timestamps keep the capture clock's pace.
        let nominal = frame_us.load(Ordering::Relaxed) as u64;
        let since_last = frame.capture_time_us.saturating_sub(last_capture_us);
        let duration = Duration::from_micros(match (video, since_last) {
            // Audio keeps its fixed 20 ms: its capture stamps jitter, its RTP clock must not.
            (false, _) => nominal,
            (_, gap) if last_capture_us == 0 || gap == 0 => nominal,
            (_, gap) => gap.clamp(nominal / 4, 1_000_000),
        });
        last_capture_us = frame.capture_time_us;
        let sample = Sample {
            data: Bytes::from(frame.data),
            duration,
            ..Sample::new(Instant::now())
        };
        if track
            .sample_writer(ssrc, payload_type)
            .write_sample(&sample)
            .await
            .is_err()
        {
            break; // the connection closed
        }
        stats.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Turns keyframe requests (PLI/FIR) arriving for `track`, layer `layer`, into a flag the encoder
/// reads.
pub(crate) async fn watch_keyframe_requests(
    track: Arc<TrackLocalStaticSample>,
    layer: usize,
    switches: Arc<Switches>,
) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(_) = event {
            switches.keyframe_requested[layer].store(true, Ordering::Relaxed);
        }
    }
}

/// Reports the microphone level about ten times a second.
pub(crate) async fn report_audio_level(
    stats: Arc<PipelineStats>,
    events: tokio::sync::broadcast::Sender<super::PublisherEvent>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let level = stats.audio_level_milli.load(Ordering::Relaxed) as f32 / 1000.0;
        let _ = events.send(super::PublisherEvent::AudioLevel(level));
    }
}
