//! A moderator's force-mute (`Session::force_mute_stream` / `force_mute_all`, or the REST API) reaches
//! the publisher that owns the stream: it stops sending audio and reports `MuteForced`, as OpenTok's
//! publisher does. The app may unmute again with `set_publish_audio(true)`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::pipeline::Switches;
use super::PublisherEvent;
use crate::{Session, SessionEvent, StreamId};

/// Runs until the session's events end (the task is aborted on unpublish).
pub(super) async fn obey(
    session: Session,
    stream_id: StreamId,
    switches: Arc<Switches>,
    events: broadcast::Sender<PublisherEvent>,
) {
    let mut session_events = session.events();
    while let Some(event) = session_events.recv().await {
        let SessionEvent::MuteForced(m) = event else {
            continue;
        };
        // One stream: it names us or not. All streams: the server has already turned `has_audio` off on
        // every stream it muted (the exclusions kept theirs), and that update arrived first.
        let mine = match &m.stream_id {
            Some(id) => *id == stream_id,
            None => session
                .streams()
                .iter()
                .any(|s| s.stream_id == stream_id && !s.has_audio),
        };
        if m.active && mine && switches.publish_audio.swap(false, Ordering::Relaxed) {
            let _ = events.send(PublisherEvent::MuteForced);
        }
    }
}
