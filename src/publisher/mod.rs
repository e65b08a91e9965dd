//! Publishing (API.md §3): capture, encode, send to the server's media router over WebRTC, and announce
//! the stream in the session.

mod events;
mod force_mute;
mod pipeline;
mod properties;
mod runtime;
mod sources;
mod tracks;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otter_media::opus_codec::OpusEncoder;
use otter_media::{VideoCodec, VideoEncoderSettings};
use otter_protocol::{ErrorCode, OtError, Stream, StreamDestroyedReason, VideoType};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;

pub use events::{PublisherEvent, PublisherStats};
pub use properties::{
    AudioSourceChoice, CameraPosition, PreferredCodecs, PublisherProperties, ScaleBehavior,
    VideoSourceChoice,
};

use self::pipeline::{PipelineStats, Switches, ENCODED_QUEUE};
use self::sources::VideoRig;
use self::tracks::{add_track, TrackCodec};
use crate::core::Request;
use crate::event_channel::EventChannel;
use crate::media::{Capture, VideoFormat};
use crate::rtc::peer::{Peer, H264_FMTP, PT_H264, PT_OPUS, PT_VP8};
use crate::session::Session;

/// How long ICE and DTLS may take before publishing fails with 1553.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(10);

/// A live publisher. Dropping it unpublishes (in the background).
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    stream: Stream,
    peer: Peer,
    switches: Arc<Switches>,
    stats: Arc<PipelineStats>,
    events: EventChannel<PublisherEvent>,
    /// Capture handles and encoder threads; taken on unpublish.
    running: Mutex<Option<Running>>,
    /// The video source and its format, for runtime changes of size and rate.
    video: Mutex<Option<VideoRig>>,
    /// Duration of one video frame, µs (the RTP clock follows the frame rate).
    frame_us: Arc<AtomicU32>,
    /// The encoder's default bitrate for the current size and rate, before any cap.
    natural_bitrate: AtomicU32,
    /// The newest frame sent, for the local preview.
    preview: Arc<crate::media::VideoSink>,
}

struct Running {
    _video_capture: Option<Capture>,
    _audio_capture: Option<Capture>,
    threads: Vec<std::thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Publisher {
    /// Publishes into `session` (see [`Session::publish`]).
    pub(crate) async fn start(
        session: Session,
        props: PublisherProperties,
    ) -> Result<Publisher, OtError> {
        if !session.capabilities().can_publish {
            return Err(ErrorCode::UnableToPublish.with_message("this token's role cannot publish"));
        }
        let events = EventChannel::new();
        let mut problems = Vec::new();
        let codec = props.preferred_video_codecs.first();
        let (width, height) = (props.resolution.0 & !1, props.resolution.1 & !1);
        let fps = props.frame_rate.clamp(1, 60);
        // Captures start first: a missing or busy device is found now, reported, and the other track
        // still goes out.
        let video = props
            .video_track
            .then(|| sources::start_video(&props, VideoFormat { width, height, fps }))
            .and_then(|started| started.map_err(|e| problems.push(e)).ok());
        let audio = props
            .audio_track
            .then(|| sources::start_audio(&props))
            .and_then(|started| started.map_err(|e| problems.push(e)).ok());
        if video.is_none() && audio.is_none() {
            return Err(problems.pop().unwrap_or_else(|| {
                ErrorCode::UnableToPublish
                    .with_message("nothing to publish: no audio and no video track")
            }));
        }
        let mut peer = Peer::new(&session.options().ice_config)
            .await
            .map_err(|e| ErrorCode::UnableToPublish.with_message(e))?;
        let ssrc_video: u32 = rand::random();
        let ssrc_audio: u32 = rand::random();
        let video_track = match &video {
            Some(_) => {
                let (mime, fmtp) = match codec {
                    VideoCodec::Vp8 => (MIME_TYPE_VP8, ""),
                    VideoCodec::H264 => (MIME_TYPE_H264, H264_FMTP),
                };
                let codec = TrackCodec {
                    mime,
                    clock_rate: 90_000,
                    channels: 0,
                    fmtp,
                };
                Some(add_track(&mut peer, RtpCodecKind::Video, "video", ssrc_video, codec).await?)
            }
            None => None,
        };
        let audio_track = match &audio {
            Some(_) => {
                let codec = TrackCodec {
                    mime: MIME_TYPE_OPUS,
                    clock_rate: 48_000,
                    channels: 2,
                    fmtp: "minptime=10;useinbandfec=1",
                };
                Some(add_track(&mut peer, RtpCodecKind::Audio, "audio", ssrc_audio, codec).await?)
            }
            None => None,
        };
        let offer = peer
            .offer(MEDIA_TIMEOUT)
            .await
            .map_err(|e| ErrorCode::PublisherIceFailed.with_message(e))?;
        let reply = session
            .send_request(Request::Publish {
                name: props.name.clone(),
                has_audio: audio.is_some() && props.publish_audio,
                has_video: video.is_some() && props.publish_video,
                video_type: match props.video_source {
                    VideoSourceChoice::Screen => VideoType::Screen,
                    VideoSourceChoice::Custom(_) => VideoType::Custom,
                    _ => VideoType::Camera,
                },
                video_dimensions: (width, height),
                sdp_offer: Some(offer),
            })
            .await?;
        let stream = reply.stream.ok_or_else(|| {
            ErrorCode::UnexpectedServerResponse.with_message("the server created no stream")
        })?;
        let answer = reply.sdp_answer.ok_or_else(|| {
            ErrorCode::UnexpectedServerResponse.with_message("the server sent no SDP answer")
        })?;
        let negotiated = async {
            peer.accept_answer(answer).await?;
            peer.connected(MEDIA_TIMEOUT).await
        };
        if let Err(e) = negotiated.await {
            peer.close().await;
            let _ = session
                .send_request(Request::Unpublish {
                    stream_id: stream.stream_id.clone(),
                })
                .await;
            return Err(ErrorCode::PublisherIceFailed.with_message(e));
        }

        let switches = Arc::new(Switches::default());
        switches
            .publish_video
            .store(props.publish_video, Ordering::Relaxed);
        switches
            .publish_audio
            .store(props.publish_audio, Ordering::Relaxed);
        let stats = Arc::new(PipelineStats::default());
        let preview = crate::media::VideoSink::new();
        let mut running = Running {
            _video_capture: None,
            _audio_capture: None,
            threads: Vec::new(),
            tasks: Vec::new(),
        };
        let thread_error = |e: std::io::Error| {
            ErrorCode::UnableToPublish.with_message(format!("cannot start an encoder thread: {e}"))
        };
        let frame_us = Arc::new(AtomicU32::new(1_000_000 / fps));
        let mut video_rig = None;
        let mut natural_bitrate = 0;
        if let (Some((capture, rig)), Some(track)) = (video, video_track) {
            running._video_capture = Some(capture);
            let frames = rig.frames.clone();
            video_rig = Some(rig);
            let mut settings = VideoEncoderSettings::new(width, height, fps);
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
            let (tx, rx) = mpsc::channel(ENCODED_QUEUE);
            running.threads.push(
                pipeline::spawn_video_encoder(
                    codec,
                    settings,
                    frames,
                    preview.clone(),
                    switches.clone(),
                    stats.clone(),
                    tx,
                )
                .map_err(thread_error)?,
            );
            let pt = if codec == VideoCodec::Vp8 {
                PT_VP8
            } else {
                PT_H264
            };
            running.tasks.push(tokio::spawn(pipeline::write_samples(
                track.clone(),
                ssrc_video,
                pt,
                frame_us.clone(),
                stats.clone(),
                rx,
            )));
            running
                .tasks
                .push(tokio::spawn(pipeline::watch_keyframe_requests(
                    track,
                    switches.clone(),
                )));
        }
        if let (Some((capture, frames)), Some(track)) = (audio, audio_track) {
            running._audio_capture = Some(capture);
            let encoder = OpusEncoder::new(props.audio_bitrate, props.enable_dtx)
                .map_err(|e| ErrorCode::UnableToPublish.with_message(e.to_string()))?;
            let (tx, rx) = mpsc::channel(ENCODED_QUEUE);
            running.threads.push(
                pipeline::spawn_audio_encoder(encoder, frames, switches.clone(), stats.clone(), tx)
                    .map_err(thread_error)?,
            );
            running.tasks.push(tokio::spawn(pipeline::write_samples(
                track,
                ssrc_audio,
                PT_OPUS,
                Arc::new(AtomicU32::new(20_000)),
                stats.clone(),
                rx,
            )));
            running
                .tasks
                .push(tokio::spawn(pipeline::report_audio_level(
                    stats.clone(),
                    events.sender(),
                )));
        }
        running.tasks.push(tokio::spawn({
            let events = events.sender();
            crate::rtc::network_stats::every_second(peer.pc.clone(), move |video, stats| {
                let event = if video {
                    PublisherEvent::VideoNetworkStats(stats)
                } else {
                    PublisherEvent::AudioNetworkStats(stats)
                };
                let _ = events.send(event);
                true
            })
        }));
        running.tasks.push(tokio::spawn(force_mute::obey(
            session.clone(),
            stream.stream_id.clone(),
            switches.clone(),
            events.sender(),
        )));
        let publisher = Publisher {
            inner: Arc::new(Inner {
                session,
                stream: stream.clone(),
                peer,
                switches,
                stats,
                events,
                running: Mutex::new(Some(running)),
                video: Mutex::new(video_rig),
                frame_us,
                natural_bitrate: AtomicU32::new(natural_bitrate),
                preview,
            }),
        };
        for problem in problems {
            publisher.inner.events.send(PublisherEvent::Error(problem));
        }
        publisher
            .inner
            .events
            .send(PublisherEvent::StreamCreated(stream));
        Ok(publisher)
    }

    /// The newest frame this publisher sent (a latest-frame receiver; never a queue), for a local
    /// preview. Frames stop while `publish_video` is off.
    pub fn preview_frames(&self) -> Arc<crate::media::VideoSink> {
        self.inner.preview.clone()
    }

    /// The peer connection's W3C stats report (a JSON array, one object per entry), also sent as
    /// [`PublisherEvent::RtcStatsReport`] (OpenTok's `getRtcStatsReport()`).
    pub async fn get_rtc_stats_report(&self) -> serde_json::Value {
        let report = crate::rtc::stats_report::collect(&self.inner.peer.pc).await;
        self.inner
            .events
            .send(PublisherEvent::RtcStatsReport(report.clone()));
        report
    }

    /// The published stream.
    pub fn stream(&self) -> &Stream {
        &self.inner.stream
    }

    /// This publisher's events: the first call also gets those sent while publishing started.
    pub fn events(&self) -> crate::EventStream<PublisherEvent> {
        crate::EventStream::new(self.inner.events.subscribe())
    }

    /// Counters so far.
    pub fn stats(&self) -> PublisherStats {
        let s = &self.inner.stats;
        PublisherStats {
            frames_encoded: s.frames_encoded.load(Ordering::Relaxed),
            frames_dropped: s.frames_dropped.load(Ordering::Relaxed),
            keyframes: s.keyframes.load(Ordering::Relaxed),
            bytes_sent: s.bytes_sent.load(Ordering::Relaxed),
            audio_frames: s.audio_frames.load(Ordering::Relaxed),
        }
    }

    /// Turns video on or off; the others get `stream_property_changed` (`has_video`).
    pub async fn set_publish_video(&self, on: bool) -> Result<(), OtError> {
        self.inner
            .switches
            .publish_video
            .store(on, Ordering::Relaxed);
        if on {
            self.inner
                .switches
                .keyframe_requested
                .store(true, Ordering::Relaxed);
        }
        self.update(None, Some(on)).await
    }

    /// Mutes or unmutes; the others get `stream_property_changed` (`has_audio`).
    pub async fn set_publish_audio(&self, on: bool) -> Result<(), OtError> {
        self.inner
            .switches
            .publish_audio
            .store(on, Ordering::Relaxed);
        self.update(Some(on), None).await
    }

    async fn update(
        &self,
        has_audio: Option<bool>,
        has_video: Option<bool>,
    ) -> Result<(), OtError> {
        let stream_id = self.inner.stream.stream_id.clone();
        self.inner
            .session
            .send_request(Request::UpdateStream {
                stream_id,
                has_audio,
                has_video,
                video_dimensions: None,
            })
            .await
            .map(|_| ())
    }

    /// Stops publishing: the others get `stream_destroyed` (`ClientDisconnected`).
    pub async fn unpublish(&self) {
        self.inner.stop().await;
    }
}

impl Inner {
    async fn stop(&self) {
        let Some(running) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        self.switches.stop.store(true, Ordering::Relaxed);
        let stream_id = self.stream.stream_id.clone();
        let _ = self
            .session
            .send_request(Request::Unpublish { stream_id })
            .await;
        self.peer.close().await;
        for task in &running.tasks {
            task.abort();
        }
        // Encoder threads notice the stop flag within 100 ms; join them off the async runtime.
        let threads = running.threads;
        drop(running._video_capture);
        drop(running._audio_capture);
        let _ = tokio::task::spawn_blocking(move || {
            threads.into_iter().for_each(|t| {
                let _ = t.join();
            })
        })
        .await;
        self.events.send(PublisherEvent::StreamDestroyed {
            stream: self.stream.clone(),
            reason: StreamDestroyedReason::ClientDisconnected,
        });
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("stream_id", &self.inner.stream.stream_id)
            .finish()
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let inner = self.inner.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { inner.stop().await });
        }
    }
}
