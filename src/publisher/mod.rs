//! Publishing (API.md §3): capture, encode, send to the server's media router over WebRTC, and announce
//! the stream in the session.

mod congestion;
mod events;
mod force_mute;
mod layers;
mod negotiate;
mod pipeline;
mod properties;
mod running;
mod runtime;
mod sources;
mod tracks;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use otter_protocol::{ErrorCode, OtError, Stream, StreamDestroyedReason, StreamId};

pub use events::{PublisherEvent, PublisherStats};
pub use properties::{
    AudioSourceChoice, CameraPosition, PreferredCodecs, PublisherProperties, ScaleBehavior,
    VideoSourceChoice,
};

use self::pipeline::{PipelineStats, Switches};
use self::running::{Media, Running, Setup};
use self::sources::VideoRig;
use crate::event_channel::EventChannel;
use crate::media::VideoFormat;
use crate::rtc::peer::Peer;
use crate::session::Session;
use crate::session_core::Request;

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

/// Undoes a failed start: the announced stream goes, and the peer connection is closed.
async fn undo(session: &Session, peer: &Peer, announced: Option<StreamId>) {
    let made = announced.map(|stream_id| Request::Unpublish { stream_id });
    crate::undo::undo_start(session, peer, made).await;
}

impl Publisher {
    /// Publishes into `session` (see [`Session::publish`]), in three phases: media (captures start, so a
    /// missing device is an error event and the other track still goes out), negotiation (tracks,
    /// offer, the server's stream and answer, ICE/DTLS), pipelines (encoders and the tasks around them).
    /// A failure undoes every phase before it: no stream stays announced, no peer connection, thread or
    /// task is left.
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

        // 1. Media.
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
        let media = Media { video, audio };

        // 2. Negotiation.
        let advertised = session.watch_state().borrow().ice_servers.clone();
        let mut peer = Peer::new(&session.options().ice_config, &advertised)
            .await
            .map_err(|e| ErrorCode::UnableToPublish.with_message(e))?;
        let kinds = (media.video.is_some(), media.audio.is_some());
        let negotiated =
            match negotiate::negotiate(&session, &mut peer, &props, kinds, (width, height)).await {
                Ok(n) => n,
                Err((e, announced)) => {
                    undo(&session, &peer, announced).await;
                    return Err(e);
                }
            };
        let stream = negotiated.stream.clone();

        // 3. Pipelines.
        let switches = Arc::new(Switches::default());
        switches
            .publish_video
            .store(props.publish_video, Ordering::Relaxed);
        switches
            .publish_audio
            .store(props.publish_audio, Ordering::Relaxed);
        let stats = Arc::new(PipelineStats::default());
        let preview = crate::media::VideoSink::new();
        let frame_us = Arc::new(AtomicU32::new(1_000_000 / fps));
        let setup = Setup {
            session: &session,
            peer: &peer,
            props: &props,
            codec,
            fps,
            stream_id: stream.stream_id.clone(),
            switches: &switches,
            stats: &stats,
            preview: &preview,
            frame_us: &frame_us,
            events: events.sender(),
        };
        let started = match Running::start(setup, media, negotiated).await {
            Ok(started) => started,
            Err(e) => {
                undo(&session, &peer, Some(stream.stream_id.clone())).await;
                return Err(e);
            }
        };
        let publisher = Publisher {
            inner: Arc::new(Inner {
                session,
                stream: stream.clone(),
                peer,
                switches,
                stats,
                events,
                running: Mutex::new(Some(started.running)),
                video: Mutex::new(started.video_rig),
                frame_us,
                natural_bitrate: AtomicU32::new(started.natural_bitrate),
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
            send_estimate_bps: s.send_estimate_bps.load(Ordering::Relaxed),
            video_bitrate_bps: s.video_bitrate_bps.load(Ordering::Relaxed),
            layers_sent: s.layers_sent.load(Ordering::Relaxed),
            sent_format: match s.sent_format.load(Ordering::Relaxed) {
                0 => None,
                f => Some((
                    (f >> 20) as u32,
                    ((f >> 8) & 0xfff) as u32,
                    (f & 0xff) as u32,
                )),
            },
        }
    }

    /// Turns video on or off; the others get `stream_property_changed` (`has_video`).
    pub async fn set_publish_video(&self, on: bool) -> Result<(), OtError> {
        self.inner
            .switches
            .publish_video
            .store(on, Ordering::Relaxed);
        if on {
            self.inner.switches.request_keyframes();
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
        running.stop(&self.switches).await;
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
