//! The subscriber's watchers: media arriving, levels and interruptions (`report`), the publisher's
//! own video switches (`follow_publisher_video`) and the link's quality (`quality_watch`), turned into
//! [`SubscriberEvent`]s.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use otter_protocol::SubscriptionId;

use super::audio_fallback::{AudioFallback, Counters, Step};
use super::receive::ReceiveStats;
use super::{SubscriberEvent, VideoReason, Wanted};
use crate::media::VideoSink;
use crate::session::Session;

/// How long media may be silent, while it should flow, before `disconnected` is reported.
const MEDIA_SILENCE: Duration = Duration::from_secs(2);

/// First-frame, audio-level and media-interruption events.
pub(super) async fn report(
    sink: Arc<VideoSink>,
    stats: Arc<ReceiveStats>,
    events: broadcast::Sender<SubscriberEvent>,
    watch: (Session, otter_protocol::StreamId, Arc<Wanted>),
) {
    let (session, stream_id, wanted) = watch;
    let mut first_frame = false;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let (mut packets, mut last_packet, mut interrupted) = (0, tokio::time::Instant::now(), false);
    let mut oversized = 0;
    loop {
        tick.tick().await;
        let now_oversized = stats.oversized_frames.load(Ordering::Relaxed);
        if now_oversized > oversized {
            // Once per run of refused frames, not once per frame.
            if oversized == 0 || now_oversized > oversized + 1 {
                let error = otter_protocol::ErrorCode::UnableToSubscribe.with_message(format!(
                    "the publisher sends video over the {0}x{0} limit; those frames are dropped",
                    otter_media::codec::MAX_DECODED_DIMENSION
                ));
                let _ = events.send(SubscriberEvent::Error(error));
            }
            oversized = now_oversized;
        }
        if !first_frame && sink.frame_count() > 0 {
            first_frame = true;
            let _ = events.send(SubscriberEvent::VideoDataReceived);
        }
        if stats.audio_frames.load(Ordering::Relaxed) > 0 {
            let level = stats.audio_level_milli.load(Ordering::Relaxed) as f32 / 1000.0;
            let _ = events.send(SubscriberEvent::AudioLevel(level));
        }
        let now_packets = stats.packets_received.load(Ordering::Relaxed);
        if now_packets != packets {
            packets = now_packets;
            last_packet = tokio::time::Instant::now();
            if interrupted {
                interrupted = false;
                let _ = events.send(SubscriberEvent::Reconnected);
            }
        } else if !interrupted && last_packet.elapsed() > MEDIA_SILENCE {
            // Silence only counts when something should be flowing: the publisher sends it and we want it.
            let expected = session
                .streams()
                .into_iter()
                .find(|s| s.stream_id == stream_id)
                .is_some_and(|s| {
                    (s.has_audio && wanted.audio.load(Ordering::Relaxed))
                        || (s.has_video && wanted.video.load(Ordering::Relaxed))
                });
            if expected {
                interrupted = true;
                let _ = events.send(SubscriberEvent::Disconnected);
            }
        }
    }
}

/// Turns the publisher's `has_video` changes for this stream into `video_disabled` / `video_enabled`.
pub(super) async fn follow_publisher_video(
    mut session_events: crate::EventStream<crate::SessionEvent>,
    stream_id: otter_protocol::StreamId,
    events: broadcast::Sender<SubscriberEvent>,
) {
    while let Some(event) = session_events.recv().await {
        let crate::SessionEvent::StreamPropertyChanged(changed) = event else {
            continue;
        };
        if changed.stream.stream_id != stream_id {
            continue;
        }
        if let otter_protocol::StreamChange::HasVideo { new_value, .. } = changed.change {
            let _ = events.send(if new_value {
                SubscriberEvent::VideoEnabled(VideoReason::PublishVideo)
            } else {
                SubscriberEvent::VideoDisabled(VideoReason::PublishVideo)
            });
        }
    }
}

/// Audio fallback (`audio_fallback.rs`): once a second, judges the link from the latest network
/// counters (`[audio, video]`) and warns, stops or resumes the video at the server. It acts only
/// while the app wants video and the publisher sends it.
pub(super) async fn quality_watch(
    counters: tokio::sync::watch::Receiver<[Counters; 2]>,
    events: broadcast::Sender<SubscriberEvent>,
    watch: (
        Session,
        otter_protocol::StreamId,
        SubscriptionId,
        Arc<Wanted>,
    ),
) {
    let (session, stream_id, subscription_id, wanted) = watch;
    let mut fallback = AudioFallback::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sent = session
            .streams()
            .into_iter()
            .find(|s| s.stream_id == stream_id)
            .is_some_and(|s| s.has_video);
        if !(sent && wanted.video.load(Ordering::Relaxed)) {
            // Off by choice: a stop for quality is moot, and the app's own switch decides.
            fallback.reset();
            continue;
        }
        let [audio, video] = *counters.borrow();
        tracing::trace!(?audio, ?video, "audio fallback: counters");
        let Some(step) = fallback.on_second(video, audio) else {
            continue;
        };
        let (event, server_video) = match step {
            Step::Warn => (SubscriberEvent::VideoDisableWarning, None),
            Step::LiftWarning => (SubscriberEvent::VideoDisableWarningLifted, None),
            Step::Disable => (
                SubscriberEvent::VideoDisabled(VideoReason::Quality),
                Some(false),
            ),
            Step::Enable => (
                SubscriberEvent::VideoEnabled(VideoReason::Quality),
                Some(true),
            ),
        };
        tracing::info!(stream = %stream_id.as_str(), ?step, "audio fallback");
        if let Some(video) = server_video {
            let request = otter_protocol::Request::UpdateSubscription {
                subscription_id: subscription_id.clone(),
                audio: None,
                video: Some(video),
                preferred_resolution: None,
            };
            if let Err(e) = session.send_request(request).await {
                // Not connected right now: the next judgement tries again from a clean slate.
                tracing::debug!(error = %e, "audio fallback: the server did not take the change");
                fallback.reset();
                continue;
            }
        }
        let _ = events.send(event);
    }
}
