//! The subscriber's receive path: RTP → whole frames ([`FrameAssembler`]) → decoder thread → [`VideoSink`];
//! Opus packets → decoder → level and the audio analysis the CLI reports.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otter_media::frame::AUDIO_SAMPLE_RATE;
use otter_media::opus_codec::OpusReceiver;
use otter_media::pattern::read_stamp;
use otter_media::tone::audio_level;
use otter_media::{video_decoder, VideoCodec};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::frame_assembler::FrameAssembler;
use crate::media::VideoSink;

/// Encoded frames waiting for the decoder. When full the frame is dropped and a key frame requested.
const DECODE_QUEUE: usize = 8;
/// At most one keyframe request per this long.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);
/// Decoded audio kept for frequency analysis: one second.
const ANALYSIS_SAMPLES: usize = AUDIO_SAMPLE_RATE as usize;

/// What the receive path counts; read by the subscriber's stats and events.
#[derive(Default)]
pub(crate) struct ReceiveStats {
    pub frames_decoded: AtomicU64,
    pub width: AtomicU64,
    pub height: AtomicU64,
    pub packets_received: AtomicU64,
    /// Video RTP packets (count-only mode).
    pub video_packets_received: AtomicU64,
    /// Video RTP sequence numbers never received (count-only mode).
    pub video_packets_lost: AtomicU64,
    pub bytes_received: AtomicU64,
    pub frames_dropped: AtomicU64,
    /// RTP packets lost on the way (audio and video), from the latest network statistics.
    pub packets_lost: AtomicU64,
    pub pattern_frames_verified: AtomicU64,
    /// Glass-to-glass latency of recent stamped frames, in milliseconds.
    pub pattern_latency_ms: Mutex<Vec<u32>>,
    /// Latest audio level × 1000.
    pub audio_level_milli: AtomicU64,
    pub audio_frames: AtomicU64,
    /// The last second of decoded audio.
    pub audio_window: Mutex<Vec<i16>>,
    pub need_keyframe: AtomicBool,
    /// Frames refused for a size over `otter_media::codec::MAX_DECODED_DIMENSION`.
    pub oversized_frames: AtomicU64,
}

impl ReceiveStats {
    /// One RTP packet of `payload_bytes` arrived (any track, decoded or only counted).
    pub(crate) fn count_packet(&self, payload_bytes: usize) {
        self.packets_received.fetch_add(1, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(payload_bytes as u64, Ordering::Relaxed);
    }
}

/// Decodes frames on its own thread into `sink`.
fn spawn_decoder(
    codec: VideoCodec,
    frames: Receiver<Vec<u8>>,
    sink: Arc<VideoSink>,
    stats: Arc<ReceiveStats>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("otter-video-decoder".into())
        .spawn(move || {
            let mut decoder = match video_decoder(codec) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot create the video decoder");
                    return;
                }
            };
            while let Ok(data) = frames.recv() {
                match decoder.decode(&data) {
                    Ok(Some(mut frame)) => {
                        if let Some(stamp) = read_stamp(&frame) {
                            let now = otter_media::frame::unix_micros() / 1000;
                            frame.capture_time_us =
                                now.saturating_sub(stamp.age_ms(now) as u64) * 1000;
                            stats
                                .pattern_frames_verified
                                .fetch_add(1, Ordering::Relaxed);
                            let mut latencies = stats
                                .pattern_latency_ms
                                .lock()
                                .unwrap_or_else(|p| p.into_inner());
                            if latencies.len() >= 1024 {
                                latencies.remove(0);
                            }
                            latencies.push(stamp.age_ms(now));
                        }
                        stats.width.store(frame.width() as u64, Ordering::Relaxed);
                        stats.height.store(frame.height() as u64, Ordering::Relaxed);
                        stats.frames_decoded.fetch_add(1, Ordering::Relaxed);
                        sink.put(frame);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        if e.is_too_large() {
                            stats.oversized_frames.fetch_add(1, Ordering::Relaxed);
                        }
                        stats.need_keyframe.store(true, Ordering::Relaxed);
                    }
                }
            }
        })
}

/// Reads a video track until it ends: assembles frames and feeds the decoder; asks for key frames when
/// frames are lost or undecodable.
pub(crate) async fn receive_video(
    track: Arc<dyn TrackRemote>,
    sink: Arc<VideoSink>,
    stats: Arc<ReceiveStats>,
) {
    let Some(&ssrc) = track.ssrcs().await.first() else {
        return;
    };
    let codec = match track
        .codec(ssrc)
        .await
        .map(|c| c.mime_type.to_ascii_lowercase())
    {
        Some(m) if m.contains("h264") => VideoCodec::H264,
        _ => VideoCodec::Vp8,
    };
    let (tx, rx): (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) = sync_channel(DECODE_QUEUE);
    let Ok(decoder) = spawn_decoder(codec, rx, sink, stats.clone()) else {
        return;
    };
    let mut vp8 = FrameAssembler::new(Vp8Packet::default());
    let mut h264 = FrameAssembler::new(H264Packet::default());
    let mut last_request = Instant::now() - KEYFRAME_REQUEST_INTERVAL;
    // The first frame needs a key frame: ask at once rather than wait for the publisher's next one.
    stats.need_keyframe.store(true, Ordering::Relaxed);
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        stats.count_packet(packet.payload.len());
        let now = Instant::now();
        let h = &packet.header;
        match codec {
            VideoCodec::Vp8 => vp8.push(h.timestamp, h.sequence_number, h.marker, &packet.payload),
            VideoCodec::H264 => {
                h264.push(h.timestamp, h.sequence_number, h.marker, &packet.payload)
            }
        }
        let mut alive = true;
        loop {
            let frame = match codec {
                VideoCodec::Vp8 => vp8.pop(now),
                VideoCodec::H264 => h264.pop(now),
            };
            let Some(frame) = frame else { break };
            match tx.try_send(frame) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                    stats.need_keyframe.store(true, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => {
                    alive = false;
                    break;
                }
            }
        }
        let lost = match codec {
            VideoCodec::Vp8 => vp8.take_lost(),
            VideoCodec::H264 => h264.take_lost(),
        };
        if lost {
            stats.need_keyframe.store(true, Ordering::Relaxed);
        }
        if !alive {
            break;
        }
        if stats.need_keyframe.load(Ordering::Relaxed)
            && now.duration_since(last_request) >= KEYFRAME_REQUEST_INTERVAL
        {
            stats.need_keyframe.store(false, Ordering::Relaxed);
            last_request = now;
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            };
            let _ = track.write_rtcp(vec![Box::new(pli)]).await;
        }
    }
    drop(tx);
    let _ = tokio::task::spawn_blocking(move || decoder.join()).await;
}

/// Reads an audio track until it ends: decodes Opus into the playback mix, measures level, and keeps the
/// last second for analysis.
pub(crate) async fn receive_audio(
    track: Arc<dyn TrackRemote>,
    stats: Arc<ReceiveStats>,
    output: Arc<crate::media::AudioInput>,
) {
    let Ok(mut receiver) = OpusReceiver::new() else {
        return;
    };
    let mut pcm = vec![0i16; 5760];
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        stats.count_packet(packet.payload.len());
        output.note_arrival(packet.header.timestamp);
        // Lost packets come back from the next one's FEC or are concealed: played, not skipped.
        let played = receiver.receive(
            packet.header.sequence_number,
            &packet.payload,
            &mut pcm,
            |samples| play(samples, &stats, &output),
        );
        if let Err(e) = played {
            tracing::debug!(error = %e, "an Opus packet did not decode");
        }
    }
}

/// One decoded 20 ms: into the mix, the level and the analysis window.
fn play(samples: &[i16], stats: &ReceiveStats, output: &crate::media::AudioInput) {
    output.push(samples);
    stats.audio_frames.fetch_add(1, Ordering::Relaxed);
    stats
        .audio_level_milli
        .store((audio_level(samples) * 1000.0) as u64, Ordering::Relaxed);
    let mut window = stats.audio_window.lock().unwrap_or_else(|p| p.into_inner());
    window.extend_from_slice(samples);
    if window.len() > ANALYSIS_SAMPLES {
        let excess = window.len() - ANALYSIS_SAMPLES;
        window.drain(..excess);
    }
}
