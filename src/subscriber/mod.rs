//! Subscribing (API.md §4): receive one stream's media from the server's router over WebRTC, decode it
//! into a [`VideoSink`] and measure its audio.

mod audio_fallback;
mod count;
mod events;
mod frame_assembler;
mod monitor;
mod negotiate;
mod preferred_size;
mod properties;
mod receive;
mod retransmission_wait;

pub use events::{SubscriberEvent, SubscriberStats, VideoReason};
pub use properties::SubscriberProperties;

use self::audio_fallback::Counters;
use self::monitor::{follow_publisher_video, quality_watch, report};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use otter_media::frame::AUDIO_SAMPLE_RATE;
use otter_media::tone::dominant_frequency;
use otter_protocol::{ErrorCode, OtError, Stream, SubscriptionId};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;

use self::receive::ReceiveStats;
use crate::event_channel::EventChannel;
use crate::media::VideoSink;
use crate::rtc::peer::Peer;
use crate::session::Session;
use crate::session_core::Request;

/// A live subscription. Dropping it unsubscribes (in the background).
pub struct Subscriber {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    stream: Stream,
    subscription_id: SubscriptionId,
    peer: Peer,
    sink: Arc<VideoSink>,
    stats: Arc<ReceiveStats>,
    audio_output: Arc<crate::media::AudioInput>,
    wanted: Arc<Wanted>,
    events: EventChannel<SubscriberEvent>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Subscriber {
    /// Subscribes to `stream` in `session` (see [`Session::subscribe`]).
    pub(crate) async fn start(
        session: Session,
        stream: Stream,
        props: SubscriberProperties,
    ) -> Result<Subscriber, OtError> {
        if !session.capabilities().can_subscribe {
            return Err(
                ErrorCode::UnableToSubscribe.with_message("this token's role cannot subscribe")
            );
        }
        let fail = |e: String| ErrorCode::UnableToSubscribe.with_message(e);
        let t0 = std::time::Instant::now();
        // 1. Negotiation; on failure the subscription (if the server made it) and the peer are undone.
        let advertised = session.watch_state().borrow().ice_servers.clone();
        let mut peer = Peer::new(&session.options().ice_config, &advertised)
            .await
            .map_err(fail)?;
        let subscription_id = SubscriptionId::new(format!("{:016x}", rand::random::<u64>()))
            .expect("hex is a valid ID");
        let subscribe = |sdp_offer| Request::Subscribe {
            subscription_id: subscription_id.clone(),
            stream_id: stream.stream_id.clone(),
            sdp_offer,
            audio: props.subscribe_to_audio,
            video: props.subscribe_to_video,
            preferred_resolution: props.preferred_resolution,
        };
        if let Err((e, made)) = negotiate::negotiate(&session, &mut peer, subscribe, t0).await {
            let undo = made.then(|| Request::Unsubscribe {
                subscription_id: subscription_id.clone(),
            });
            crate::undo::undo_start(&session, &peer, undo).await;
            return Err(e);
        }
        // 2. Pipelines: receivers, watchers and their tasks (nothing here can fail).
        tracing::debug!(elapsed = ?t0.elapsed(), "subscriber connected");
        let events = EventChannel::new();
        let sink = VideoSink::new();
        let stats = Arc::new(ReceiveStats::default());
        let audio_output = crate::media::AudioMixer::global().add_input(props.audio_volume);
        let mut tracks =
            std::mem::replace(&mut peer.tracks, tokio::sync::mpsc::unbounded_channel().1);
        let decode_video = props.decode_video;
        let router = {
            let (sink, stats, events, audio_output) = (
                sink.clone(),
                stats.clone(),
                events.sender(),
                audio_output.clone(),
            );
            tokio::spawn(async move {
                let mut readers = Vec::new();
                while let Some(track) = tracks.recv().await {
                    let task = match track.kind().await {
                        RtpCodecKind::Video if !decode_video => {
                            tokio::spawn(count::count_video(track, stats.clone()))
                        }
                        RtpCodecKind::Video => {
                            tokio::spawn(receive::receive_video(track, sink.clone(), stats.clone()))
                        }
                        _ => tokio::spawn(receive::receive_audio(
                            track,
                            stats.clone(),
                            audio_output.clone(),
                        )),
                    };
                    readers.push(task);
                }
                for r in readers {
                    let _ = r.await;
                }
                drop(events);
            })
        };
        let (counters_tx, counters) = tokio::sync::watch::channel([Counters::default(); 2]);
        let network = tokio::spawn({
            let events = events.sender();
            let (stats, mut lost) = (stats.clone(), [0u64; 2]);
            crate::rtc::network_stats::every_second(peer.pc.clone(), move |video, network| {
                lost[video as usize] = network.packets_lost;
                counters_tx.send_modify(|c| {
                    c[video as usize] = Counters {
                        packets: network.packets,
                        lost: network.packets_lost,
                    }
                });
                stats
                    .packets_lost
                    .store(lost[0] + lost[1], Ordering::Relaxed);
                let stats = network;
                let event = if video {
                    SubscriberEvent::VideoNetworkStats(stats)
                } else {
                    SubscriberEvent::AudioNetworkStats(stats)
                };
                let _ = events.send(event);
                true
            })
        });
        let wanted = Arc::new(Wanted::default());
        wanted
            .audio
            .store(props.subscribe_to_audio, Ordering::Relaxed);
        wanted
            .video
            .store(props.subscribe_to_video, Ordering::Relaxed);
        if let Some((w, h)) = props.preferred_resolution {
            let packed = ((w as u64) << 32) | h as u64;
            wanted.resolution.store(packed, Ordering::Relaxed);
        }
        let watched = (session.clone(), stream.stream_id.clone(), wanted.clone());
        let watcher = tokio::spawn(report(
            sink.clone(),
            stats.clone(),
            events.sender(),
            watched,
        ));
        let publisher_video = tokio::spawn(follow_publisher_video(
            session.events(),
            stream.stream_id.clone(),
            events.sender(),
        ));
        let quality = tokio::spawn(quality_watch(
            counters,
            events.sender(),
            (
                session.clone(),
                stream.stream_id.clone(),
                subscription_id.clone(),
                wanted.clone(),
            ),
        ));
        let initial_size = wanted.resolution.load(Ordering::Relaxed);
        let size_sync = tokio::spawn(preferred_size::sync(
            session.clone(),
            subscription_id.clone(),
            wanted.clone(),
            initial_size,
        ));
        events.send(SubscriberEvent::Connected);
        Ok(Subscriber {
            inner: Arc::new(Inner {
                session,
                stream,
                subscription_id,
                peer,
                sink,
                stats,
                audio_output,
                wanted,
                events,
                tasks: Mutex::new(vec![
                    router,
                    watcher,
                    publisher_video,
                    network,
                    quality,
                    size_sync,
                ]),
            }),
        })
    }

    /// This subscription's ID in the session (chosen by this client).
    pub fn subscription_id(&self) -> &SubscriptionId {
        &self.inner.subscription_id
    }

    /// The peer connection's W3C stats report (a JSON array, one object per entry), also sent as
    /// [`SubscriberEvent::RtcStatsReport`] (OpenTok's `getRtcStatsReport()`).
    pub async fn get_rtc_stats_report(&self) -> serde_json::Value {
        let report = crate::rtc::stats_report::collect(&self.inner.peer.pc).await;
        self.inner
            .events
            .send(SubscriberEvent::RtcStatsReport(report.clone()));
        report
    }

    /// The stream received.
    pub fn stream(&self) -> &Stream {
        &self.inner.stream
    }

    /// The latest decoded frame of the stream (a latest-frame receiver; never a queue).
    pub fn video_frames(&self) -> Arc<VideoSink> {
        self.inner.sink.clone()
    }

    /// This subscriber's events: the first call also gets those sent while subscribing started.
    pub fn events(&self) -> crate::EventStream<SubscriberEvent> {
        crate::EventStream::new(self.inner.events.subscribe())
    }

    /// What has been received so far.
    pub fn stats(&self) -> SubscriberStats {
        let s = &self.inner.stats;
        let mut latencies = s
            .pattern_latency_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        latencies.sort_unstable();
        let window = s
            .audio_window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let playout = self.inner.audio_output.playout_stats();
        SubscriberStats {
            frames_decoded: s.frames_decoded.load(Ordering::Relaxed),
            width: s.width.load(Ordering::Relaxed) as u32,
            height: s.height.load(Ordering::Relaxed) as u32,
            packets_received: s.packets_received.load(Ordering::Relaxed),
            bytes_received: s.bytes_received.load(Ordering::Relaxed),
            video_packets_received: s.video_packets_received.load(Ordering::Relaxed),
            video_packets_lost: s.video_packets_lost.load(Ordering::Relaxed),
            frames_dropped: s.frames_dropped.load(Ordering::Relaxed),
            packets_lost: s.packets_lost.load(Ordering::Relaxed),
            pattern_frames_verified: s.pattern_frames_verified.load(Ordering::Relaxed),
            pattern_latency_ms_p50: latencies.get(latencies.len() / 2).map(|&v| v as f64),
            pattern_latency_ms_p95: latencies.get(latencies.len() * 95 / 100).map(|&v| v as f64),
            audio_level: s.audio_level_milli.load(Ordering::Relaxed) as f32 / 1000.0,
            audio_freq_hz: dominant_frequency(&window, AUDIO_SAMPLE_RATE),
            audio_playout_delay_ms: playout.target_ms,
            audio_gaps: playout.audible_gaps,
            audio_longest_gap_ms: playout.longest_gap_ms,
        }
    }

    /// Turns receiving audio and/or video on or off at the server.
    pub async fn set_subscribe(
        &self,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<(), OtError> {
        let subscription_id = self.inner.subscription_id.clone();
        self.inner
            .session
            .send_request(Request::UpdateSubscription {
                subscription_id,
                audio,
                video,
                preferred_resolution: None,
            })
            .await?;
        if let Some(on) = audio {
            self.inner.wanted.audio.store(on, Ordering::Relaxed);
        }
        if let Some(on) = video {
            self.inner.wanted.video.store(on, Ordering::Relaxed);
            let event = if on {
                SubscriberEvent::VideoEnabled(VideoReason::SubscribeToVideo)
            } else {
                SubscriberEvent::VideoDisabled(VideoReason::SubscribeToVideo)
            };
            self.inner.events.send(event);
        }
        Ok(())
    }

    /// Tells the subscriber the size its view shows (`preferred_resolution`; None = the highest): of a
    /// simulcast publisher's layers the server forwards the smallest at least that tall (within what
    /// the link carries). The view sets it as it is resized; the server hears it once it has held
    /// for 200 ms.
    pub fn set_preferred_resolution(&self, size: Option<(u32, u32)>) {
        let packed = size.map_or(0, |(w, h)| ((w as u64) << 32) | h as u64);
        self.inner
            .wanted
            .resolution
            .store(packed, Ordering::Relaxed);
    }

    /// The size last set with [`set_preferred_resolution`](Self::set_preferred_resolution) or at
    /// subscribe time.
    pub fn preferred_resolution(&self) -> Option<(u32, u32)> {
        let packed = self.inner.wanted.resolution.load(Ordering::Relaxed);
        (packed != 0).then_some(((packed >> 32) as u32, packed as u32))
    }

    /// Sets the playback volume, 0–100 (`audio_volume`).
    pub fn set_audio_volume(&self, volume: u8) {
        self.inner.audio_output.set_volume(volume);
    }

    /// Stops receiving.
    pub async fn unsubscribe(&self) {
        self.inner.stop().await;
    }
}

impl Inner {
    async fn stop(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        if tasks.is_empty() {
            return;
        }
        let subscription_id = self.subscription_id.clone();
        let _ = self
            .session
            .send_request(Request::Unsubscribe { subscription_id })
            .await;
        // Closing ends every track's poll loop, so the readers and decoder threads finish.
        self.peer.close().await;
        for t in tasks {
            t.abort();
        }
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("stream_id", &self.inner.stream.stream_id)
            .finish()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let inner = self.inner.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { inner.stop().await });
        }
    }
}

/// What this subscriber currently asks the server to forward.
#[derive(Default)]
pub(super) struct Wanted {
    audio: AtomicBool,
    video: AtomicBool,
    /// The view's size, `(width << 32) | height`; 0 = the highest.
    resolution: AtomicU64,
}
