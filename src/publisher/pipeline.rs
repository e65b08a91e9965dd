//! The publisher's media pipeline: capture thread → encoder thread → async track writer.
//!
//! Video crosses from capture to encoder through a latest-frame slot (a slow encoder skips frames) and
//! from encoder to writer through a bounded channel of [`ENCODED_QUEUE`] frames (when full the frame is
//! dropped and the next one is made a key frame, so receivers recover). Audio keeps every frame up to the
//! capture queue's bound.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use otter_media::opus_codec::{OpusEncoder, MAX_OPUS_PACKET};
use otter_media::tone::audio_level;
use otter_media::{
    video_encoder, AudioFrame, EncodedFrame, VideoCodec, VideoEncoder, VideoEncoderSettings,
};
use rtc::media::Sample;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use crate::media::{VideoOutput, VideoSink};

/// Encoded frames waiting for the network: about a quarter second at 30 fps.
pub(crate) const ENCODED_QUEUE: usize = 8;

/// Counters the publisher reports.
#[derive(Default)]
pub(crate) struct PipelineStats {
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
    pub keyframe_requested: AtomicBool,
    /// The video bitrate the encoder should run at (bits per second); changed at runtime.
    pub video_bitrate: AtomicU32,
}

/// Encodes video from `frames` until stopped. Runs on its own thread; `encoder` was opened by the caller
/// for `settings` (so a codec that cannot open fails the publish instead of sending nothing).
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_video_encoder(
    codec: VideoCodec,
    encoder: Box<dyn VideoEncoder>,
    mut settings: VideoEncoderSettings,
    frames: VideoOutput,
    preview: Arc<VideoSink>,
    switches: Arc<Switches>,
    stats: Arc<PipelineStats>,
    out: mpsc::Sender<EncodedFrame>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("otter-video-encoder".into())
        .spawn(move || {
            let mut encoder = Some(encoder);
            let mut size = (settings.width, settings.height);
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
                // A source may change size (custom frames, a camera's own choice): follow it.
                if size != (frame.width(), frame.height()) || encoder.is_none() {
                    size = (frame.width(), frame.height());
                    let s = VideoEncoderSettings {
                        width: size.0,
                        height: size.1,
                        ..settings
                    };
                    encoder = match video_encoder(codec, s) {
                        Ok(e) => Some(e),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot create the video encoder");
                            continue;
                        }
                    };
                    switches.keyframe_requested.store(true, Ordering::Relaxed);
                }
                let Some(enc) = encoder.as_mut() else {
                    continue;
                };
                let bitrate = switches.video_bitrate.load(Ordering::Relaxed);
                if bitrate != 0 && bitrate != settings.bitrate_bps {
                    match enc.set_bitrate(bitrate) {
                        Ok(()) => settings.bitrate_bps = bitrate,
                        Err(e) => tracing::warn!(error = %e, "cannot change the video bitrate"),
                    }
                }
                let key = switches.keyframe_requested.swap(false, Ordering::Relaxed);
                match enc.encode(&frame, key) {
                    Ok(Some(encoded)) => {
                        stats.frames_encoded.fetch_add(1, Ordering::Relaxed);
                        if encoded.keyframe {
                            stats.keyframes.fetch_add(1, Ordering::Relaxed);
                        }
                        if out.try_send(encoded).is_err() {
                            stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                            switches.keyframe_requested.store(true, Ordering::Relaxed);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "video encode failed"),
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

/// Writes encoded frames to a track as samples of `frame_us` each (read per frame: the rate can change),
/// until the channel closes.
pub(crate) async fn write_samples(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
    frame_us: Arc<AtomicU32>,
    stats: Arc<PipelineStats>,
    mut frames: mpsc::Receiver<EncodedFrame>,
) {
    while let Some(frame) = frames.recv().await {
        let bytes = frame.data.len() as u64;
        let duration = Duration::from_micros(frame_us.load(Ordering::Relaxed) as u64);
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

/// Turns keyframe requests (PLI/FIR) arriving for `track` into a flag the encoder reads.
pub(crate) async fn watch_keyframe_requests(
    track: Arc<TrackLocalStaticSample>,
    switches: Arc<Switches>,
) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(_) = event {
            switches.keyframe_requested.store(true, Ordering::Relaxed);
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
