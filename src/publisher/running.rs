//! Publishing's third phase: the encoder threads and the tasks that feed the tracks, report levels and
//! network stats, and obey forced mutes; and stopping all of it, on unpublish or when starting fails.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use otter_media::opus_codec::OpusEncoder;
use otter_media::{video_encoder, AudioFrame, VideoCodec, VideoEncoderSettings};
use otter_protocol::{ErrorCode, OtError, StreamId};
use tokio::sync::{broadcast, mpsc};

use super::negotiate::Negotiated;
use super::pipeline::{self, PipelineStats, Switches, ENCODED_QUEUE};
use super::sources::VideoRig;
use super::{force_mute, PublisherEvent, PublisherProperties};
use crate::media::{Capture, VideoSink};
use crate::rtc::network_stats::NetworkStats;
use crate::rtc::peer::{Peer, PT_H264, PT_OPUS, PT_VP8};
use crate::session::Session;

/// The captures publishing started with (phase 1).
pub(super) struct Media {
    pub video: Option<(Capture, VideoRig)>,
    pub audio: Option<(Capture, std::sync::mpsc::Receiver<AudioFrame>)>,
}

/// What a live publisher runs: dropped captures stop their sources.
pub(super) struct Running {
    video_capture: Option<Capture>,
    audio_capture: Option<Capture>,
    threads: Vec<std::thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Everything phase 3 needs.
pub(super) struct Setup<'a> {
    pub session: &'a Session,
    pub peer: &'a Peer,
    pub props: &'a PublisherProperties,
    pub codec: VideoCodec,
    pub fps: u32,
    pub stream_id: StreamId,
    pub switches: &'a Arc<Switches>,
    pub stats: &'a Arc<PipelineStats>,
    pub preview: &'a Arc<VideoSink>,
    pub frame_us: &'a Arc<AtomicU32>,
    pub events: broadcast::Sender<PublisherEvent>,
}

/// A started pipeline set, and the video source kept for runtime changes.
pub(super) struct Started {
    pub running: Running,
    pub video_rig: Option<VideoRig>,
    pub natural_bitrate: u32,
}

impl Running {
    /// Starts a pipeline per negotiated track. Encoders open before any thread starts, so a codec that
    /// cannot open fails here; whatever had started is stopped before the error returns.
    pub(super) async fn start(
        setup: Setup<'_>,
        media: Media,
        tracks: Negotiated,
    ) -> Result<Started, OtError> {
        let mut running = Running {
            video_capture: None,
            audio_capture: None,
            threads: Vec::new(),
            tasks: Vec::new(),
        };
        match running.start_inner(&setup, media, tracks) {
            Ok((video_rig, natural_bitrate)) => Ok(Started {
                running,
                video_rig,
                natural_bitrate,
            }),
            Err(e) => {
                running.stop(setup.switches).await;
                Err(e)
            }
        }
    }

    fn start_inner(
        &mut self,
        setup: &Setup<'_>,
        media: Media,
        tracks: Negotiated,
    ) -> Result<(Option<VideoRig>, u32), OtError> {
        let thread_error = |e: std::io::Error| {
            ErrorCode::UnableToPublish.with_message(format!("cannot start an encoder thread: {e}"))
        };
        let (props, switches, stats) = (setup.props, setup.switches, setup.stats);
        let mut video_rig = None;
        let mut natural_bitrate = 0;
        if let (Some((capture, rig)), false) = (media.video, tracks.video.is_empty()) {
            self.video_capture = Some(capture);
            let frames = rig.frames.clone();
            let format = rig.format;
            video_rig = Some(rig);
            let mut settings = VideoEncoderSettings::new(format.width, format.height, setup.fps);
            if let Some(target) = props.video_bitrate {
                settings.bitrate_bps = target.max(5_000);
            }
            natural_bitrate = settings.bitrate_bps;
            if let Some(cap) = props.max_video_bitrate {
                settings.bitrate_bps = settings.bitrate_bps.min(cap.max(5_000));
            }
            switches
                .video_bitrate
                .store(settings.bitrate_bps, Ordering::Relaxed);
            let encoder = video_encoder(setup.codec, settings)
                .map_err(|e| ErrorCode::UnableToPublish.with_message(e.to_string()))?;
            let (outs, receivers): (Vec<_>, Vec<_>) = tracks
                .video
                .iter()
                .map(|_| mpsc::channel(ENCODED_QUEUE))
                .unzip();
            self.threads.push(
                pipeline::spawn_video_encoder(
                    setup.codec,
                    encoder,
                    settings,
                    frames,
                    setup.preview.clone(),
                    switches.clone(),
                    pipeline::Steering {
                        estimate: setup.peer.send_estimate.clone(),
                        audio_bps: if tracks.audio.is_some() {
                            props.audio_bitrate
                        } else {
                            0
                        },
                    },
                    stats.clone(),
                    outs,
                )
                .map_err(thread_error)?,
            );
            let pt = match setup.codec {
                VideoCodec::Vp8 => PT_VP8,
                VideoCodec::H264 => PT_H264,
            };
            if tracks.video.len() > 1 {
                self.tasks
                    .push(tokio::spawn(super::layers::follow_wanted_layers(
                        setup.session.clone(),
                        setup.stream_id.clone(),
                        tracks.video.len(),
                        switches.clone(),
                    )));
            }
            for (layer, ((track, ssrc), rx)) in tracks.video.into_iter().zip(receivers).enumerate()
            {
                self.tasks.push(tokio::spawn(pipeline::write_samples(
                    track.clone(),
                    ssrc,
                    pt,
                    true,
                    setup.frame_us.clone(),
                    stats.clone(),
                    rx,
                )));
                self.tasks
                    .push(tokio::spawn(pipeline::watch_keyframe_requests(
                        track,
                        layer,
                        switches.clone(),
                    )));
            }
        }
        if let (Some((capture, frames)), Some((track, ssrc))) = (media.audio, tracks.audio) {
            self.audio_capture = Some(capture);
            let encoder = OpusEncoder::new(props.audio_bitrate, props.enable_dtx)
                .map_err(|e| ErrorCode::UnableToPublish.with_message(e.to_string()))?;
            let (tx, rx) = mpsc::channel(ENCODED_QUEUE);
            self.threads.push(
                pipeline::spawn_audio_encoder(encoder, frames, switches.clone(), stats.clone(), tx)
                    .map_err(thread_error)?,
            );
            self.tasks.push(tokio::spawn(pipeline::write_samples(
                track,
                ssrc,
                PT_OPUS,
                false,
                Arc::new(AtomicU32::new(20_000)),
                stats.clone(),
                rx,
            )));
            self.tasks.push(tokio::spawn(pipeline::report_audio_level(
                stats.clone(),
                setup.events.clone(),
            )));
        }
        self.tasks.push(tokio::spawn({
            let events = setup.events.clone();
            let (switches, mut audio_before) = (switches.clone(), NetworkStats::default());
            crate::rtc::network_stats::every_second(setup.peer.pc.clone(), move |video, stats| {
                if !video {
                    // The Opus encoder's FEC follows the loss of the last second.
                    let sent = stats.packets.saturating_sub(audio_before.packets);
                    let lost = stats.packets_lost.saturating_sub(audio_before.packets_lost);
                    let percent = (lost * 100).checked_div(sent).unwrap_or(0).min(100);
                    switches
                        .audio_loss_percent
                        .store(percent as u32, Ordering::Relaxed);
                    audio_before = stats;
                }
                let event = if video {
                    PublisherEvent::VideoNetworkStats(stats)
                } else {
                    PublisherEvent::AudioNetworkStats(stats)
                };
                let _ = events.send(event);
                true
            })
        }));
        self.tasks.push(tokio::spawn(force_mute::obey(
            setup.session.clone(),
            setup.stream_id.clone(),
            switches.clone(),
            setup.events.clone(),
        )));
        Ok((video_rig, natural_bitrate))
    }

    /// Replaces the video capture: the old one stops (and its thread joins) before the new one starts
    /// on the same slot.
    pub(super) fn restart_video(
        &mut self,
        start: impl FnOnce() -> Result<Capture, OtError>,
    ) -> Result<(), OtError> {
        self.video_capture = None;
        self.video_capture = Some(start()?);
        Ok(())
    }

    /// Stops every task and thread, and the captures; returns once the threads have ended.
    pub(super) async fn stop(self, switches: &Switches) {
        switches.stop.store(true, Ordering::Relaxed);
        for task in &self.tasks {
            task.abort();
        }
        drop(self.video_capture);
        drop(self.audio_capture);
        // Encoder threads notice the stop flag within 100 ms; join them off the async runtime.
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            threads.into_iter().for_each(|t| {
                let _ = t.join();
            })
        })
        .await;
    }
}
